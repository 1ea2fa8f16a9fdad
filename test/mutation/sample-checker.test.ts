import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { NOT_SAMPLED } from "./score";

// The plugin is ESM (Stryker loads it so); Node 22 requires it synchronously.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const checker = require("./sample-checker.mjs") as {
  inSample(key: string, fraction: number, seed: string): boolean;
  mutantKey(m: object, root: string, source: string): string;
  NOT_SAMPLED: string;
  SAMPLE_ENV: string;
  strykerPlugins: Array<{ name: string; injectableClass: new () => SampleChecker }>;
};
interface SampleChecker {
  init(): Promise<void>;
  check(ms: object[]): Promise<Record<string, { status: string; reason?: string }>>;
}

const keys = Array.from(
  { length: 10_000 },
  (_, i) => `provider/resources/webhook.ts:${i}:4:${i}:20:ConditionalExpression:true`,
);
const drawn = (fraction: number, seed: string) => keys.filter((k) => checker.inSample(k, fraction, seed));

describe("a sampled mutation run (test/mutation/sample-checker.mjs)", () => {
  it("draws about the fraction asked for, the same mutants for the same seed, others for another seed", () => {
    for (const fraction of [0.05, 0.2, 0.5]) {
      const share = drawn(fraction, "1").length / keys.length;
      assert.ok(Math.abs(share - fraction) < 0.015, `${fraction}: drew ${share}`);
    }
    assert.deepEqual(drawn(0.2, "1"), drawn(0.2, "1"));
    const other = new Set(drawn(0.2, "2"));
    const overlap = drawn(0.2, "1").filter((k) => other.has(k)).length / drawn(0.2, "1").length;
    assert.ok(overlap > 0.1 && overlap < 0.3, `two seeds' samples overlap by chance only (${overlap})`);
    assert.equal(drawn(1, "1").length, keys.length, "a fraction of 1 is every mutant");
  });

  it("knows a mutant by its file, mutator, replacement and the code it replaces, not by its line or Stryker's id", () => {
    const root = "/tmp/.stryker-tmp/sandbox-1";
    const source = ["import a from 'a';", "function f(a, b) {", "  return a === b;", "}"].join("\n");
    const m = {
      id: "17",
      fileName: path.join(root, "provider", "resources", "webhook.ts"),
      mutatorName: "EqualityOperator",
      replacement: "a !== b",
      location: { start: { line: 2, column: 9 }, end: { line: 2, column: 16 } }, // zero-based, as Stryker's
    };
    const key = checker.mutantKey(m, root, source);
    assert.equal(
      key,
      ["provider/resources/webhook.ts", "EqualityOperator", "a !== b", 9, 16, "return a === b;"].join("\0"),
    );
    assert.equal(checker.mutantKey({ ...m, id: "99" }, root, source), key);
    // A line added above it moves it down a line: the same mutant, drawn or not as before.
    const moved = { ...m, location: { start: { line: 3, column: 9 }, end: { line: 3, column: 16 } } };
    assert.equal(checker.mutantKey(moved, root, `import b from 'b';\n${source}`), key);
    // The code it replaces edited: another mutant.
    assert.notEqual(checker.mutantKey(m, root, source.replace("a === b", "a === b || !a")), key);
  });

  it("lets Stryker test the sampled mutants and leaves the others out with a reason the score recognises", async () => {
    assert.equal(checker.NOT_SAMPLED, NOT_SAMPLED);
    const plugin = checker.strykerPlugins.find((p) => p.name === "sample")!;
    const saved = process.env[checker.SAMPLE_ENV];
    process.env[checker.SAMPLE_ENV] = "0.5:3";
    try {
      const c = new plugin.injectableClass();
      await c.init();
      // Lines 0-199 of the working copy's client.ts, each with one mutant.
      const file = path.join("provider", "api", "client.ts");
      const source = fs.readFileSync(path.join(process.cwd(), file), "utf8");
      const mutants = Array.from({ length: 200 }, (_, i) => ({
        id: String(i),
        fileName: path.join(process.cwd(), file),
        mutatorName: "StringLiteral",
        replacement: '""',
        location: { start: { line: i, column: 1 }, end: { line: i, column: 9 } },
      }));
      const results = await c.check(mutants);
      const tested = mutants.filter((m) => results[m.id]!.status === "passed");
      assert.deepEqual(
        tested.map((m) => m.id),
        mutants
          .filter((m) => checker.inSample(checker.mutantKey(m, process.cwd(), source), 0.5, "3"))
          .map((m) => m.id),
      );
      assert.ok(tested.length > 70 && tested.length < 130, `${tested.length} of 200`);
      const out = mutants.find((m) => results[m.id]!.status !== "passed")!;
      assert.deepEqual(results[out.id], {
        status: "compileError",
        reason: `${NOT_SAMPLED} (0.5 of the mutants, seed 3)`,
      });

      process.env[checker.SAMPLE_ENV] = "20%";
      await assert.rejects(new plugin.injectableClass().init(), {
        message:
          "BITBUCKET_IAC_MUTATION_SAMPLE must be <fraction>:<seed>, e.g. 0.2:1 (npm run test:mutation sets it)",
      });
    } finally {
      if (saved === undefined) delete process.env[checker.SAMPLE_ENV];
      else process.env[checker.SAMPLE_ENV] = saved;
    }
  });
});
