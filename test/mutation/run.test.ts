import * as assert from "node:assert/strict";
import * as os from "os";
import { config, main } from "./run";
import { MODULES } from "./modules";

const webhook = MODULES.find((m) => m.name === "resources/webhook")!;
type Incremental = { incremental: boolean; force: boolean; incrementalFile: string };

describe("npm run test:mutation (test/mutation/run.ts)", () => {
  it("keeps a whole run's results for the next --incremental run, and tests every mutant doing so", () => {
    const c = config(webhook, { incremental: false }) as Incremental;
    assert.deepEqual([c.incremental, c.force], [true, true]);
    assert.match(c.incrementalFile, /reports\/mutation\/resources-webhook\.incremental\.json$/);
  });

  it("re-tests with --incremental only what changed since that run", () => {
    const c = config(webhook, { incremental: true }) as Incremental;
    assert.deepEqual([c.incremental, c.force], [true, false]);
  });

  it("neither reads nor replaces a module's last whole run when narrowed to some files or tests", () => {
    for (const narrowed of [
      { mutate: "provider/resources/webhook.ts:500-560" },
      { spec: "test/resources/webhook.test.ts" },
    ]) {
      const c = config(webhook, { incremental: false, ...narrowed }) as Incremental;
      assert.deepEqual([c.incremental, c.force], [false, false], JSON.stringify(narrowed));
    }
  });

  it("samples with Stryker's checker, with one worker per core as in a whole run", () => {
    const whole = config(webhook, { incremental: false }) as { concurrency: number; checkers?: string[] };
    assert.deepEqual([whole.concurrency, whole.checkers], [os.availableParallelism(), undefined]);
    const sampled = config(webhook, { incremental: false, sample: { fraction: 0.2, seed: "1" } }) as {
      concurrency: number;
      checkers: string[];
      plugins: string[];
    };
    assert.deepEqual(sampled.checkers, ["sample"]);
    // Stryker hands the checkers' workers to the tests once all is checked: more would overload
    // the cores, and tests slowed down past their timeout count as mutants detected.
    assert.equal(sampled.concurrency, os.availableParallelism());
    assert.match(sampled.plugins[1]!, /test\/mutation\/sample-checker\.mjs$/);
    assert.equal(sampled.plugins[0], "@stryker-mutator/mocha-runner");
  });

  it("refuses a sample that is not a fraction above 0 and at most 1, before running anything", () => {
    const said: string[] = [];
    const error = console.error;
    console.error = (m: string) => said.push(m);
    try {
      for (const bad of [["--sample=20%"], ["--sample=0"], ["--sample=1.5"], ["--sample=0.2", "--seed=a b"]])
        assert.equal(main(["resources/webhook", ...bad]), 2, bad.join(" "));
    } finally {
      console.error = error;
    }
    assert.equal(said.length, 4);
    assert.equal(
      said[0],
      "--sample=20%: give the fraction of mutants to test, above 0 and at most 1, e.g. --sample=0.2, and a seed of letters or digits",
    );
    assert.match(said[3]!, /^--sample=0\.2 --seed=a b: give the fraction/);
  });

  it("refuses --incremental with --mutate, --spec or --sample, saying why, before running anything", () => {
    const said: string[] = [];
    const error = console.error;
    console.error = (m: string) => said.push(m);
    try {
      assert.equal(main(["resources/webhook", "--incremental", "--mutate=provider/resources/webhook.ts"]), 2);
      assert.equal(main(["resources/webhook", "--incremental", "--spec=test/resources/webhook.test.ts"]), 2);
      assert.equal(main(["resources/webhook", "--incremental", "--sample=0.2"]), 2);
    } finally {
      console.error = error;
    }
    assert.deepEqual(
      said,
      Array(3).fill(
        "--incremental re-tests a whole module against its last whole run: leave out --mutate, --spec and --sample",
      ),
    );
  });
});
