// Mocha root hooks (.mocharc.json `require`): every run, serial or --parallel, one file or all.
// The provider keeps its connection settings, listing cache and read-only switch process-wide
// (provider/api/shared.ts), and one mocha process (or parallel worker) runs many files, in an
// order that differs from run to run: what a test or a file leaves there must not reach the next.
// After each test: the stack config `setProviderConfig` copied (deployManifest, configure) and the
// read-only switch (plan, export). After each file, also: the listing cache and Pulumi's config.
// At the end of the run (of each file, in parallel mode): the directories made with tempDir(), and
// a check that nothing else was left in the run's temporary directory.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Context, Suite } from "mocha";
import { setProviderConfig } from "../provider/api/auth";
import { clearCache } from "../provider/api/cache";
import { setReadOnly } from "../provider/api/client";
import { endAll, endFile } from "./harness/pool";

/**
 * The run's own temporary directory, TMPDIR for this process and every process it starts: what a
 * test writes under the temporary directory lands here, where the end of the run looks for it.
 */
const RUN_TMP = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-run-"));
process.env.TMPDIR = RUN_TMP;
process.on("exit", () => fs.rmSync(RUN_TMP, { recursive: true, force: true }));

/**
 * Node's compile cache for every process a test starts (the CLI, hosts, npm) and for the parallel
 * workers, which start after this runs: one directory, kept between runs, where each would
 * otherwise compile the Pulumi SDK and the rest anew (hosts and the CLI load in about half the time).
 */
process.env.NODE_COMPILE_CACHE ??= path.join(__dirname, "../node_modules/.cache/bitbucket-iac-node");

/**
 * The stacks the Pulumi SDK records for its own books (one for every promise it tracks, and for
 * every resource's source position: `new Error().stack` in its own code) are formatted as V8
 * formats them, not through the source maps ts-node installs (@cspotcode/source-map-support), which
 * cost a tenth of a worker's CPU. Any other stack (a failed assertion, an error our code throws, one
 * thrown inside the SDK for our code) is mapped to its TypeScript lines as before.
 */
const PULUMI_SDK = path.dirname(require.resolve("@pulumi/pulumi/package.json")) + path.sep;
const mapped = Error.prepareStackTrace;
if (mapped)
  Error.prepareStackTrace = (error, frames) =>
    error.message === "" && frames[0]?.getFileName()?.startsWith(PULUMI_SDK)
      ? [String(error), ...frames.map((f) => `    at ${f.toString()}`)].join("\n")
      : mapped(error, frames);

/** Caches the tools a test starts keep there (Node's, npm's, ts-node's): theirs, kept for the run. */
const TOOL_CACHE = /^(node-compile-cache|v8-compile-cache-\d+)$/;

const made = new Set<string>();

/**
 * A new empty directory under the system's temporary directory, removed when the run ends (in
 * parallel mode, when the file's run ends). Not after each file of a serial run: there every file
 * is loaded before any runs, and a directory made as a file loads is that file's until its end.
 */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

function afterTest(): void {
  setProviderConfig(() => undefined);
  setReadOnly(false);
}

// Loaded only by the files that use Pulumi's runtime; a file that does not need it is not made to load it.
const PULUMI_CONFIG = require.resolve("@pulumi/pulumi/runtime/config");

async function afterFile(): Promise<void> {
  await endFile();
  afterTest();
  clearCache();
  if (require.cache[PULUMI_CONFIG]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require(PULUMI_CONFIG) as typeof import("@pulumi/pulumi/runtime/config")).setAllConfig({}, []);
  }
}

async function afterRun(): Promise<void> {
  await afterFile();
  // A parallel worker's run is one file, and its next file may have what the pool kept.
  if (process.env.MOCHA_WORKER_ID === undefined) await endAll();
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  made.clear();
  const left = fs.readdirSync(RUN_TMP).filter((name) => !TOOL_CACHE.test(name));
  for (const name of left) fs.rmSync(path.join(RUN_TMP, name), { recursive: true, force: true });
  if (left.length)
    throw new Error(
      `left in the temporary directory: ${left.join(", ")}; make directories with tempDir() (test/hooks.ts), which removes them, or remove what the test writes`,
    );
}

export const mochaHooks = {
  /**
   * A root `afterAll` runs after every file only in parallel mode (each file is its own run); in a
   * serial run it runs once, at the end. So each file's top-level suites get the reset as their last
   * `after` hook, which works the same in both modes.
   */
  beforeAll(this: Context) {
    const root = this.test?.parent as Suite;
    for (const suite of root.suites) suite.afterAll("reset process-wide state (test/hooks.ts)", afterFile);
  },
  afterEach: afterTest,
  afterAll: afterRun,
};
