// `npm run bench -- --scale`: large stacks through the real dynamic-provider host against the
// emulator, as `pulumi up` / `pulumi refresh` / `pulumi destroy` drive them (every resource at
// once: the engine's default parallelism is unbounded).
//
// For N = 50, 200, 500 repositories, each with 2 webhooks and 2 pipeline variables (4N resources,
// declared by a manifest with `svc-*` globs, so the program lists the workspace's repositories),
// it prints per phase (up, no-op up, refresh, destroy): wall time, HTTP requests per resource,
// ms per resource, the host's peak RSS and the state bytes per resource.
//
// The same lifecycle on Data Center (BENCH_DC_SIZES, default 50,200 repositories of project SVC,
// each with 2 webhooks and 2 repository access tokens: 4N resources, `svc-*` listed with DC paging).
//
// Then the rolling-window run: the emulator allows RATE requests per window (Bitbucket Cloud's
// per-hour window, scaled down so the run crosses it several times) and answers 429 beyond that,
// with and without `Retry-After` (Cloud is not known to send it). The run must finish with 0
// failed operations and 0 duplicate objects; it exits 1 otherwise. Numbers are not asserted.

import { deployManifest } from "../provider/manifest/deploy";
import { parseManifest } from "../provider/manifest/load";
import { startEmulator, type Emulator, type RateLimit } from "../test/emulator/server";
import { Engine } from "../test/harness/deploy";
import { Harness } from "../test/harness/engine";
import { providers, SCALE_MANIFEST, SCALE_PER_REPO, scaleSeed, TOKEN } from "../test/harness/fixture";
import type { Seed } from "../test/emulator/store";

/** The Data Center stack: 2 webhooks and 2 repository tokens on each repository of SVC. */
const DC_SCALE_MANIFEST = `version: 1
flavor: datacenter
project: SVC
webhooks:
  - { repositories: "svc-*", url: "https://ci.example.test/push", events: [repo:refs_changed] }
  - { repositories: "svc-*", url: "https://ci.example.test/pr", events: [pr:opened] }
accessTokens:
  - { repositories: "svc-*", name: ci-read, permissions: [REPO_READ] }
  - { repositories: "svc-*", name: ci-write, permissions: [REPO_WRITE] }
`;

const dcScaleSeed = (repos: number): Seed => ({
  dc: { projects: { SVC: Array.from({ length: repos }, (_, i) => `svc-${i}`) } },
  tokens: { [TOKEN]: { scopes: [] } },
});

interface Phase {
  name: string;
  ms: number;
  requests: number;
  /** Requests the emulator refused with 429 (counted in `requests` too). */
  refused: number;
  rss?: number;
  stateBytes: number;
  failed: number;
}

interface Stack {
  manifest: string;
  emulator: Emulator;
  engine: Engine;
  harness: Harness;
  close(): Promise<void>;
}

async function stack(repos: number, env: Record<string, string> = {}, dc = false): Promise<Stack> {
  const emulator = await startEmulator(dc ? dcScaleSeed(repos) : scaleSeed(repos));
  const apiUrl = dc ? emulator.dcUrl : emulator.apiUrl;
  const flavor = dc ? "datacenter" : "cloud";
  const config = { "bitbucket:apiUrl": apiUrl, "bitbucket:token": TOKEN, "bitbucket:flavor": flavor };
  // The program (this process) lists repositories, with the environment's credentials.
  Object.assign(process.env, { BITBUCKET_API_URL: apiUrl, BITBUCKET_TOKEN: TOKEN, BITBUCKET_FLAVOR: flavor });
  const harness = await Harness.start(await providers(), { config, env });
  return {
    manifest: dc ? DC_SCALE_MANIFEST : SCALE_MANIFEST,
    emulator,
    harness,
    engine: new Engine(harness),
    close: async () => {
      harness.close();
      await emulator.close();
    },
  };
}

/** State bytes per resource as the engine stores it: inputs and outputs, each with `__provider`. */
async function stateBytes(engine: Engine): Promise<number> {
  const p = await providers();
  let bytes = 0;
  for (const e of engine.state.values()) {
    const provider = p[e.type] ?? "";
    bytes += JSON.stringify({
      type: e.type,
      id: e.id,
      inputs: { ...e.inputs, __provider: provider },
      outputs: { ...e.outs, __provider: provider },
    }).length;
  }
  return engine.state.size ? bytes / engine.state.size : 0;
}

async function phase(s: Stack, name: string, run: () => Promise<number>): Promise<Phase> {
  s.emulator.resetLog();
  const refusedBefore = s.emulator.refusedByLimit();
  const t0 = performance.now();
  const failed = await run().catch((e: Error) => {
    console.error(`  ${name} failed: ${e.message.split("\n")[0]}`);
    return 1;
  });
  const ms = performance.now() - t0;
  return {
    name,
    ms,
    requests: s.emulator.log().length,
    refused: s.emulator.refusedByLimit() - refusedBefore,
    rss: s.harness.peakRss(),
    stateBytes: await stateBytes(s.engine),
    failed,
  };
}

const program = (manifest: string) => async () =>
  Object.values((await deployManifest(parseManifest(manifest, "bench.yaml"))).resources);

/** up, no-op up, refresh, destroy; each counts the operations that failed. Stops after a failed phase. */
async function lifecycle(s: Stack, resources: number): Promise<Phase[]> {
  const up = async () => {
    const r = await s.engine.up(program(s.manifest));
    if (r.error) console.error(`  up failed: ${r.error.message.split("\n")[0]}`);
    return r.error ? Math.max(1, resources - s.engine.state.size) : 0;
  };
  const phases: Array<[string, () => Promise<number>]> = [
    ["up", up],
    ["no-op up", up],
    ["refresh", async () => (await s.engine.refresh(Infinity)).filter((x) => x.gone).length],
    ["destroy", async () => (await s.engine.destroy(Infinity), s.engine.state.size)],
  ];
  const out: Phase[] = [];
  for (const [name, run] of phases) {
    out.push(await phase(s, name, run));
    if (out.at(-1)!.failed > 0) break;
  }
  return out;
}

/** Objects that exist twice (same hook URL or variable key on one repository). */
function duplicates(e: Emulator): number {
  let dup = 0;
  for (const ws of e.store.workspaces.values()) {
    for (const repo of ws.repos.values()) {
      dup += repo.hooks.length - new Set(repo.hooks.map((h) => h.url)).size;
      dup += repo.variables.length - new Set(repo.variables.map((v) => v.key)).size;
    }
  }
  return dup;
}

const mib = (b?: number) => (b === undefined ? "n/a" : `${(b / 2 ** 20).toFixed(0)} MiB`);

function print(repos: number, resources: number, phases: Phase[]) {
  console.log(`\nN = ${repos} repositories, ${resources} resources`);
  console.log(
    "phase        wall (s)  requests  req/resource  429s  ms/resource  host peak RSS  state B/resource  failed",
  );
  for (const p of phases) {
    console.log(
      [
        p.name.padEnd(10),
        (p.ms / 1000).toFixed(2).padStart(10),
        String(p.requests).padStart(9),
        (p.requests / resources).toFixed(2).padStart(13),
        String(p.refused).padStart(5),
        (p.ms / resources).toFixed(2).padStart(12),
        mib(p.rss).padStart(14),
        p.stateBytes.toFixed(0).padStart(17),
        String(p.failed).padStart(7),
      ].join(" "),
    );
  }
}

async function scale(sizes: number[], dc = false) {
  for (const repos of sizes) {
    const s = await stack(repos, {}, dc);
    try {
      if (dc) process.stdout.write("\nData Center:");
      print(repos, repos * SCALE_PER_REPO, await lifecycle(s, repos * SCALE_PER_REPO));
    } finally {
      await s.close();
    }
  }
}

/** Bitbucket Cloud's window is an hour; the run's is `windowMs`: every time setting scales alike. */
const HOUR_MS = 3_600_000;

/** The rolling-window run: must end with 0 failed operations and 0 duplicates. */
async function rateWindow(repos: number, limit: RateLimit): Promise<boolean> {
  const scaled = (ms: number) => String(Math.max(1, Math.round((ms * limit.windowMs) / HOUR_MS)));
  const s = await stack(repos, {
    // The defaults (0.5 s base, 30 s cap, a 1-hour wait budget), scaled like the window.
    BITBUCKET_RETRY_BASE_DELAY_MS: scaled(500),
    BITBUCKET_RETRY_MAX_DELAY_MS: scaled(30_000),
    BITBUCKET_RATE_LIMIT_WAIT_MS: scaled(HOUR_MS),
  });
  s.emulator.limitRate(limit);
  try {
    const phases = await lifecycle(s, repos * SCALE_PER_REPO);
    const dup = duplicates(s.emulator);
    const left = [...s.emulator.store.workspaces.get("acme")!.repos.values()].reduce(
      (n, r) => n + r.hooks.length + r.variables.length,
      0,
    );
    console.log(
      `\nRolling window: ${limit.requests} requests per ${limit.windowMs / 1000} s (Bitbucket's hour, scaled), ` +
        `${limit.retryAfter ? "with" : "without"} Retry-After`,
    );
    print(repos, repos * SCALE_PER_REPO, phases);
    const failed = phases.reduce((n, p) => n + p.failed, 0);
    const waits = (s.harness.stderr.match(/rate limited/g) ?? []).length;
    console.log(
      `failed operations: ${failed}; duplicates: ${dup}; objects left at the end: ${left}; wait notices: ${waits}`,
    );
    const ok = failed === 0 && dup === 0 && left === 0;
    console.log(ok ? "PASS" : "FAIL");
    return ok;
  } finally {
    await s.close();
  }
}

async function main() {
  // A failed registration is counted by Engine.up; the SDK's own promise of it has no listener.
  process.on("unhandledRejection", () => undefined);
  const sizes = (process.env.BENCH_SCALE_SIZES ?? "50,200,500").split(",").map(Number).filter(Boolean);
  console.log("Scale: through the real dynamic-provider host, against the emulator on loopback");
  await scale(sizes);
  const dcSizes = (process.env.BENCH_DC_SIZES ?? "50,200").split(",").map(Number).filter(Boolean);
  await scale(dcSizes, true);
  if (process.env.BENCH_RATE_WINDOW === "off") return;
  const window = { requests: 300, windowMs: 4000 };
  const passed = [
    await rateWindow(100, { ...window, retryAfter: true }),
    await rateWindow(100, { ...window, retryAfter: false }),
  ];
  if (!passed.every(Boolean)) process.exitCode = 1;
}

export const runScale = main;
