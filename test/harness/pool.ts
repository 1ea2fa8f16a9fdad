// Fixtures kept between tests. Starting a dynamic-provider host costs a process and a second or
// more of loading the Pulumi SDK; most test files start one per test. A test's fixture, once
// closed, waits here for the next test that asks for the same key (fixture.ts: flavor, config,
// directory), in this file or in a later file of the same process (a parallel worker runs many
// files): its emulator is reset to the new seed and its host starts a new run with that test's
// environment (Harness.reuse), which is how each `pulumi` command finds a host. test/hooks.ts
// calls `endFile` after each file and `endAll` at the end of a serial run.
// Kept apart from fixture.ts so the hooks, which every test file loads, load no Pulumi.

/** A fixture that can be put back: `end` stops it for good (its host synchronously, at once). */
export interface Pooled {
  end(): Promise<void>;
}

/** How many idle fixtures a process keeps from one file to the next: the most recently used. */
const KEPT_ACROSS_FILES = 4;

interface Idle {
  key: string;
  fixture: Pooled;
  /** Kept for later files too; otherwise only for this file's (its host runs in the file's directory). */
  acrossFiles: boolean;
}

/** Idle fixtures, the most recently put back last. */
let idle: Idle[] = [];

/** An idle fixture kept under `key`, taken out of the pool; undefined when there is none. */
export function take<T extends Pooled>(key: string): T | undefined {
  const i = idle.map((f) => f.key).lastIndexOf(key);
  if (i < 0) return undefined;
  const [found] = idle.splice(i, 1);
  return found!.fixture as T;
}

/** Keeps `fixture` for the next test that asks for `key`; `acrossFiles`: for later files too. */
export function keep(key: string, fixture: Pooled, acrossFiles: boolean): void {
  idle.push({ key, fixture, acrossFiles });
}

/** After a file: stops what only that file could use, and all but the most recent few. */
export async function endFile(): Promise<void> {
  const later = idle.filter((f) => f.acrossFiles).slice(-KEPT_ACROSS_FILES);
  const ending = idle.filter((f) => !later.includes(f));
  idle = later;
  await Promise.all(ending.map((f) => f.fixture.end()));
}

/** Stops every idle fixture (at the end of the run). */
export async function endAll(): Promise<void> {
  const ending = idle;
  idle = [];
  await Promise.all(ending.map((f) => f.fixture.end()));
}

// A parallel worker ends without a last hook: its hosts are stopped as it exits (`end` kills a
// host before it awaits anything), and host-new-run.js stops any whose parent is gone.
process.on("exit", () => void endAll());
