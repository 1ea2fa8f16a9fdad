// `npm run bench -- --costs`: the five costs of issue 23, each on its own, so that one run at a
// commit before a fix and one after (same machine, back to back) show what the fix changed:
//   1. the program: declaring the scale stack (4 resources per repository) under mocks, until every
//      registration has settled (the SDK's stack trace per tracked promise);
//   2. the read cache's write-through: a run's writes (2 POSTs to each of 2 listings per repository)
//      with every listing kept, at growing sizes;
//   3. selectors: expanding 20,000 webhook entries, each a one-wildcard glob, against 500 repositories;
//   4. the serialized provider shim (stored twice per resource: inputs and outputs);
//   5. what every request pays before it is sent: the settings, and the read cache's view of them.
// Times are medians of a few runs; not a test: it asserts nothing.

import { loadSettings, setProviderConfig } from "../provider/api/auth";
import { cachedList, cachedObject, clearCache, patchWritten } from "../provider/api/cache";
import { mockRegistrations } from "../provider/cli/declared";
import { deployManifest } from "../provider/manifest/deploy";
import { expand } from "../provider/manifest/expand";
import { parseManifest } from "../provider/manifest/load";
import { shim } from "../provider/resources/shim";
import { SCALE_MANIFEST } from "../test/harness/fixture";

const API = "https://api.example.test/2.0";
/** Timed runs of each measure, after a warm-up (BENCH_COSTS_RUNS, default 3). */
const RUNS = Number(process.env.BENCH_COSTS_RUNS ?? 3);

function median(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(runs: number, run: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const t0 = performance.now();
    await run();
    if (r > 0) times.push(performance.now() - t0); // the first is a warm-up
  }
  return median(times);
}

const repos = (n: number) => Array.from({ length: n }, (_, i) => ({ slug: `svc-${i}` }));

/** 1. Declaring the scale stack of `n` repositories under mocks, until every registration settled. */
async function program(n: number): Promise<number> {
  return timed(RUNS, async () => {
    await mockRegistrations("bench", async (_type, name, inputs) => ({ id: `${name}-id`, state: inputs }));
    const m = parseManifest(SCALE_MANIFEST, "bench.yaml");
    const { resources } = await deployManifest(m, () => repos(n));
    await Promise.all(Object.values(resources).map((r) => new Promise((done) => r.urn.apply(done))));
  });
}

/** 2. A run's writes through the cache with every repository's listings kept. */
async function writeThrough(n: number, runs = RUNS): Promise<number> {
  const s = { ...loadSettings({}), apiUrl: API, token: "t" };
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    clearCache();
    for (let i = 0; i < n; i++) {
      await cachedObject(s, `/repositories/acme/svc-${i}`, async () => ({ slug: `svc-${i}` }));
      for (const c of ["hooks", "pipelines_config/variables"])
        await cachedList(s, `/repositories/acme/svc-${i}/${c}`, async () => []);
    }
    const t0 = performance.now();
    for (let i = 0; i < n; i++)
      for (const c of ["hooks", "pipelines_config/variables"])
        for (const k of [1, 2])
          patchWritten(API, "POST", `/repositories/acme/svc-${i}/${c}`, { uuid: `{${i}-${c}-${k}}` });
    times.push(performance.now() - t0);
  }
  clearCache();
  return median(times);
}

/** 3. 20,000 webhook entries, each `*-K`, against 500 repositories: one resource each. */
function selectors(entries = 20_000, n = 500): Promise<number> {
  const lines = ["version: 1", "workspace: acme", "webhooks:"];
  for (let i = 0; i < entries; i++)
    lines.push(
      `  - { repositories: "*-${i % n}", url: "https://ci.example.test/${i}", events: [repo:push] }`,
    );
  const m = parseManifest(lines.join("\n") + "\n", "bench.yaml");
  const listed = repos(n);
  return timed(RUNS, () => expand(m, () => listed));
}

/** 4. The shim as the SDK serializes it into state. */
async function shimBytes(): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure");
  const p = shim("PipelineVariable");
  const sf = await closure.serializeFunction(() => p, { allowSecrets: true });
  return sf.text.length;
}

/** 5. Per request: the settings and a read served from the cache, in microseconds. */
async function perRequest(calls = 100_000): Promise<{ settings: number; hit: number }> {
  setProviderConfig((k) => ({ "bitbucket:apiUrl": API, "bitbucket:token": "t" })[k]);
  clearCache();
  await cachedList(loadSettings(), "/repositories/acme/svc-0/hooks", async () => []);
  const settings = await timed(RUNS, () => {
    for (let i = 0; i < calls; i++) loadSettings();
  });
  const hit = await timed(RUNS, async () => {
    for (let i = 0; i < calls; i++)
      await cachedList(loadSettings(), "/repositories/acme/svc-0/hooks", async () => []);
  });
  return { settings: (settings * 1000) / calls, hit: (hit * 1000) / calls };
}

async function main() {
  process.on("unhandledRejection", () => undefined);
  console.log("Issue 23's costs (medians; ms unless said)");
  for (const n of [200, 500]) {
    const ms = await program(n);
    console.log(
      `1. program, ${n} repositories (${4 * n} resources): ${ms.toFixed(0)} ms (${(ms / (4 * n)).toFixed(2)} ms/resource)`,
    );
  }
  for (const n of [200, 500, 1000, 2000]) {
    const ms = await writeThrough(n);
    console.log(`2. write-through, ${n} repositories (${4 * n} writes, ${3 * n} kept): ${ms.toFixed(1)} ms`);
  }
  console.log(`3. expand, 20,000 one-glob entries x 500 repositories: ${(await selectors()).toFixed(0)} ms`);
  console.log(`4. serialized shim: ${await shimBytes()} B (stored twice per resource)`);
  const r = await perRequest();
  console.log(`5. per request: settings ${r.settings.toFixed(2)} µs, a cached read ${r.hit.toFixed(2)} µs`);
}

export const runCosts = main;
