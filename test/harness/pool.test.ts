// The fixture pool (pool.ts): what a test put back is taken by the next test asking for the same
// key, in this file or a later one; after a file, what only that file could use is stopped, and
// of the rest only the most recently put back are kept.

import * as assert from "node:assert/strict";
import { endAll, endFile, keep, take, type Pooled } from "./pool";

const ended: string[] = [];
const fake = (name: string): Pooled & { name: string } => ({
  name,
  end: async () => void ended.push(name),
});

describe("the fixture pool", () => {
  beforeEach(async () => {
    await endAll();
    ended.length = 0;
  });
  after(endAll);

  it("gives back what was kept under the same key, the most recent first, and nothing under another", () => {
    keep("cloud", fake("a"), true);
    keep("cloud", fake("b"), true);
    keep("datacenter", fake("c"), true);
    assert.equal(take<ReturnType<typeof fake>>("cloud")?.name, "b");
    assert.equal(take<ReturnType<typeof fake>>("cloud")?.name, "a");
    assert.equal(take("cloud"), undefined);
    assert.equal(take("other"), undefined);
  });

  it("after a file, stops what only that file could use and all but the 4 most recently kept", async () => {
    keep("in-its-directory", fake("file-only"), false);
    for (const name of ["1", "2", "3", "4", "5", "6"]) keep(`k${name}`, fake(name), true);
    await endFile();
    assert.deepEqual(ended.sort(), ["1", "2", "file-only"]);
    assert.equal(take("in-its-directory"), undefined);
    assert.equal(take<ReturnType<typeof fake>>("k6")?.name, "6", "kept for the next file");
    await endAll();
    assert.deepEqual(ended.sort(), ["1", "2", "3", "4", "5", "file-only"]);
  });
});
