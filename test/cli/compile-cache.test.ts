// The command line keeps what Node compiles for it (compile-cache.ts): its second start loads
// from Node's compile cache, in Node's own place for it (the temporary directory, unless
// NODE_COMPILE_CACHE says otherwise), and NODE_DISABLE_COMPILE_CACHE=1 turns that off.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../hooks";

const CLI = path.join(__dirname, "../../dist/provider/cli/main.js");

/** `bitbucket-iac --version` with TMPDIR `tmp` and no NODE_COMPILE_CACHE; `env` adds. */
function version(tmp: string, env: Record<string, string> = {}): string {
  const { NODE_COMPILE_CACHE: _, ...rest } = process.env;
  const r = spawnSync(process.execPath, [CLI, "--version"], {
    env: { ...rest, TMPDIR: tmp, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** The files of Node's compile cache under `tmp`. */
const cached = (tmp: string): string[] => {
  const dir = path.join(tmp, "node-compile-cache");
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) : [];
};

describe("the command line's compile cache", function () {
  this.timeout(60_000);

  it("is written in the temporary directory on the first start, as Node places it", () => {
    const tmp = tempDir("bbiac-ncc-");
    assert.match(version(tmp), /^\d+\.\d+\.\d+/);
    assert.ok(cached(tmp).length > 1, "compiled code kept under node-compile-cache");
  });

  it("is not written with NODE_DISABLE_COMPILE_CACHE=1", () => {
    const tmp = tempDir("bbiac-ncc-");
    assert.match(version(tmp, { NODE_DISABLE_COMPILE_CACHE: "1" }), /^\d+\.\d+\.\d+/);
    assert.deepEqual(cached(tmp), []);
  });
});
