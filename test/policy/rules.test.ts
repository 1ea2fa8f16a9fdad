// The policy's rules (provider/policy/rules.ts) at their edges, and the layers' promise as a
// property over generated policies and objects: a layer never loosens another, `off` switches a
// rule off in its own layer only, and the default policy is what validate always enforced.

import * as assert from "node:assert/strict";
import fc from "fast-check";
import { judge, layersOf, type Layer } from "../../provider/policy/evaluate";
import { RULES, type Policy, type RuleName, type Subject } from "../../provider/policy/rules";
import { parsePublicKey } from "../../provider/ssh";
import { fuzzParams } from "../fuzz/params";
import { ed25519, rsa } from "../keys";

const one = (policy: Policy): Layer[] => [{ source: "test", policy }];
const rules = (s: Subject, layers: Layer[]) => judge(s, layers).map((v) => `${v.level} ${v.rule}`);
const hook = (over: Partial<Extract<Subject, { kind: "webhook" }>> = {}): Subject => ({
  kind: "webhook",
  url: "https://ci.example.com/hook",
  secret: true,
  skipCertVerification: false,
  events: ["repo:push"],
  ...over,
});

describe("policy rules", () => {
  it("webhooks.https refuses http, and lets allowHttp entries pass only with the opt-out", () => {
    const plain = hook({ url: "http://ci.example.com/hook", allowHttp: true });
    assert.deepEqual(rules(plain, one({ webhooks: { https: {} } })), ["error webhooks.https"]);
    assert.deepEqual(rules(plain, one({ webhooks: { https: { allowHttpOptOut: true } } })), []);
    assert.deepEqual(rules(hook(), one({ webhooks: { https: {} } })), []);
    // A URL plan cannot read (a secret reference) is not judged.
    assert.deepEqual(rules(hook({ url: undefined }), one({ webhooks: { https: {} } })), []);
  });

  it("webhooks.allowedHosts matches host globs case-insensitively, and nothing but the host", () => {
    const p = one({ webhooks: { allowedHosts: { hosts: ["*.Example.com"] } } });
    assert.deepEqual(rules(hook({ url: "https://CI.example.COM/x" }), p), []);
    assert.deepEqual(rules(hook({ url: "https://example.com.evil.test/x" }), p), [
      "error webhooks.allowedHosts",
    ]);
    assert.deepEqual(rules(hook({ url: "https://evil.test/ci.example.com" }), p), [
      "error webhooks.allowedHosts",
    ]);
    assert.deepEqual(rules(hook({ url: "https://user:pw@evil.test/" }), p), ["error webhooks.allowedHosts"]);
  });

  it("webhooks.secretRequired finds a hook without a secret, not one whose secret is unknown", () => {
    const p = one({ webhooks: { secretRequired: {} } });
    assert.deepEqual(rules(hook({ secret: false }), p), ["error webhooks.secretRequired"]);
    assert.deepEqual(rules(hook({ secret: undefined }), p), []);
  });

  it("webhooks.events holds allow and deny lists, naming the events at fault", () => {
    const p = one({ webhooks: { events: { allow: ["repo:push", "repo:fork"], deny: ["repo:fork"] } } });
    const v = judge(hook({ events: ["repo:push", "repo:fork", "repo:updated"] }), p);
    assert.equal(
      v[0]?.message,
      "events repo:fork, repo:updated are not allowed (allowed: repo:push, repo:fork); remove them",
    );
  });

  it("keys.readOnly judges Data Center permissions, not users' own keys or Cloud's keys", () => {
    const p = one({ keys: { readOnly: {} } });
    const key = ed25519().publicLine;
    assert.deepEqual(rules({ kind: "key", key, permission: "PROJECT_WRITE" }, p), ["error keys.readOnly"]);
    assert.deepEqual(rules({ kind: "key", key, permission: "REPO_ADMIN" }, p), ["error keys.readOnly"]);
    assert.deepEqual(rules({ kind: "key", key, permission: "REPO_READ" }, p), []);
    assert.deepEqual(rules({ kind: "key", key }, p), []);
    assert.deepEqual(rules({ kind: "key", key, account: true, permission: "REPO_WRITE" }, p), []);
  });

  it("keys.minRsaBits reads the modulus: 2048 passes at 2048 and fails at 3072; other types pass", () => {
    const key = rsa().publicLine;
    assert.equal((parsePublicKey(key) as { bits: number }).bits, 2048);
    assert.deepEqual(rules({ kind: "key", key }, one({ keys: { minRsaBits: { bits: 2048 } } })), []);
    assert.deepEqual(rules({ kind: "key", key }, one({ keys: { minRsaBits: { bits: 3072 } } })), [
      "error keys.minRsaBits",
    ]);
    assert.deepEqual(
      rules({ kind: "key", key: ed25519().publicLine }, one({ keys: { minRsaBits: { bits: 4096 } } })),
      [],
    );
  });

  it("pipelineVariables.securedWhenKeyMatches defaults to the credential patterns, case-insensitively", () => {
    const p = one({ pipelineVariables: { securedWhenKeyMatches: {} } });
    const found = (key: string, secured = false) => rules({ kind: "variable", key, secured }, p).length > 0;
    assert.deepEqual(
      [
        "npm_token",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "PRIVATE_PEM",
        "SSH_KEY",
        "KEYRING",
        "REGION",
      ].map((k) => found(k)),
      [true, true, true, true, true, false, false],
    );
    assert.equal(found("NPM_TOKEN", true), false);
  });

  it("accessTokens.maxExpiryDays passes at the limit and fails past it or with no expiry", () => {
    const p = one({ accessTokens: { maxExpiryDays: { days: 90 } } });
    const at = (expiryDays?: number) =>
      rules(
        { kind: "token", permissions: ["REPO_READ"], ...(expiryDays !== undefined && { expiryDays }) },
        p,
      );
    assert.deepEqual(
      [at(90), at(91), at()],
      [[], ["error accessTokens.maxExpiryDays"], ["error accessTokens.maxExpiryDays"]],
    );
  });

  it("oauthConsumers.maxScopes allows what the allowed scopes imply", () => {
    const p = one({ oauthConsumers: { maxScopes: { scopes: ["pullrequest:write"] } } });
    const at = (scopes: string[]) => rules({ kind: "consumer", scopes }, p);
    assert.deepEqual(at(["pullrequest", "repository:write", "repository"]), []);
    assert.deepEqual(at(["repository:admin"]), ["error oauthConsumers.maxScopes"]);
  });

  it("keeps the default policy: https unless allowHttp, and a warning for a credential in clear", () => {
    const layers = layersOf({});
    assert.deepEqual(rules(hook({ url: "http://x.example.com/" }), layers), ["error webhooks.https"]);
    assert.deepEqual(rules(hook({ url: "http://x.example.com/", allowHttp: true }), layers), []);
    assert.deepEqual(rules({ kind: "variable", key: "API_TOKEN", secured: false }, layers), [
      "warn pipelineVariables.securedWhenKeyMatches",
    ]);
    assert.equal(layers[0]?.source, "default policy");
  });
});

// ---- the layers, as a property ----------------------------------------------------------------

const enforcement = fc.constantFrom("error" as const, "warn" as const, "off" as const, undefined);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const base = fc.record({ enforcement }, { requiredKeys: [] });
const EVENTS = ["repo:push", "repo:fork", "repo:updated", "pullrequest:created"];
const HOSTS = ["ci.example.com", "evil.test", "hooks.example.org"];
const PERMS = ["REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_READ", "PROJECT_WRITE"];
const SCOPES = ["repository", "repository:write", "pullrequest", "pullrequest:write", "webhook", "account"];
const KEYS = [ed25519().publicLine, rsa().publicLine];

const policy: fc.Arbitrary<Policy> = fc.record(
  {
    webhooks: fc.record(
      {
        https: fc.record({ enforcement, allowHttpOptOut: fc.boolean() }, { requiredKeys: [] }),
        allowedHosts: fc.record(
          { enforcement, hosts: fc.subarray(["*.example.com", "evil.test", "*"], { minLength: 1 }) },
          { requiredKeys: ["hosts"] },
        ),
        secretRequired: base,
        forbidSkipCertVerification: base,
        events: fc.record(
          { enforcement, allow: maybe(fc.subarray(EVENTS)), deny: maybe(fc.subarray(EVENTS)) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    keys: fc.record(
      {
        readOnly: base,
        keyTypes: fc.record(
          { enforcement, allow: fc.subarray(["ssh-ed25519", "ssh-rsa"], { minLength: 1 }) },
          { requiredKeys: ["allow"] },
        ),
        minRsaBits: fc.record(
          { enforcement, bits: fc.constantFrom(1024, 2048, 3072) },
          { requiredKeys: ["bits"] },
        ),
      },
      { requiredKeys: [] },
    ),
    pipelineVariables: fc.record(
      {
        securedWhenKeyMatches: fc.record(
          { enforcement, patterns: maybe(fc.subarray(["*TOKEN*", "*_KEY", "AWS_*"])) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    accessTokens: fc.record(
      {
        maxExpiryDays: fc.record(
          { enforcement, days: fc.integer({ min: 1, max: 400 }) },
          { requiredKeys: ["days"] },
        ),
        permissions: fc.record(
          { enforcement, allow: fc.subarray(PERMS, { minLength: 1 }) },
          { requiredKeys: ["allow"] },
        ),
      },
      { requiredKeys: [] },
    ),
    oauthConsumers: fc.record(
      {
        maxScopes: fc.record(
          { enforcement, scopes: fc.subarray(SCOPES, { minLength: 1 }) },
          { requiredKeys: ["scopes"] },
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Policy>;

const subject: fc.Arbitrary<Subject> = fc.oneof(
  fc.record({
    kind: fc.constant("webhook" as const),
    url: maybe(
      fc
        .tuple(fc.constantFrom("http", "https"), fc.constantFrom(...HOSTS))
        .map(([s, h]) => `${s}://${h}/hook`),
    ),
    allowHttp: fc.boolean(),
    secret: maybe(fc.boolean()),
    skipCertVerification: fc.boolean(),
    events: fc.subarray(EVENTS),
  }),
  fc.record({
    kind: fc.constant("key" as const),
    key: fc.constantFrom(...KEYS),
    permission: maybe(fc.constantFrom(...PERMS)),
    account: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("variable" as const),
    key: fc.constantFrom("NPM_TOKEN", "AWS_ACCESS_KEY_ID", "SSH_KEY", "REGION"),
    secured: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("token" as const),
    permissions: fc.subarray(PERMS, { minLength: 1 }),
    expiryDays: maybe(fc.integer({ min: 1, max: 400 })),
  }),
  fc.record({ kind: fc.constant("consumer" as const), scopes: fc.subarray(SCOPES) }),
) as fc.Arbitrary<Subject>;

const levels = (s: Subject, layers: Layer[]) => new Map(judge(s, layers).map((v) => [v.rule, v.level]));
const RANK = { warn: 1, error: 2 } as const;

describe("policy layers (property)", () => {
  it("judge each layer on its own: together they find every rule either finds, at the stricter level", () => {
    fc.assert(
      fc.property(subject, policy, policy, (s, a, b) => {
        const A = { source: "a", policy: a };
        const B = { source: "b", policy: b };
        const both = levels(s, [A, B]);
        const alone = [levels(s, [A]), levels(s, [B])];
        const expected = new Map<RuleName, "error" | "warn">();
        for (const m of alone)
          for (const [rule, level] of m)
            if (!expected.has(rule) || RANK[level] > RANK[expected.get(rule)!]) expected.set(rule, level);
        assert.deepEqual(both, expected);
      }),
      fuzzParams("policy layers never loosen each other", 300),
    );
  });

  it("lets a manifest's off switch a rule off in its own layer only", () => {
    fc.assert(
      fc.property(
        subject,
        policy,
        fc.constantFrom(...(Object.keys(RULES) as RuleName[])),
        (s, shared, rule) => {
          const [section, key] = rule.split(".") as [keyof Policy, string];
          const manifest = { policy: { [section]: { [key]: { enforcement: "off" } } } as Policy };
          const withOff = levels(s, layersOf(manifest, [{ source: "shared", policy: shared }]));
          const sharedAlone = levels(s, [{ source: "shared", policy: shared }]);
          assert.equal(withOff.get(rule), sharedAlone.get(rule));
        },
      ),
      fuzzParams("a manifest's off never hides a shared policy's finding", 300),
    );
  });
});
