// The config keys `export` writes for write-only values (provider/cli/config-keys.ts): properties
// over generated scopes with hostile names, with a fixed seed. FUZZ_SEED and FUZZ_RUNS change
// them for a longer run: FUZZ_RUNS=20000 npx mocha test/cli/config-keys.test.ts

import * as assert from "node:assert/strict";
import { createHash } from "crypto";
import fc from "fast-check";
import {
  CONFIG_KEY,
  configKeysFor,
  SECRET_KINDS,
  type SecretKind,
  type SecretScope,
} from "../../provider/cli/config-keys";

const FUZZ = { seed: Number(process.env.FUZZ_SEED ?? 1902), numRuns: Number(process.env.FUZZ_RUNS ?? 300) };

/** Names that read alike: most generated scopes share a readable form with another. */
const ALIKE = ["my-repo", "my.repo", "my_repo", "MY-REPO", "my", "repo", "repo-DEPLOY", "DEPLOY_TOKEN", "deploy_token",
  "api", "API", "Api", "Produção", "Producao", "a--b", "a-b", "-a", "", " ", "日本", "🚀", "1", "01", "x".repeat(41)]; // prettier-ignore
/** Names Bitbucket has, and names it might: `.`, `-`, `_`, both cases, unicode, spaces, long. */
const part = fc.oneof(
  { arbitrary: fc.constantFrom(...ALIKE), weight: 4 },
  fc.string({ unit: fc.constantFrom("a", "A", "b", "B", "0", "-", "_", "."), minLength: 1, maxLength: 6 }),
  fc.string({
    unit: fc.constantFrom("my", "MY", "repo", "-", ".", "_", "é", "e\u0301", "日", "🚀", " ", "--"),
  }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("x", "X", "-", "."), minLength: 38, maxLength: 90 }),
);
const scope: fc.Arbitrary<SecretScope> = fc
  .constantFrom(...(Object.keys(SECRET_KINDS) as SecretKind[]))
  .chain((kind) =>
    fc.tuple(...SECRET_KINDS[kind].map(() => part)).map((parts) => ({ kind, parts: [...parts] })),
  );
const id = (s: SecretScope) => JSON.stringify([s.kind, ...s.parts]);
const scopes = fc.uniqueArray(scope, { selector: id, minLength: 1, maxLength: 30 });

describe("export config keys", function () {
  this.timeout(Math.max(20_000, FUZZ.numRuns * 5));
  it("gives distinct scopes distinct keys, even ignoring case, each a valid config key of at most 220 characters", () => {
    fc.assert(
      fc.property(scopes, (ss) => {
        const keys = configKeysFor(ss);
        assert.equal(keys.length, ss.length);
        for (const k of keys) {
          assert.match(k, CONFIG_KEY);
          assert.ok(k.length <= 220, k);
        }
        assert.equal(new Set(keys.map((k) => k.toLowerCase())).size, keys.length, keys.join("\n"));
      }),
      FUZZ,
    );
  });

  it("gives a scope the same key in any order, and its key on its own unless that would equal another's ignoring case", () => {
    fc.assert(
      fc.property(scopes, (ss) => {
        const keys = configKeysFor(ss);
        assert.deepEqual(configKeysFor([...ss].reverse()), [...keys].reverse());
        const alone = ss.map((s) => configKeysFor([s])[0]!);
        alone.forEach((k, i) => {
          const clash = alone.some((o, j) => j !== i && o.toLowerCase() === k.toLowerCase());
          if (!clash) assert.equal(keys[i], k, "a key that clashes with nothing is its key on its own");
        });
      }),
      FUZZ,
    );
  });

  it("writes a scope of plain names as it is, and any other with a hash of its exact parts", () => {
    assert.deepEqual(
      configKeysFor([
        { kind: "variable", parts: ["my-repo", "DEPLOY_TOKEN"] },
        { kind: "variable", parts: ["my.repo", "DEPLOY_TOKEN"] },
        { kind: "deployment-variable", parts: ["my", "repo", "DEPLOY_TOKEN"] },
        { kind: "deployment-variable", parts: ["api", "Produção", "TOKEN"] },
        { kind: "workspace-variable", parts: ["DEPLOY_TOKEN"] },
        { kind: "variable", parts: ["workspace", "DEPLOY_TOKEN"] },
        { kind: "webhook-secret", parts: ["svc-000", "2"] },
        { kind: "ssh-key-pair", parts: ["a--b"] },
      ]),
      [
        "variable-my-repo-DEPLOY_TOKEN",
        `variable-my-repo-DEPLOY_TOKEN--${sha('["variable","my.repo","DEPLOY_TOKEN"]', 6)}`,
        "deployment-variable-my-repo-DEPLOY_TOKEN",
        `deployment-variable-api-Producao-TOKEN--${sha('["deployment-variable","api","Produção","TOKEN"]', 6)}`,
        "workspace-variable-DEPLOY_TOKEN",
        "variable-workspace-DEPLOY_TOKEN",
        "webhook-secret-svc-000-2",
        `ssh-key-pair-a-b--${sha('["ssh-key-pair","a--b"]', 6)}`,
      ],
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(SECRET_KINDS) as SecretKind[])),
        fc.array(fc.stringMatching(/^[A-Za-z0-9_]{1,40}$/), { minLength: 3, maxLength: 3 }),
        (kind, words) => {
          const parts = words.slice(0, SECRET_KINDS[kind].length);
          assert.equal(configKeysFor([{ kind, parts }])[0], [kind, ...parts].join("-"));
        },
      ),
      FUZZ,
    );
  });

  it("gives names that differ only in case (API and api) a hash each", () => {
    const [upper, lower] = configKeysFor([
      { kind: "variable", parts: ["api", "API"] },
      { kind: "variable", parts: ["api", "api"] },
    ]);
    assert.equal(upper, `variable-api-API--${sha('["variable","api","API"]', 6)}`);
    assert.equal(lower, `variable-api-api--${sha('["variable","api","api"]', 6)}`);
  });

  it("lengthens the hash of two scopes whose readable form and 6-digit hash are the same", () => {
    // Repositories r<separators>x all read "r-x": search them for two whose hashes begin alike.
    const seps = [".", "~", "!", "@", "+", "=", "%", "^"];
    const byHash = new Map<string, SecretScope>();
    let pair: [SecretScope, SecretScope] | undefined;
    for (let n = 0; n < 8 ** 6 && !pair; n++) {
      let s = "";
      for (let m = n; s.length === 0 || m > 0; m = Math.floor(m / 8)) s += seps[m % 8];
      const sc: SecretScope = { kind: "ssh-key-pair", parts: [`r${s}x`] };
      const h = sha(id(sc), 6);
      const seen = byHash.get(h);
      if (seen) pair = [seen, sc];
      else byHash.set(h, sc);
    }
    assert.ok(pair, "two scopes with one 6-digit hash");
    const [a, b] = configKeysFor(pair);
    assert.equal(a, `ssh-key-pair-r-x--${sha(id(pair[0]), 16)}`);
    assert.equal(b, `ssh-key-pair-r-x--${sha(id(pair[1]), 16)}`);
    assert.notEqual(a, b);
  });

  it("refuses a scope with the wrong number of parts, naming what it needs", () => {
    assert.throws(
      () => configKeysFor([{ kind: "deployment-variable", parts: ["api", "TOKEN"] }]),
      /^Error: config key for deployment-variable: needs repository, environment, key, got 2 parts$/,
    );
  });
});

function sha(text: string, digits: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, digits);
}
