// The shard partition as a property (manifest/shard.ts): over generated manifests of both flavors,
// entries in several workspaces or projects (their names in any case), selectors, the account's
// keys and tokens, OAuth consumers and integrations, either every entry lands in exactly one shard,
// the shards' entries are the whole manifest's, and the shards' resources (names, places, natural
// keys) are the whole manifest's, each once and in its own shard; or the manifest is refused, and
// only for an entry in two projects or an integration whose consumer is in another shard.
// Seeds and runs: params.ts (FUZZ_RUNS, FUZZ_SEED).

import * as assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import type { Spec } from "../../provider/kinds/kind";
import { expand, type RepoLister } from "../../provider/manifest/expand";
import { parseManifest, type Manifest } from "../../provider/manifest/load";
import { ACCOUNT, partition, selectShard } from "../../provider/manifest/shard";
import { ed25519 } from "../keys";
import { fuzzParams } from "./params";

type Obj = Record<string, unknown>;

const KEYS = Array.from({ length: 12 }, (_, i) => ed25519(`shard-${i}@example.test`).publicLine);
const WORKSPACES = ["acme", "Acme", "data", "ops"];
const PROJECTS = ["PROJ", "proj", "OPS", "DATA"];
const REPOS = ["api", "web", "etl"];

/** Up to `n` entries, each made from its index (natural keys stay distinct). */
const entries = (n: number, make: (i: number) => fc.Arbitrary<Obj>) =>
  fc.integer({ min: 0, max: n }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => make(i))));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const repoList = fc.subarray(REPOS, { minLength: 1 });
/** The object without its undefined fields (the schema refuses a null). */
const defined = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const cloudManifest = fc
  .record({
    workspace: fc.constantFrom(...WORKSPACES),
    webhooks: entries(4, (i) =>
      fc.record({
        workspace: maybe(fc.constantFrom(...WORKSPACES)),
        repositories: fc.oneof(repoList, fc.constant("e*")),
        url: fc.constant(`https://hooks.example.test/${i}`),
        events: fc.constant(["repo:push"]),
      }),
    ),
    pipelineVariables: entries(3, (i) =>
      fc.record({
        workspace: maybe(fc.constantFrom(...WORKSPACES)),
        repositories: repoList,
        key: fc.constant(`VAR_${i}`),
        value: fc.constant("v"),
        secured: fc.constant(false),
      }),
    ),
    sshKeys: entries(2, (i) => fc.record({ key: fc.constant(KEYS[i]!) })),
    oauthConsumers: entries(2, (i) =>
      fc.record({
        id: fc.constant(`c${i}`),
        workspace: maybe(fc.constantFrom(...WORKSPACES)),
        name: fc.constant(`consumer ${i}`),
        scopes: fc.constant(["repository", "webhook"]),
        key: fc.constant({ fromConfig: `k${i}` }),
        secret: fc.constant({ fromConfig: `s${i}` }),
      }),
    ),
    integrations: entries(2, (i) =>
      fc.record({
        id: fc.constant(`i${i}`),
        workspace: maybe(fc.constantFrom(...WORKSPACES)),
        preset: fc.constant("generic"),
        consumer: maybe(fc.constantFrom("c0", "c1")),
        repositories: repoList,
        options: fc.constant({ webhooks: [{ url: `https://ci.example.test/${i}`, events: ["repo:push"] }] }),
      }),
    ),
  })
  .map((m) => {
    const ids = new Set((m.oauthConsumers as Obj[]).map((c) => c.id));
    // An integration names only a consumer the manifest declares (load says the rest).
    const integrations = (m.integrations as Obj[]).map((i) => defined({ ...i, consumer: ids.has(i.consumer) ? i.consumer : undefined })); // prettier-ignore
    return { version: 1, ...m, integrations } as Obj;
  });

const dcPlace = fc.oneof(
  fc.constant({}),
  fc.constantFrom(...PROJECTS).map((project) => ({ project })),
  fc.uniqueArray(fc.constantFrom("PROJ", "OPS", "DATA"), { minLength: 1, maxLength: 2 }).map((projects) => ({ projects })), // prettier-ignore
);

const dcManifest = fc.record({
  version: fc.constant(1),
  flavor: fc.constant("datacenter"),
  project: fc.constantFrom(...PROJECTS),
  webhooks: entries(4, (i) =>
    fc
      .record({
        place: dcPlace,
        repositories: fc.oneof(
          repoList,
          fc.constantFrom(...PROJECTS).map((p) => `${p}/e*`),
          fc.constantFrom(...PROJECTS).map((project) => ({ project })),
        ),
      })
      .map(({ place, repositories }) => ({
        ...place,
        repositories,
        url: `https://hooks.example.test/${i}`,
        events: ["repo:refs_changed"],
      })),
  ),
  accessTokens: entries(3, (i) =>
    fc
      .oneof(dcPlace, fc.constant({ user: "ci-bot" }))
      .map((owner) => ({ ...owner, name: `token ${i}`, permissions: ["PROJECT_READ"] })),
  ),
  sshKeys: entries(2, (i) =>
    fc.record({ key: fc.constant(KEYS[i]!), user: maybe(fc.constant("ci-bot")) }).map(defined),
  ),
});

/** Every repository of every workspace or project (in its project, for `{ project: KEY }`). */
const repos: RepoLister = (container) => REPOS.map((slug) => ({ slug, project: container.toUpperCase() }));

const entryIds = (m: Manifest) =>
  Object.entries(m)
    .filter(([, v]) => Array.isArray(v))
    .flatMap(([k, v]) => (v as Array<{ index: number }>).map((e) => `${k}[${e.index}]`));

/** Where a resource lives, as its shard names it (`workspace=acme`), folded; an integration's children go with it. */
const placeOf = (s: Spec) =>
  s.workspace ? `workspace=${s.workspace}` : s.project ? `project=${s.project}` : ACCOUNT;

describe("shards of generated manifests", () => {
  it("either put every entry and resource in exactly one shard, the shards making the whole, or refuse the manifest for a reason", () => {
    const seen = { partitioned: 0, refused: 0 };
    fc.assert(
      fc.property(fc.oneof(cloudManifest, dcManifest as fc.Arbitrary<Obj>), (data) => {
        const m = parseManifest(stringify(data), "bitbucket.yaml");
        const whole = expand(m, repos);
        const p = partition(m);
        if (p.problems.length) {
          seen.refused++;
          for (const problem of p.problems)
            assert.match(
              problem.message,
              /^(this entry is made in \d projects|integration \S+ is in workspace=)/,
            );
          return;
        }
        seen.partitioned++;
        const parts = p.shards.map((s) => ({ s, m: selectShard(m, s.name) }));
        // Entries: each in one shard, all of them.
        const ids = parts.flatMap((x) => entryIds(x.m));
        assert.equal(new Set(ids).size, ids.length, "no entry in two shards");
        assert.deepEqual(ids.sort(), entryIds(m).sort(), "the shards' entries are the manifest's");
        assert.deepEqual(
          p.shards.map((s) => s.entries),
          parts.map((x) => entryIds(x.m).length),
        );
        // Resources: each once, with its place, and in the shard of that place.
        const specs = parts.flatMap(({ s, m: shard }) =>
          expand(shard, repos).map((spec) => {
            if (spec.kind !== "sshKeys" && !(spec.kind === "accessTokens" && !spec.project))
              assert.equal(placeOf(spec).toLowerCase(), s.name.toLowerCase(), `${spec.name} is in ${s.name}`);
            else assert.equal(s.name, ACCOUNT);
            return JSON.stringify([spec.type, spec.name, spec.workspace, spec.project, spec.repository]);
          }),
        );
        const all = whole.map((s) => JSON.stringify([s.type, s.name, s.workspace, s.project, s.repository]));
        assert.deepEqual(specs.sort(), all.sort(), "the shards' resources are the manifest's, each once");
      }),
      fuzzParams("shard partition", 150),
    );
    // Both outcomes were reached: neither half of the property is vacuous.
    assert.ok(seen.partitioned > 10 && seen.refused > 5, JSON.stringify(seen));
  });
});
