// `npm run test:mutation [-- <module>...] [--mutate=<glob>] [--spec=<glob>]
// [--sample=<fraction> [--seed=<n>]] [--incremental]`: runs StrykerJS on each module of modules.ts
// against its tests, then reports each module's mutation score against its floor and exits 1 if
// one is below.
// - `--mutate` narrows a module to some of its files (e.g. `resources
//   --mutate=provider/resources/webhook.ts`, or a line range: `webhook.ts:520-530`), `--spec` to
//   some of its tests.
// - `--sample` tests a random share of its mutants: an estimate of the score with its 95%
//   interval, in that share of the time (sample-checker.mjs).
// - `--incremental` re-tests only the mutants whose code or tests changed since the module's last
//   whole run (each whole run leaves its results for that in <module>.incremental.json; a narrowed
//   or sampled run leaves them alone).
// Reports: reports/mutation/<module>.html (browse the survivors), <module>.json, and
// <module>-survivors.txt (one line per surviving mutant).
//
// How it fits the harness: Stryker copies the repository to .stryker-tmp/sandbox-*, mutates the
// sources there with every mutant switched off, and builds them to dist/ (sandbox.js), so the
// dynamic-provider host loads the same mutants; test/harness/mutation.ts tells each host which
// mutant is on and brings back what the host reached.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MODULES, type MutationModule } from "./modules";
import { survivors, tallies, verdictLine, type Report } from "./score";

const ROOT = path.resolve(__dirname, "..", "..");
const OUT = path.join(ROOT, "reports", "mutation");
const STRYKER = path.join(ROOT, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js");

/** A module's name as a file name: `resources/webhook` → `resources-webhook`. */
const slug = (m: MutationModule) => m.name.replace(/\//g, "-");

export interface Options {
  incremental: boolean;
  mutate?: string;
  spec?: string;
  /** Test only this fraction of the mutants, drawn with this seed (sample-checker.mjs). */
  sample?: { fraction: number; seed: string };
}

const SAMPLER = path.join(__dirname, "sample-checker.mjs");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SAMPLE_ENV } = require(SAMPLER) as { SAMPLE_ENV: string };

/** Whether a run covers only part of its module: it neither reads nor writes the module's baseline. */
const isNarrowed = (o: Options) => o.mutate !== undefined || o.spec !== undefined || o.sample !== undefined;

export function config(m: MutationModule, o: Options): object {
  const narrowed = isNarrowed(o);
  return {
    packageManager: "npm",
    testRunner: "mocha",
    coverageAnalysis: "perTest",
    mutate: o.mutate ? [o.mutate] : m.mutate,
    mochaOptions: {
      spec: o.spec ? [o.spec] : m.spec,
      require: ["ts-node/register/transpile-only", "test/hooks.ts", "test/mutation/hooks.ts"],
    },
    buildCommand: "node test/mutation/sandbox.js", // in the sandbox; the repository is in the environment
    symlinkNodeModules: false,
    disableTypeChecks: "{provider,test}/**/*.ts",
    ignorePatterns: ["dist", "bin", "reports", ".stryker-tmp"],
    tempDirName: ".stryker-tmp",
    // With a checker (the sampler), Stryker starts with half the workers checking and hands them
    // to the tests once every mutant is checked, which the sampler does at once: as many as cores.
    concurrency: os.availableParallelism(),
    ...(o.sample && { checkers: ["sample"], plugins: ["@stryker-mutator/mocha-runner", SAMPLER] }),
    // A mutant that makes a test run past its time counts as detected: leave room for a busy
    // machine (a test process and a host per worker on 2 cores), or load passes for a kill.
    timeoutFactor: 2,
    timeoutMS: 15_000,
    // Module-level code runs once, before any test: its mutants would need every test, each time.
    ignoreStatic: true,
    reporters: ["progress", "json", "html"],
    jsonReporter: { fileName: path.join(OUT, `${slug(m)}.json`) },
    htmlReporter: { fileName: path.join(OUT, `${slug(m)}.html`) },
    // Stryker writes the incremental file only in incremental mode; `force` tests every mutant
    // in it, so a whole run is both a full measurement and the next `--incremental` run's baseline.
    incremental: !narrowed,
    force: !narrowed && !o.incremental,
    incrementalFile: path.join(OUT, `${slug(m)}.incremental.json`),
    thresholds: { high: 90, low: m.floor, break: null },
  };
}

export function main(argv: string[]): number {
  const options: Options = {
    incremental: argv.includes("--incremental"),
    mutate: argv.find((a) => a.startsWith("--mutate="))?.slice("--mutate=".length),
    spec: argv.find((a) => a.startsWith("--spec="))?.slice("--spec=".length),
  };
  const fraction = argv.find((a) => a.startsWith("--sample="))?.slice("--sample=".length);
  if (fraction !== undefined) {
    const seed = argv.find((a) => a.startsWith("--seed="))?.slice("--seed=".length) ?? "1";
    if (!/^(0?\.\d*[1-9]\d*|1)$/.test(fraction) || !/^\w+$/.test(seed)) {
      console.error(
        `--sample=${fraction}${seed !== "1" ? ` --seed=${seed}` : ""}: give the fraction of mutants to test, above 0 and at most 1, e.g. --sample=0.2, and a seed of letters or digits`,
      );
      return 2;
    }
    options.sample = { fraction: Number(fraction), seed };
  }
  if (options.incremental && isNarrowed(options)) {
    console.error(
      "--incremental re-tests a whole module against its last whole run: leave out --mutate, --spec and --sample",
    );
    return 2;
  }
  const names = argv.filter((a) => !a.startsWith("--"));
  const picks = (n: string, m: MutationModule) => m.name === n || m.name.startsWith(`${n}/`);
  const unknown = names.filter((n) => !MODULES.some((m) => picks(n, m)));
  if (unknown.length > 0) {
    console.error(
      `unknown module ${unknown.join(", ")}: choose from ${MODULES.map((m) => m.name).join(", ")}`,
    );
    return 2;
  }
  const chosen = names.length > 0 ? MODULES.filter((m) => names.some((n) => picks(n, m))) : MODULES;
  fs.mkdirSync(OUT, { recursive: true });

  const lines: string[] = [];
  let allHold = true;
  for (const m of chosen) {
    const file = path.join(os.tmpdir(), `bbiac-stryker-${slug(m)}-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(config(m, options), null, 2));
    const reportFile = path.join(OUT, `${slug(m)}.json`);
    fs.rmSync(reportFile, { force: true });
    const started = Date.now();
    const run = spawnSync(process.execPath, [STRYKER, "run", file], {
      cwd: ROOT,
      stdio: "inherit",
      env: {
        ...process.env,
        BITBUCKET_IAC_REPOSITORY: ROOT,
        ...(options.sample && { [SAMPLE_ENV]: `${options.sample.fraction}:${options.sample.seed}` }),
      },
    });
    fs.rmSync(file, { force: true });
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    if (run.status !== 0 || !fs.existsSync(reportFile)) {
      lines.push(
        `${m.name}: Stryker failed (exit ${run.status ?? run.signal}) after ${minutes} min; see its output above`,
      );
      allHold = false;
      continue;
    }
    const report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as Report;
    const { total, files } = tallies(report);
    const narrowedTo = [
      options.mutate,
      options.sample && `--sample=${options.sample.fraction} --seed=${options.sample.seed}`,
    ].filter(Boolean);
    const verdict = verdictLine(
      narrowedTo.length ? `${m.name} (${narrowedTo.join(", ")})` : m.name,
      total,
      m.floor,
    );
    allHold &&= verdict.holds;
    lines.push(`${verdict.line} [${minutes} min]`);
    for (const f of files)
      lines.push(`  ${verdictLine(f.file, f.tally, m.floor).line.replace(/; floor.*/, "")}`);
    const left = survivors(report);
    fs.writeFileSync(path.join(OUT, `${slug(m)}-survivors.txt`), left.join("\n") + (left.length ? "\n" : ""));
  }
  console.log(`\nMutation scores (reports in ${path.relative(ROOT, OUT)}/):\n${lines.join("\n")}`);
  return allHold ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
