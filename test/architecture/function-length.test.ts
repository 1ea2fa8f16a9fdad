import * as assert from "node:assert/strict";
import * as path from "node:path";
import { describeLength, functionLengths, tsFilesUnder } from "./measure";

const ROOT = path.resolve(__dirname, "../..");

/** A function longer than this no longer reads top-down on one screen (#20). */
const MAX_FUNCTION_LINES = 80;

describe("function length", () => {
  const lengths = functionLengths(tsFilesUnder(ROOT, "provider"), ROOT);

  it(`keeps every function under provider/ within ${MAX_FUNCTION_LINES} lines`, () => {
    const offenders = lengths.filter((f) => f.lines > MAX_FUNCTION_LINES).map(describeLength);
    assert.deepEqual(
      offenders,
      [],
      `functions longer than ${MAX_FUNCTION_LINES} lines:\n${offenders.join("\n")}`,
    );
  });

  it("measures each function with a body from its first line to its last, closures counting toward both", () => {
    const measured = functionLengths(["test/architecture/fixtures/lengths.ts"], ROOT).map(describeLength);
    assert.deepEqual(measured, [
      "test/architecture/fixtures/lengths.ts:2 outer (9 lines)",
      "test/architecture/fixtures/lengths.ts:14 Shelf.count (6 lines)",
      "test/architecture/fixtures/lengths.ts:4 inner (4 lines)",
      "test/architecture/fixtures/lengths.ts:15 <anonymous> (3 lines)",
      "test/architecture/fixtures/lengths.ts:13 Shelf.constructor (1 lines)",
    ]);
  });
});
