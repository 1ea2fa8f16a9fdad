// `npm run test:mutation -- <module> --sample=<fraction> [--seed=<n>]`: tests a random sample of a
// module's mutants instead of all of them, for an estimate of its score in a fraction of the time
// (a resource module's whole run is up to two hours on 2 cores).
//
// A Stryker "checker" plugin: Stryker asks it about each mutant before any test runs, and a mutant
// it refuses is not tested. Which mutants are in the sample is a hash of the seed and the mutant
// (file, mutator, replacement, the code it replaces): the same seed picks the same mutants in
// every run, even after edits elsewhere in the file, so a
// sample measured before new tests can be measured again after them. Stryker has no other status
// for "left out" than "CompileError"; the reason says what it is, and test/mutation/score.ts counts
// those mutants for neither side of the score. ESM, as Stryker loads its plugins.

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { PluginKind, declareClassPlugin } from "@stryker-mutator/api/plugin";

/** The environment variable run.ts passes the sample in: `<fraction>:<seed>`. */
export const SAMPLE_ENV = "BITBUCKET_IAC_MUTATION_SAMPLE";
/** How a left-out mutant's reason starts (score.ts's NOT_SAMPLED). */
export const NOT_SAMPLED = "not in the sample";

/** Whether the mutant named `key` is in the sample of `fraction` drawn with `seed`. */
export function inSample(key, fraction, seed) {
  const h = createHash("sha256").update(`${seed}\0${key}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < fraction;
}

/**
 * What identifies a mutant across runs: its file (from the sandbox's root), mutator, replacement,
 * and the code it replaces: the text of its lines and its columns, not its line numbers, so an
 * edit elsewhere in the file (a new import, a fix above it) leaves the draw as it was. `source` is
 * the file's text as written (Stryker's positions are zero-based).
 */
export function mutantKey(mutant, root, source) {
  const { start, end } = mutant.location;
  const file = path.relative(root, mutant.fileName).split(path.sep).join("/");
  const code = source
    .split("\n")
    .slice(start.line, end.line + 1)
    .map((l) => l.trim())
    .join("\n");
  return [file, mutant.mutatorName, mutant.replacement, start.column, end.column, code].join("\0");
}

class SampleChecker {
  static inject = [];

  async init() {
    const [fraction, seed] = (process.env[SAMPLE_ENV] ?? "").split(":");
    this.fraction = Number(fraction);
    this.seed = seed;
    if (!(this.fraction > 0 && this.fraction <= 1) || !seed)
      throw new Error(`${SAMPLE_ENV} must be <fraction>:<seed>, e.g. 0.2:1 (npm run test:mutation sets it)`);
    this.sources = new Map();
  }

  /** A file as written, from the working copy (the sandbox's copy is instrumented). */
  source(file) {
    if (!this.sources.has(file)) {
      const root = process.env.BITBUCKET_IAC_REPOSITORY ?? process.cwd();
      this.sources.set(file, fs.readFileSync(path.join(root, file), "utf8"));
    }
    return this.sources.get(file);
  }

  async check(mutants) {
    const results = {};
    for (const m of mutants) {
      const key = mutantKey(m, process.cwd(), this.source(path.relative(process.cwd(), m.fileName)));
      results[m.id] = inSample(key, this.fraction, this.seed)
        ? { status: "passed" }
        : {
            status: "compileError",
            reason: `${NOT_SAMPLED} (${this.fraction} of the mutants, seed ${this.seed})`,
          };
    }
    return results;
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Checker, "sample", SampleChecker)];
