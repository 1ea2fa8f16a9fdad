// `npm run bench -- --scale`: large stacks through the real dynamic-provider host against the
// emulator, as `pulumi up` / `pulumi refresh` / `pulumi destroy` drive them (every resource at
// once: the engine's default parallelism is unbounded; BENCH_PARALLEL=P bounds it for every stack
// and phase, as `--parallel P` does), next to the floor: a trivial dynamic
// provider (bench/floor.ts: no HTTP, same resource types, names and inputs) through the same
// harness, in the same invocation.
//
// Sizes (repositories N; 4N resources each): BENCH_SCALE_SIZES (Cloud) and BENCH_DC_SIZES (Data
// Center), both 250,500,1000,2000 by default. Cloud: 2 webhooks and 2 pipeline variables on each
// repository of workspace acme (SCALE_MANIFEST, through `svc-*` globs, so the program lists the
// workspace). Data Center: 2 webhooks and 2 repository access tokens on each repository of project
// SVC (listed with DC paging). Each size, smallest first, runs in a bench process of its own
// (the engine, the programs and the emulator run in it), so that no size pays for the heap the ones
// before it left. In it, after an unreported warm-up of each at 5 repositories (the first program
// and host of a process pay for loading code), the runs alternate: the floor, then Cloud, then Data
// Center, each a whole lifecycle (up, no-op up, refresh, destroy), each phase in a new host process
// as each `pulumi` command gets. One floor run per size serves both flavors: it is the same program
// and provider for both, and running it right before them at the same size exposes it to the same
// machine load. The floor's phases run with Error.stackTraceLimit as a new
// Node process has it, whatever ours sets in this shared process.
//
// Per phase and size it prints: wall time and the host process start in it (about a second, each
// phase after up: the engine starts a new host per command), HTTP requests per resource (the
// emulator's log; the floor sends none), ms per resource (wall time less the host start, so that
// every phase measures what grows with the stack alike), the ratio to the floor (ms per resource, ours over the floor's), the
// host's peak RSS (VmHWM of the phase's host process), the bench process's peak RSS (sampled every
// 100 ms: the program, the engine and the emulator, which run in it) and state bytes per resource
// (inputs and outputs, each with `__provider`, as the engine stores them). Then, per phase, the
// growth ratio (ms per resource at the largest N over the smallest) and the host RSS growth per
// resource between them, then the targets (SCALE_TARGETS) with PASS or FAIL. A phase that fails or
// runs past its time limit (BENCH_PHASE_TIMEOUT_MS, default 120 s + 100 ms per resource) is
// reported and ends its lifecycle; the bench exits 1 when a phase failed or a target FAILed, after
// printing everything, and prints its total time.
//
// Then the rolling-window run (skipped with BENCH_RATE_WINDOW=off): the emulator allows RATE
// requests per window (Bitbucket Cloud's per-hour window, scaled down so the run crosses it several
// times) and answers 429 beyond that, with and without `Retry-After` (Cloud is not known to send
// it). The run must finish with 0 failed operations and 0 duplicate objects; it exits 1 otherwise.

import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deployManifest } from "../provider/manifest/deploy";
import { parseManifest } from "../provider/manifest/load";
import { startEmulator, type Emulator, type RateLimit } from "../test/emulator/server";
import { Engine } from "../test/harness/deploy";
import { Harness } from "../test/harness/engine";
import { providers, SCALE_MANIFEST, SCALE_PER_REPO, scaleSeed, TOKEN } from "../test/harness/fixture";
import type { Seed } from "../test/emulator/store";
import { floorProgram, floorProviders } from "./floor";

/** What `--scale` must meet, ours on each flavor; each printed with PASS or FAIL. */
export const SCALE_TARGETS = {
  /** ms per resource at the largest N over the smallest, every phase. */
  maxGrowth: 1.15,
  /** No-op up ms per resource over the floor's, at the largest N. */
  maxNoopVsFloor: 0.6,
  /** State per resource (inputs and outputs, each with `__provider`), bytes: 1.9 KiB. */
  maxStateBytes: 1945,
  /** Host peak RSS growth per resource from the smallest N to the largest, KiB, every phase. */
  maxHostRssKiBPerResource: 40,
};

export type Targets = typeof SCALE_TARGETS;

const DEFAULT_SIZES = "250,500,1000,2000";
const PHASES = ["up", "no-op up", "refresh", "destroy"] as const;
/** Phases after which the stack has state to weigh (destroy leaves none). */
const STATE_PHASES = ["up", "no-op up", "refresh"];

export type Who = "floor" | "cloud" | "dc";
const LABEL: Record<Who, string> = { floor: "floor", cloud: "Cloud", dc: "Data Center" };

export interface Phase {
  name: string;
  /** The phase's time without its host process's start: what ms per resource is taken of. */
  ms: number;
  /** Starting the phase's host process (0 for up, which runs in the host its stack started with). */
  hostStartMs: number;
  /** HTTP requests the emulator saw (undefined for the floor: it has none). */
  requests?: number;
  /** Requests the emulator refused with 429 (counted in `requests` too). */
  refused: number;
  /** The host process's peak RSS, bytes (undefined without /proc). */
  rss?: number;
  /** The bench process's peak RSS during the phase, bytes. */
  programRss: number;
  stateBytes: number;
  failed: number;
  /** Why the phase failed, when it did. */
  error?: string;
}

/** One lifecycle: who ran it, at which size, and its phases (fewer than four when one failed). */
export interface Run {
  who: Who;
  repos: number;
  resources: number;
  phases: Phase[];
}

// ---- The arithmetic of the targets: pure, tested in test/bench/scale-targets.test.ts. ----

/** A measurement at a stack size. */
export interface Point {
  resources: number;
  value: number;
}

const bySize = (points: Point[]) => [...points].sort((a, b) => a.resources - b.resources);

/** The value at the largest size over the value at the smallest; undefined with fewer than two sizes. */
export function growthRatio(points: Point[]): number | undefined {
  const sorted = bySize(points);
  const [first, last] = [sorted[0], sorted.at(-1)];
  if (!first || !last || first.resources === last.resources) return undefined;
  return last.value / first.value;
}

/** (value at the largest size - value at the smallest) / (resources between them); undefined likewise. */
export function growthPerResource(points: Point[]): number | undefined {
  const sorted = bySize(points);
  const [first, last] = [sorted[0], sorted.at(-1)];
  if (!first || !last || first.resources === last.resources) return undefined;
  return (last.value - first.value) / (last.resources - first.resources);
}

export interface Verdict {
  status: "PASS" | "FAIL" | "n/a";
  /** What is measured: "Cloud no-op up: ms/resource over the floor's at N = 2000". */
  what: string;
  value?: number;
  limit: number;
  /** Why there is no value. */
  why?: string;
}

/** Why a target has no value: not measured (a phase failed: FAIL) or nothing to compute (n/a). */
export interface Missing {
  status: "FAIL" | "n/a";
  why: string;
}

export const notMeasured = (why: string): Missing => ({ status: "FAIL", why: `not measured ${why}` });
const oneSize: Missing = { status: "n/a", why: "one size: nothing to compare" };

/** PASS when `value` <= `limit` (a value that is not a number fails); without one, as `missing` says. */
export function judge(what: string, value: number | undefined, limit: number, missing?: Missing): Verdict {
  if (value !== undefined) return { status: value <= limit ? "PASS" : "FAIL", what, value, limit };
  return { status: missing?.status ?? "FAIL", what, limit, why: missing?.why ?? "not measured" };
}

const phaseOf = (r: Run, name: string): Phase | undefined => {
  const p = r.phases.find((x) => x.name === name);
  return p && p.failed === 0 ? p : undefined;
};

/**
 * Every target for every flavor that ran (floor runs are the reference, never judged). A phase
 * that failed or never ran at some size leaves its targets "not measured": FAIL.
 */
export function evaluateTargets(runs: Run[], t: Targets = SCALE_TARGETS): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const who of ["cloud", "dc"] as const) {
    const mine = runs.filter((r) => r.who === who).sort((a, b) => a.resources - b.resources);
    if (mine.length === 0) continue;
    const label = LABEL[who];
    const span = `N = ${mine[0]!.repos} to ${mine.at(-1)!.repos}`;
    const missing = (name: string) => {
      const at = mine.filter((r) => !phaseOf(r, name)).map((r) => r.repos);
      return at.length ? notMeasured(`at N = ${at.join(", ")} (the phase failed)`) : undefined;
    };
    const single = mine.length < 2 ? oneSize : undefined;
    for (const name of PHASES) {
      const why = missing(name) ?? single;
      const points = (value: (p: Phase, r: Run) => number | undefined): Point[] =>
        mine.flatMap((r) => {
          const p = phaseOf(r, name);
          const v = p && value(p, r);
          return v === undefined ? [] : [{ resources: r.resources, value: v }];
        });
      const growth = why ? undefined : growthRatio(points((p, r) => p.ms / r.resources));
      verdicts.push(judge(`${label} ${name}: ms/resource growth, ${span}`, growth, t.maxGrowth, why));
      const rssPoints = points((p) => p.rss);
      const rssWhy: Missing | undefined =
        why ??
        (rssPoints.length < mine.length ? { status: "n/a", why: "no host RSS here (no /proc)" } : undefined);
      const rss = rssWhy ? undefined : growthPerResource(rssPoints);
      verdicts.push(
        judge(
          `${label} ${name}: host RSS growth, KiB/resource, ${span}`,
          rss === undefined ? undefined : rss / 1024,
          t.maxHostRssKiBPerResource,
          rssWhy,
        ),
      );
    }
    const largest = mine.at(-1)!;
    const floor = runs.find((r) => r.who === "floor" && r.repos === largest.repos);
    const ours = phaseOf(largest, "no-op up");
    const floors = floor && phaseOf(floor, "no-op up");
    verdicts.push(
      judge(
        `${label} no-op up: ms/resource over the floor's, N = ${largest.repos}`,
        ours && floors ? ours.ms / largest.resources / (floors.ms / floor.resources) : undefined,
        t.maxNoopVsFloor,
        ours && floors
          ? undefined
          : notMeasured(`at N = ${largest.repos} (${ours ? "the floor's" : "ours"} failed)`),
      ),
    );
    const states = mine.flatMap((r) => STATE_PHASES.flatMap((n) => phaseOf(r, n)?.stateBytes ?? []));
    verdicts.push(
      judge(
        `${label} state: bytes/resource, largest over every size and phase`,
        states.length ? Math.max(...states) : undefined,
        t.maxStateBytes,
        states.length ? undefined : notMeasured("(no phase left state)"),
      ),
    );
  }
  return verdicts;
}

// ---- The stacks. ----

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

interface Stack {
  /** The floor, or ours on a flavor. */
  who: Who;
  /** The program `up` runs. */
  program: () => unknown;
  /** The floor has none: its provider sends nothing. */
  emulator?: Emulator;
  engine: Engine;
  harness: Harness;
  /** ms spent starting host processes since the last call (each phase after up starts one). */
  hostStartMs(): number;
  /** The serialized providers the engine stores, per type name (for state bytes). */
  providers: Record<string, string>;
  close(): Promise<void>;
}

const program = (manifest: string) => async () =>
  Object.values((await deployManifest(parseManifest(manifest, "bench.yaml"))).resources);

async function stack(repos: number, env: Record<string, string> = {}, dc = false): Promise<Stack> {
  const emulator = await startEmulator(dc ? dcScaleSeed(repos) : scaleSeed(repos));
  const apiUrl = dc ? emulator.dcUrl : emulator.apiUrl;
  const flavor = dc ? "datacenter" : "cloud";
  const config = { "bitbucket:apiUrl": apiUrl, "bitbucket:token": TOKEN, "bitbucket:flavor": flavor };
  // The program (this process) lists repositories, with the environment's credentials.
  Object.assign(process.env, { BITBUCKET_API_URL: apiUrl, BITBUCKET_TOKEN: TOKEN, BITBUCKET_FLAVOR: flavor });
  const p = await providers();
  const harness = await Harness.start(p, { config, env });
  return {
    who: dc ? "dc" : "cloud",
    program: program(dc ? DC_SCALE_MANIFEST : SCALE_MANIFEST),
    emulator,
    harness,
    engine: new Engine(harness, { newProcess: true, parallel: PARALLEL }),
    hostStartMs: timeHostStarts(harness),
    providers: p,
    close: async () => {
      harness.close();
      await emulator.close();
    },
  };
}

/** The floor (bench/floor.ts): the trivial provider in a host of its own, no emulator. */
async function floorStack(repos: number): Promise<Stack> {
  const p = await floorProviders();
  const harness = await Harness.start(p);
  return {
    who: "floor",
    program: floorProgram(repos),
    harness,
    engine: new Engine(harness, { newProcess: true, parallel: PARALLEL }),
    hostStartMs: timeHostStarts(harness),
    providers: p,
    close: async () => harness.close(),
  };
}

/**
 * Times the host process starts of `harness` (Engine starts a new one for every run after the
 * first, as each `pulumi` command gets one: about a second, whatever the stack's size). A phase's
 * ms per resource leaves it out, so that it measures what grows with the stack, the same way for
 * every phase (up runs in the host the stack started with); the wall time keeps it.
 */
function timeHostStarts(harness: Harness): () => number {
  let ms = 0;
  const restart = harness.restart.bind(harness);
  harness.restart = async (env) => {
    const t0 = performance.now();
    try {
      await restart(env);
    } finally {
      ms += performance.now() - t0;
    }
  };
  return () => {
    const taken = ms;
    ms = 0;
    return taken;
  };
}

/** State bytes per resource as the engine stores it: inputs and outputs, each with `__provider`. */
function stateBytes(s: Stack): number {
  let bytes = 0;
  for (const e of s.engine.state.values()) {
    const provider = s.providers[e.type] ?? "";
    bytes += JSON.stringify({
      type: e.type,
      id: e.id,
      inputs: { ...e.inputs, __provider: provider },
      outputs: { ...e.outs, __provider: provider },
    }).length;
  }
  return s.engine.state.size ? bytes / s.engine.state.size : 0;
}

/** The bench process's peak RSS from now until `stop()`, sampled every `everyMs`. */
function rssSampler(everyMs = 100): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/**
 * Error.stackTraceLimit as a new Node process starts (10, or --stack-trace-limit): what the floor's
 * program runs with, every phase, whatever ours set in this shared process. Ours runs with what
 * its own code last left (its modules load once here, as they do once per `pulumi` process).
 */
const NODE_STACK_TRACE_LIMIT = Number(
  /--stack-trace-limit[= ](\d+)/.exec([...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" "))?.[1] ??
    10,
);
let oursStackTraceLimit: number | undefined;

/**
 * How many resources each phase applies, reads or deletes at once: `--parallel` as every `pulumi`
 * command takes it, unbounded by default as Pulumi's (BENCH_PARALLEL, for every stack alike).
 */
const PARALLEL = Number(process.env.BENCH_PARALLEL) || Infinity;

const phaseTimeoutMs = (resources: number) =>
  Number(process.env.BENCH_PHASE_TIMEOUT_MS) || 120_000 + 100 * resources;

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split("\n")[0];

async function phase(s: Stack, name: string, resources: number, run: () => Promise<number>): Promise<Phase> {
  oursStackTraceLimit ??= Error.stackTraceLimit;
  Error.stackTraceLimit = s.who === "floor" ? NODE_STACK_TRACE_LIMIT : oursStackTraceLimit;
  s.emulator?.resetLog();
  s.hostStartMs();
  const refusedBefore = s.emulator?.refusedByLimit() ?? 0;
  const sampler = rssSampler();
  const limitMs = phaseTimeoutMs(resources);
  let timer: NodeJS.Timeout | undefined;
  const t0 = performance.now();
  const outcome = await Promise.race([
    run().then(
      (failed) => ({ failed, error: failed ? `${failed} operations failed` : undefined }),
      (e: unknown) => ({ failed: 1, error: firstLine(e) }),
    ),
    new Promise<{ failed: number; error: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ failed: 1, error: `still running after ${limitMs / 1000} s: stopped` }),
        limitMs,
      );
    }),
  ]);
  clearTimeout(timer);
  const wallMs = performance.now() - t0;
  const hostStartMs = s.hostStartMs();
  const programRss = sampler.stop();
  if (s.who !== "floor") oursStackTraceLimit = Error.stackTraceLimit;
  if (outcome.error) console.error(`  ${name} failed: ${outcome.error}`);
  return {
    name,
    ms: wallMs - hostStartMs,
    hostStartMs,
    ...(s.emulator && { requests: s.emulator.log().length }),
    refused: (s.emulator?.refusedByLimit() ?? 0) - refusedBefore,
    rss: s.harness.peakRss(),
    programRss,
    stateBytes: stateBytes(s),
    failed: outcome.failed,
    ...(outcome.error && { error: outcome.error }),
  };
}

/** up, no-op up, refresh, destroy; each counts the operations that failed. Stops after a failed phase. */
async function lifecycle(s: Stack, resources: number, who = ""): Promise<Phase[]> {
  const up = async () => {
    const r = await s.engine.up(s.program);
    if (r.error) console.error(`  up failed: ${firstLine(r.error)}`);
    return r.error ? Math.max(1, resources - s.engine.state.size) : 0;
  };
  const phases: Array<[string, () => Promise<number>]> = [
    ["up", up],
    ["no-op up", up],
    ["refresh", async () => (await s.engine.refresh(PARALLEL)).filter((x) => x.gone).length],
    ["destroy", async () => (await s.engine.destroy(PARALLEL), s.engine.state.size)],
  ];
  const out: Phase[] = [];
  for (const [name, run] of phases) {
    out.push(await phase(s, name, resources, run));
    const p = out.at(-1)!;
    if (who)
      console.error(
        `  ${who} ${name}: ${((p.ms + p.hostStartMs) / 1000).toFixed(2)} s${p.failed ? " FAILED" : ""}`,
      );
    if (p.failed > 0) break;
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

// ---- Printing. ----

const mib = (b?: number) => (b === undefined ? "n/a" : `${(b / 2 ** 20).toFixed(0)} MiB`);
const fixed = (n: number | undefined, digits: number) => (n === undefined ? "-" : n.toFixed(digits));

/** One row per phase and run: the floor first, each of ours with its ratio to the floor. */
function printSize(repos: number, runs: Run[]) {
  const resources = runs[0]!.resources;
  console.log(`\nN = ${repos} repositories, ${resources} resources`);
  console.log(
    "phase     run          wall (s)  host start (s)  requests  req/res  429s  ms/res  x floor  host peak RSS  program peak RSS  state B/res  failed",
  );
  const floor = runs.find((r) => r.who === "floor");
  for (const name of PHASES) {
    for (const r of runs) {
      const p = r.phases.find((x) => x.name === name);
      if (!p) continue;
      const f =
        floor && r !== floor ? floor.phases.find((x) => x.name === name && x.failed === 0) : undefined;
      const ratio = f && p.failed === 0 ? p.ms / r.resources / (f.ms / floor!.resources) : undefined;
      console.log(
        [
          name.padEnd(9),
          LABEL[r.who].padEnd(11),
          ((p.ms + p.hostStartMs) / 1000).toFixed(2).padStart(9),
          (p.hostStartMs / 1000).toFixed(2).padStart(15),
          (p.requests === undefined ? "-" : String(p.requests)).padStart(9),
          fixed(p.requests === undefined ? undefined : p.requests / r.resources, 2).padStart(8),
          String(p.refused).padStart(5),
          (p.ms / r.resources).toFixed(2).padStart(7),
          fixed(ratio, 2).padStart(8),
          mib(p.rss).padStart(14),
          mib(p.programRss).padStart(17),
          p.stateBytes.toFixed(0).padStart(12),
          String(p.failed).padStart(7),
        ].join(" "),
      );
    }
  }
  for (const r of runs) {
    for (const p of r.phases) if (p.error) console.log(`${LABEL[r.who]} ${p.name} failed: ${p.error}`);
  }
}

/** Per phase and run: the growth ratio and the host RSS growth per resource, smallest N to largest. */
function printGrowth(runs: Run[]) {
  console.log("\nGrowth, smallest N to largest: ms/resource ratio; host peak RSS growth, KiB per resource");
  console.log(`phase     ${(["floor", "cloud", "dc"] as const).map((w) => LABEL[w].padStart(24)).join("")}`);
  for (const name of PHASES) {
    const cells = (["floor", "cloud", "dc"] as const).map((who) => {
      const mine = runs.filter((r) => r.who === who);
      const measured = mine.flatMap((r) => {
        const p = phaseOf(r, name);
        return p ? [{ r, p }] : [];
      });
      if (mine.length === 0) return "-";
      if (measured.length < mine.length) return "not measured";
      const g = growthRatio(
        measured.map(({ r, p }) => ({ resources: r.resources, value: p.ms / r.resources })),
      );
      const rss = measured.every(({ p }) => p.rss !== undefined)
        ? growthPerResource(measured.map(({ r, p }) => ({ resources: r.resources, value: p.rss! })))
        : undefined;
      if (g === undefined) return "n/a (one size)";
      return `${g.toFixed(3)}x, ${fixed(rss === undefined ? undefined : rss / 1024, 1)} KiB`;
    });
    console.log(`${name.padEnd(9)} ${cells.map((c) => c.padStart(24)).join("")}`);
  }
}

function printTargets(verdicts: Verdict[]) {
  console.log("\nTargets (SCALE_TARGETS in bench/scale.ts)");
  for (const v of verdicts) {
    const value = v.value === undefined ? v.why : `${+v.value.toFixed(3)} <= ${v.limit}`;
    console.log(`${v.status.padEnd(4)}  ${v.what}: ${value}`);
  }
}

function printMachine() {
  const cpus = os.cpus();
  console.log(
    `Machine: ${cpus[0]?.model.trim() ?? "unknown CPU"} x ${cpus.length}, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
}

/** Repository counts from a comma-separated list (the default without one), smallest first. */
export function sizes(value: string | undefined): number[] {
  return [
    ...new Set(
      (value ?? DEFAULT_SIZES)
        .split(",")
        .map(Number)
        .filter((n) => n > 0),
    ),
  ].sort((a, b) => a - b);
}

/**
 * Every size, smallest first, each in a bench process of its own (`sizeInChild`): the floor, then
 * Cloud, then Data Center at that size. One process for every size made the later, larger sizes
 * pay for the earlier ones: its heap reached 3 GiB, and its collections slowed the engine and the
 * emulator it runs, for the floor as for ours (the floor's no-op up grew 1.56x in one such run).
 */
async function scale(cloudSizes: number[], dcSizes: number[]): Promise<Run[]> {
  const runs: Run[] = [];
  for (const repos of sizes([...cloudSizes, ...dcSizes].join(","))) {
    const flavors = [cloudSizes.includes(repos) && "cloud", dcSizes.includes(repos) && "dc"].filter(Boolean);
    const here = await sizeInChild(repos, flavors as Who[]);
    printSize(repos, here);
    runs.push(...here);
  }
  return runs;
}

/** The option that makes bench/run.ts measure one size (`scaleSize`) instead of the whole bench. */
export const SIZE_OPTION = "--scale-size";

/** Runs `scaleSize` in a new bench process, which writes its runs to a file this one reads. */
async function sizeInChild(repos: number, flavors: Who[]): Promise<Run[]> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-scale-")), "runs.json");
  try {
    const args = [require.resolve("ts-node/dist/bin"), "--transpile-only", path.join(__dirname, "run.ts")];
    const child = spawn(process.execPath, [...args, SIZE_OPTION, String(repos), flavors.join(","), out], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", resolve);
    });
    if (code !== 0 || !fs.existsSync(out))
      throw new Error(`the bench process for N = ${repos} exited with ${code}`);
    return JSON.parse(fs.readFileSync(out, "utf8")) as Run[];
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/**
 * A whole lifecycle of each, unreported, at this many repositories first: the first program and
 * host of the process pay for loading and compiling code, which would weigh on the smallest size.
 */
const WARM_UP_REPOS = 5;

/**
 * One size, in this process (`npm run bench -- --scale` starts one per size): after the warm-up,
 * the floor, then each of `flavors`, each a whole lifecycle; the runs are written to `out` as JSON.
 */
export async function scaleSize(repos: number, flavors: Who[], out: string): Promise<void> {
  process.on("unhandledRejection", () => undefined);
  const starts: Record<Who, (n: number) => Promise<Stack>> = {
    floor: floorStack,
    cloud: (n) => stack(n),
    dc: (n) => stack(n, {}, true),
  };
  const runs: Run[] = [];
  for (const [i, n] of [WARM_UP_REPOS, repos].entries()) {
    const warmUp = i === 0; // by place: a size of 5 is measured after its own warm-up
    for (const who of ["floor", ...flavors] as Who[]) {
      console.error(`N = ${n}: ${LABEL[who]}${warmUp ? " (warm-up, not reported)" : ""}`);
      const s = await starts[who](n);
      try {
        const phases = await lifecycle(s, n * SCALE_PER_REPO, LABEL[who]);
        if (!warmUp) runs.push({ who, repos: n, resources: n * SCALE_PER_REPO, phases });
      } finally {
        await s.close();
      }
    }
  }
  fs.writeFileSync(out, JSON.stringify(runs));
  // A phase stopped at its time limit may leave work behind (its program, retries): not waited for.
  process.exit(0);
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
  const emulator = s.emulator!;
  emulator.limitRate(limit);
  try {
    const resources = repos * SCALE_PER_REPO;
    const phases = await lifecycle(s, resources);
    const dup = duplicates(emulator);
    const left = [...emulator.store.workspaces.get("acme")!.repos.values()].reduce(
      (n, r) => n + r.hooks.length + r.variables.length,
      0,
    );
    console.log(
      `\nRolling window: ${limit.requests} requests per ${limit.windowMs / 1000} s (Bitbucket's hour, scaled), ` +
        `${limit.retryAfter ? "with" : "without"} Retry-After`,
    );
    printSize(repos, [{ who: "cloud", repos, resources, phases }]);
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
  const t0 = performance.now();
  // A failed registration is counted by Engine.up; the SDK's own promise of it has no listener.
  process.on("unhandledRejection", () => undefined);
  printMachine();
  console.log(
    "Scale: through the real dynamic-provider host, against the emulator on loopback; the floor beside",
  );
  console.log(
    `Parallel (as pulumi's --parallel): ${PARALLEL === Infinity ? "unbounded, as Pulumi's default" : PARALLEL}`,
  );
  const runs = await scale(sizes(process.env.BENCH_SCALE_SIZES), sizes(process.env.BENCH_DC_SIZES));
  printGrowth(runs);
  const verdicts = evaluateTargets(runs);
  printTargets(verdicts);
  const failedPhases = runs.filter(
    (r) => r.phases.some((p) => p.failed > 0) || r.phases.length < PHASES.length,
  );
  for (const r of failedPhases) console.log(`FAIL  ${LABEL[r.who]} at N = ${r.repos}: a phase failed`);
  let ok = failedPhases.length === 0 && verdicts.every((v) => v.status !== "FAIL");
  if (process.env.BENCH_RATE_WINDOW !== "off") {
    const window = { requests: 300, windowMs: 4000 };
    const passed = [
      await rateWindow(100, { ...window, retryAfter: true }),
      await rateWindow(100, { ...window, retryAfter: false }),
    ];
    ok &&= passed.every(Boolean);
  }
  console.log(`\nTotal time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (!ok) process.exitCode = 1;
  // A phase stopped at its time limit may leave work behind (its program, retries): not waited for.
  setTimeout(() => process.exit(), 10_000).unref();
}

export const runScale = main;
