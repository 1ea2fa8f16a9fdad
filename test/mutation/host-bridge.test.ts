import * as assert from "node:assert/strict";
import { spawn } from "child_process";
import { HostMutation, settleHostCoverage } from "../harness/mutation";

// A stand-in for the dynamic-provider host: a process whose instrumented code has reached some
// mutants (as Stryker's counters record them) and that waits to be killed, as the host does.
const REACHED = `globalThis.__stryker__ = { mutantCoverage: { static: { "7": 2 }, perTest: { x: { "9": 1 } } } };
process.stdout.write("ready\\n"); setInterval(() => {}, 1000);`;

type Namespace = { activeMutant?: string; currentTestId?: string; mutantCoverage?: unknown };
const g = globalThis as { __stryker__?: Namespace };

describe("the host under mutation testing (test/harness/mutation.ts)", () => {
  afterEach(() => delete g.__stryker__);

  it("is off outside Stryker: the host's environment gets nothing", () => {
    assert.equal(HostMutation.forNewHost(), undefined);
  });

  it("tells a host the mutant Stryker switched on", () => {
    g.__stryker__ = { activeMutant: "42" };
    const env = HostMutation.forNewHost()?.env();
    assert.equal(env?.__STRYKER_ACTIVE_MUTANT__, "42");
    assert.equal(env?.BITBUCKET_IAC_HOST_COVERAGE, undefined, "coverage is only gathered in the dry run");
  });

  it("ends a host whose test process is gone, as when Stryker kills a worker stuck on a mutant", async function () {
    this.timeout(20_000);
    g.__stryker__ = { activeMutant: "42" };
    const env = HostMutation.forNewHost()!.env();
    // A stand-in worker: starts a host that would run forever, prints its pid and exits.
    const worker = spawn(
      process.execPath,
      [
        "-e",
        `const env = { ...process.env, BITBUCKET_IAC_HOST_PARENT: String(process.pid) }; // as the harness sets it
         const h = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore", env });
         process.stdout.write(h.pid + "\\n"); h.unref(); process.exit(0);`,
      ],
      { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    worker.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => worker.once("exit", resolve));
    const pid = Number(out.trim());
    assert.ok(pid > 0, `the worker printed the host's pid: ${out}`);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    const still = alive();
    if (still) process.kill(pid, "SIGKILL");
    assert.equal(still, false, "the orphaned host ended within 5 s");
  });

  it("in the dry run, credits what the host reached to every test that sent it a request", async function () {
    this.timeout(20_000);
    const ns: Namespace = { currentTestId: "Webhook creates" };
    g.__stryker__ = ns;
    const bridge = HostMutation.forNewHost()!;
    const env = bridge.env();
    assert.match(env.NODE_OPTIONS ?? "", /--require ".*test\/mutation\/host-preload\.js"/);
    const host = spawn(process.execPath, ["-e", REACHED], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => host.stdout.once("data", resolve));
    bridge.request();
    ns.currentTestId = "Webhook updates";
    bridge.request();
    ns.currentTestId = "Webhook deletes"; // sends nothing to this host: not credited
    bridge.closing(host);
    host.kill();
    await settleHostCoverage();
    assert.deepEqual(ns.mutantCoverage, {
      static: {},
      perTest: { "Webhook creates": { "7": 2, "9": 1 }, "Webhook updates": { "7": 2, "9": 1 } },
    });
  });
});
