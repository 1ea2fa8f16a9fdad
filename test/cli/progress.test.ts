import * as assert from "node:assert/strict";
import { progress } from "../../provider/cli/progress";

const stream = (isTTY: boolean) => {
  const written: string[] = [];
  return { isTTY, written, write: (s: string) => written.push(s) };
};

describe("progress of long runs", () => {
  it("rewrites one line in place on a terminal, and clears it when done", () => {
    const s = stream(true);
    const p = progress("plan: resources read", 3, s);
    p.tick();
    p.tick();
    p.tick();
    p.done();
    assert.deepEqual(s.written, [
      "\rplan: resources read: 1/3",
      "\rplan: resources read: 2/3",
      "\rplan: resources read: 3/3",
      `\r${" ".repeat("plan: resources read: 3/3".length)}\r`,
    ]);
  });

  it("prints a plain line at each tenth elsewhere, and nothing for short runs", () => {
    const long = stream(false);
    const p = progress("export: repositories read", 25, long);
    for (let i = 0; i < 25; i++) p.tick();
    p.done();
    assert.deepEqual(long.written, [
      "export: repositories read: 3/25\n",
      "export: repositories read: 5/25\n",
      "export: repositories read: 8/25\n",
      "export: repositories read: 10/25\n",
      "export: repositories read: 13/25\n",
      "export: repositories read: 15/25\n",
      "export: repositories read: 18/25\n",
      "export: repositories read: 20/25\n",
      "export: repositories read: 23/25\n",
      "export: repositories read: 25/25\n",
    ]);
    const short = stream(false);
    const q = progress("plan: resources read", 7, short);
    for (let i = 0; i < 7; i++) q.tick();
    assert.deepEqual(short.written, []);
  });
});
