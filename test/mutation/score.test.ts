import * as assert from "node:assert/strict";
import {
  interval,
  NOT_SAMPLED,
  score,
  survivors,
  tallies,
  verdictLine,
  type Report,
  type ReportMutant,
} from "./score";

let next = 0;
const mutant = (status: string, line = 1, over: Partial<ReportMutant> = {}): ReportMutant => ({
  id: String(next++),
  mutatorName: "EqualityOperator",
  replacement: "a === b",
  status,
  location: { start: { line, column: 5 } },
  ...over,
});

describe("mutation scores (npm run test:mutation)", () => {
  const report: Report = {
    files: {
      "provider/api/retry.ts": {
        mutants: [mutant("Killed"), mutant("Killed"), mutant("Timeout"), mutant("Survived", 40)],
      },
      "provider/api/client.ts": {
        mutants: [
          mutant("Killed"),
          mutant("NoCoverage", 12, { mutatorName: "BlockStatement", replacement: "{\n  }" }),
          mutant("CompileError"),
          mutant("RuntimeError"),
          mutant("Ignored"),
        ],
      },
    },
  };

  it("counts timeouts as detected and leaves errors and ignored mutants out, as Stryker does", () => {
    const { total, files } = tallies(report);
    assert.deepEqual(total, { killed: 3, timeout: 1, survived: 1, noCoverage: 1, invalid: 2, notSampled: 0 });
    assert.equal(score(total).toFixed(2), "66.67"); // 4 detected of 6 valid
    assert.deepEqual(
      files.map((f) => [f.file, score(f.tally).toFixed(1)]),
      [
        ["provider/api/client.ts", "50.0"],
        ["provider/api/retry.ts", "75.0"],
      ],
    );
  });

  it("says a module below its floor is below, by how much, and one at its floor holds", () => {
    const { total } = tallies(report);
    const below = verdictLine("api", total, 80);
    assert.equal(below.holds, false);
    assert.equal(
      below.line,
      "api: 66.7% (3 killed, 1 timed out, 1 survived, 1 not reached); floor 80%: BELOW by 13.3 points",
    );
    const at = verdictLine(
      "api",
      { killed: 4, timeout: 0, survived: 1, noCoverage: 0, invalid: 0, notSampled: 0 },
      80,
    );
    assert.deepEqual([at.holds, at.line.endsWith("floor 80%: holds")], [true, true]);
  });

  it("lists each survivor where it is, with the mutation, and marks the ones no test reaches", () => {
    assert.deepEqual(survivors(report), [
      "provider/api/client.ts:12:5 BlockStatement (no test reaches it): { }",
      "provider/api/retry.ts:40:5 EqualityOperator: a === b",
    ]);
  });

  it("scores a sampled run on its sample only, and gives the 95% interval of the whole module's score", () => {
    const left = (n: number) =>
      Array.from({ length: n }, () =>
        mutant("CompileError", 1, { statusReason: `${NOT_SAMPLED} (0.2 of the mutants, seed 1)` }),
      );
    const sampled: Report = {
      files: {
        "provider/resources/webhook.ts": {
          mutants: [
            ...Array.from({ length: 40 }, () => mutant("Killed")),
            ...Array.from({ length: 10 }, () => mutant("Survived")),
            ...left(200),
            mutant("CompileError"),
          ],
        },
      },
    };
    const { total } = tallies(sampled);
    assert.deepEqual([total.notSampled, total.invalid], [200, 1], "a real compile error is still one");
    assert.equal(
      verdictLine("resources/webhook", total, 80).line,
      "resources/webhook: 80.0% (40 killed, 0 timed out, 10 survived, 0 not reached, a sample of 50 of 250 mutants: 95% interval 67-89%); floor 80%: holds",
    );
    // Wilson's interval stays inside 0-100 and is not empty when every sampled mutant is killed.
    const all = interval({ killed: 20, timeout: 0, survived: 0, noCoverage: 0, invalid: 0, notSampled: 80 });
    assert.deepEqual([all.low.toFixed(1), all.high], ["83.9", 100]);
    // A whole run's line does not speak of a sample.
    assert.doesNotMatch(verdictLine("api", tallies(report).total, 80).line, /sample|interval/);
  });
});
