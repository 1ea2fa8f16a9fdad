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
    assert.deepEqual(HostMutation.forNewHost()?.env(), { __STRYKER_ACTIVE_MUTANT__: "42" });
  });

  it("in the dry run, credits what the host reached to every test that sent it a request", async function () {
    this.timeout(20_000);
    const ns: Namespace = { currentTestId: "Webhook creates" };
    g.__stryker__ = ns;
    const bridge = HostMutation.forNewHost()!;
    const env = bridge.env();
    assert.match(env.NODE_OPTIONS ?? "", /--require ".*test\/mutation\/host-coverage\.js"/);
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
