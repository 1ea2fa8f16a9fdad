// A dynamic-provider host the harness starts (with test/harness/host-new-run.js preloaded, as
// Harness.start does) exits when the process that started it is killed, instead of running on.

import * as assert from "node:assert/strict";
import { spawn } from "child_process";
import * as path from "path";
import { running } from "./processes";

const HOST = path.join(
  path.dirname(require.resolve("@pulumi/pulumi/package.json")),
  "cmd",
  "dynamic-provider",
);
const NEW_RUN = path.join(__dirname, "host-new-run.js");

/** A parent process that starts a host as the harness does, prints its pid and waits. */
const PARENT = `
const { spawn } = require("child_process");
const host = spawn(process.execPath, [${JSON.stringify(HOST)}, "127.0.0.1:0"], {
  env: { PATH: process.env.PATH, NODE_OPTIONS: ${JSON.stringify(`--require "${NEW_RUN}"`)} },
  stdio: ["ignore", "pipe", "ignore"],
});
host.stdout.once("data", () => console.log(host.pid));
setInterval(() => {}, 1000);
`;

describe("a harness host whose parent is killed", function () {
  this.timeout(30_000);

  it("exits within seconds", async () => {
    const parent = spawn(process.execPath, ["-e", PARENT], { stdio: ["ignore", "pipe", "ignore"] });
    const pid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the host did not start in 15 s")), 15_000);
      parent.stdout.once("data", (d: Buffer) => (clearTimeout(timer), resolve(Number(String(d).trim()))));
    });
    assert.ok(running(pid), "the host runs while its parent does");
    parent.kill("SIGKILL");
    let up = true;
    for (let i = 0; i < 50 && up; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = running(pid);
    }
    if (up) process.kill(pid, "SIGKILL");
    assert.equal(up, false, "the orphaned host exited within 5 s");
  });
});
