import * as assert from "node:assert/strict";
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

  it("refuses --incremental with --mutate or --spec, saying why, before running anything", () => {
    const said: string[] = [];
    const error = console.error;
    console.error = (m: string) => said.push(m);
    try {
      assert.equal(main(["resources/webhook", "--incremental", "--mutate=provider/resources/webhook.ts"]), 2);
      assert.equal(main(["resources/webhook", "--incremental", "--spec=test/resources/webhook.test.ts"]), 2);
    } finally {
      console.error = error;
    }
    assert.deepEqual(said, [
      "--incremental re-tests a whole module against its last whole run: leave out --mutate and --spec",
      "--incremental re-tests a whole module against its last whole run: leave out --mutate and --spec",
    ]);
  });
});
