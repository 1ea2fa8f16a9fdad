// test/hooks.ts gives each run its own TMPDIR and fails a file that leaves anything there but
// tempDir()'s directories. Each case runs mocha, as `npm test` does, on one small test file.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { tempDir } from "../hooks";

const ROOT = path.resolve(__dirname, "../..");
const MOCHA = path.join(ROOT, "node_modules/mocha/bin/mocha.js");
const HOOKS = path.join(ROOT, "test/hooks.ts");

/** Runs mocha from the repository (its .mocharc.json: ts-node, test/hooks.ts) on a test file of `body`. */
function mochaOn(body: string): { code: number | null; out: string } {
  const file = path.join(tempDir("bbiac-guard-"), "case.test.js");
  fs.writeFileSync(
    file,
    `const fs = require("fs"); const os = require("os"); const path = require("path");
const { tempDir } = require(${JSON.stringify(HOOKS)});
it("writes under the temporary directory", () => { ${body} });
`,
  );
  const r = spawnSync(process.execPath, [MOCHA, file], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("a test file that leaves something in the temporary directory", function () {
  this.timeout(120_000);

  it("fails the run, naming what it left, and it is removed", () => {
    const r = mochaOn(
      `fs.mkdtempSync(path.join(os.tmpdir(), "leak-")); fs.writeFileSync(path.join(os.tmpdir(), "note.txt"), "x");`,
    );
    assert.notEqual(r.code, 0, r.out);
    const runDirs = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("bbiac-run-"));
    assert.deepEqual(runDirs, [], "the run's temporary directory went with it");
    assert.match(
      r.out,
      /left in the temporary directory: leak-\w{6}, note\.txt; make directories with tempDir\(\) \(test\/hooks\.ts\), which removes them, or remove what the test writes/,
    );
  });

  it("passes when it wrote only in tempDir()'s directories, or removed what it wrote", () => {
    const r = mochaOn(
      `fs.writeFileSync(path.join(tempDir("kept-"), "f"), "x"); const d = fs.mkdtempSync(path.join(os.tmpdir(), "own-")); fs.rmSync(d, { recursive: true });`,
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /1 passing/);
  });
});
