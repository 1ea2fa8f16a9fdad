// What the fixture pool (pool.ts, fixture.ts) gives a later test: the host a test of an earlier
// file closed, unless that host ran in the earlier file's own directory (ended with the file), or
// its process is gone (a new one, at once, where waiting for its answer took 10 s).

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../hooks";
import { fixture } from "./fixture";
import { running } from "./processes";

const ROOT = path.resolve(__dirname, "../..");
const MOCHA = path.join(ROOT, "node_modules/mocha/bin/mocha.js");
const FIXTURE = path.join(__dirname, "fixture.ts");
const HOOKS = path.join(ROOT, "test/hooks.ts");

describe("the fixture pool across files and dead hosts", function () {
  this.timeout(120_000);

  it("gives a later file of the same process the host an earlier file closed, but not one that ran in that file's directory", () => {
    const dir = tempDir("bbiac-pool-");
    const head = `const { fixture } = require(${JSON.stringify(FIXTURE)});
const { tempDir } = require(${JSON.stringify(HOOKS)});
const running = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
`;
    fs.writeFileSync(
      path.join(dir, "a.test.js"),
      `${head}describe("a", () => it("closes a host, and one in its own directory", async () => {
  const f = await fixture(); const d = await fixture(undefined, { cwd: tempDir("pool-cwd-") });
  console.log("first " + f.harness.pid); process.env.POOL_CWD_PID = String(d.harness.pid);
  await d.close(); await f.close();
}));
`,
    );
    fs.writeFileSync(
      path.join(dir, "b.test.js"),
      `${head}describe("b", () => it("gets a host", async () => {
  const f = await fixture(); console.log("second " + f.harness.pid);
  // Stopped (SIGTERM) as the first file ended: gone once this process has reaped it, within 5 s.
  const pid = Number(process.env.POOL_CWD_PID);
  for (let i = 0; i < 100 && running(pid); i++) await new Promise((r) => setTimeout(r, 50));
  console.log("directory's host running: " + running(pid));
  await f.close();
}));
`,
    );
    const r = spawnSync(process.execPath, [MOCHA, path.join(dir, "a.test.js"), path.join(dir, "b.test.js")], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 90_000,
    });
    const out = r.stdout + r.stderr;
    assert.equal(r.status, 0, out);
    const first = /^first (\d+)$/m.exec(out)?.[1];
    assert.ok(first, out);
    assert.match(out, new RegExp(`^second ${first}$`, "m"), "the second file has the first file's host");
    assert.match(
      out,
      /^directory's host running: false$/m,
      "the host in the first file's directory ended with it",
    );
  });

  it("starts a new host at once for a test whose kept host was killed while it waited", async () => {
    const f = await fixture();
    const pid = f.harness.pid!;
    await f.close();
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 50 && running(pid); i++) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    const g = await fixture();
    try {
      assert.notEqual(g.harness.pid, pid);
      assert.ok(Date.now() - started < 8_000, `${Date.now() - started} ms`);
      const hook = await g.harness.up("Webhook", {
        workspace: "acme",
        repository: "api",
        url: "https://hooks.example.test/after-a-dead-host",
        events: ["repo:push"],
      });
      assert.ok(hook.id);
    } finally {
      await g.close();
    }
  });
});
