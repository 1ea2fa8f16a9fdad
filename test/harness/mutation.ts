// The dynamic-provider host under mutation testing (`npm run test:mutation`).
//
// Stryker switches a mutant on in the test process (`globalThis.__stryker__.activeMutant`) and,
// during its first "dry" run, records which mutants each test reaches. The host is another
// process: it loads the instrumented dist/ of Stryker's sandbox, so it must be told the active
// mutant (Stryker's own `__STRYKER_ACTIVE_MUTANT__` variable) and, in the dry run, hand back what
// it reached, or every mutant only the host runs would be "not covered" (and never tested).
// A host writes what it reached when it exits (test/mutation/host-preload.js, preloaded); that
// is credited to every test that talked to it. The preload also ends a host whose test process is
// gone. Outside Stryker all of this is off.

import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

type Counts = Record<string, number>;
interface Coverage {
  static: Counts;
  perTest: Record<string, Counts>;
}
interface StrykerNamespace {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: Coverage;
}

const PRELOAD = path.join(__dirname, "..", "mutation", "host-preload.js");
const pending = new Set<Promise<void>>();

const stryker = (): StrykerNamespace | undefined =>
  (globalThis as { __stryker__?: StrykerNamespace }).__stryker__;

/** One host process's part in a Stryker run; `undefined` outside Stryker. */
export class HostMutation {
  private readonly tests = new Set<string>();
  private constructor(
    private readonly ns: StrykerNamespace,
    private readonly coverageFile: string | undefined,
  ) {}

  static forNewHost(): HostMutation | undefined {
    const ns = stryker();
    if (!ns) return undefined;
    const dryRun = ns.activeMutant === undefined;
    const file = dryRun
      ? path.join(os.tmpdir(), `bbiac-host-coverage-${process.pid}-${Math.random()}.json`)
      : undefined;
    return new HostMutation(ns, file);
  }

  /** What the host's environment adds: the preload, and the active mutant or where to write what it reached. */
  env(): Record<string, string> {
    const preload = {
      NODE_OPTIONS: `--require "${PRELOAD}"`,
      BITBUCKET_IAC_HOST_PARENT: String(process.pid),
    };
    if (this.coverageFile) return { ...preload, BITBUCKET_IAC_HOST_COVERAGE: this.coverageFile };
    return { ...preload, __STRYKER_ACTIVE_MUTANT__: String(this.ns.activeMutant) };
  }

  /** Called on every request to the host: the test making it is credited with what the host reaches. */
  request(): void {
    if (this.coverageFile && this.ns.currentTestId) this.tests.add(this.ns.currentTestId);
  }

  /** Once the host has exited, adds what it reached to each test that used it. */
  closing(proc: ChildProcess): void {
    const file = this.coverageFile;
    if (!file) return;
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once("exit", () => resolve());
      setTimeout(resolve, 5_000).unref();
    }).then(() => {
      let reached: Counts = {};
      try {
        reached = JSON.parse(fs.readFileSync(file, "utf8")) as Counts;
        fs.rmSync(file, { force: true });
      } catch {
        return; // a host that crashed wrote nothing: its mutants stay as the test process saw them
      }
      const cov = (this.ns.mutantCoverage ??= { static: {}, perTest: {} });
      const credit = (into: Counts) => {
        for (const [id, n] of Object.entries(reached)) into[id] = (into[id] ?? 0) + n;
      };
      if (this.tests.size === 0) credit(cov.static);
      for (const t of this.tests) credit((cov.perTest[t] ??= {}));
    });
    pending.add(exited);
    void exited.finally(() => pending.delete(exited));
  }
}

/** Waits until every closed host's coverage is in (the root hook calls it before the dry run ends). */
export async function settleHostCoverage(): Promise<void> {
  await Promise.all([...pending]);
}
