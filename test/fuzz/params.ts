// How the fuzz suites run. `npm test`: a fixed seed and few runs per property. A longer run:
//   FUZZ_RUNS=2000 FUZZ_SEED=123 npx mocha test/fuzz/*.test.ts
// FUZZ_RUNS sets the runs of every property, FUZZ_SEED the seed. A failure prints the seed, the
// path and the shrunk counterexample (fast-check); FUZZ_SEED=<seed> FUZZ_PATH=<path> replays it.

import type * as fc from "fast-check";

/** The seed of `npm test` (any fixed number: the point is that every run is the same). */
export const DEFAULT_SEED = 19;

export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : DEFAULT_SEED;
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;

/** Whether this is a long run (FUZZ_RUNS set): tests then get no mocha timeout. */
export const LONG = RUNS !== undefined;

if (!Number.isInteger(SEED))
  throw new Error(`FUZZ_SEED must be a whole number, got "${process.env.FUZZ_SEED}"`);
if (RUNS !== undefined && !(Number.isInteger(RUNS) && RUNS > 0))
  throw new Error(`FUZZ_RUNS must be a whole number above 0, got "${process.env.FUZZ_RUNS}"`);

/** The runs of a property: FUZZ_RUNS when set, else `runs` (what `npm test` affords). */
export const runsOf = (runs: number): number => RUNS ?? runs;

/**
 * fast-check parameters for one property, printing its seed and runs first so a long run's log
 * says how to replay it even when the process is killed.
 */
export function fuzzParams<T>(name: string, runs: number): fc.Parameters<T> {
  const numRuns = runsOf(runs);
  console.log(`      [fuzz] ${name}: seed ${SEED}, ${numRuns} runs`);
  return {
    seed: SEED,
    numRuns,
    ...(process.env.FUZZ_PATH !== undefined && { path: process.env.FUZZ_PATH }),
  };
}
