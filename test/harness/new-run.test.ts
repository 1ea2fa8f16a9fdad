// The engine harness's new runs (host-new-run.js): a run started with an environment (the next
// `pulumi up` with a moved clock) is seen by the provider, and a host kept for the next test
// (test/harness/pool.ts) has that test's options' environment: a moved clock never reaches it.
// What shows the host's clock: whether refresh finds a 30-day access token due for renewal.

import * as assert from "node:assert/strict";
import { DC_SEED, dcFixture, type Fixture } from "./fixture";

const DAY = 86_400_000;
const T0 = Date.parse("2026-03-02T09:00:00.000Z");
const clockAt = (day: number) => ({ BITBUCKET_IAC_NOW: new Date(T0 + day * DAY).toISOString() });

describe("the engine harness's new runs", function () {
  this.timeout(30_000);
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  /** Whether the host, refreshing a 30-day token made now by Bitbucket's clock, finds it due for renewal. */
  async function renewDue(fx: Fixture, name = "t"): Promise<boolean> {
    const made = await fx.harness.up("AccessToken", {
      project: "PROJ",
      name,
      permissions: ["REPO_READ"],
      expiryDays: 30,
    });
    return (await fx.harness.read("AccessToken", made.id, made.outs)).props.renewDue === true;
  }

  it("give the provider the environment a run starts with, and the options' again when the host is kept for the next test", async () => {
    f = await dcFixture(DC_SEED, { env: clockAt(0) });
    f.emulator.store.now = () => T0;
    const pid = f.harness.pid;
    assert.equal(await renewDue(f), false, "day 0");
    await f.harness.newRun(clockAt(24));
    f.emulator.store.now = () => T0;
    assert.equal(await renewDue(f, "t2"), true, "day 24: within 7 days of its expiry");
    await f.close();

    f = await dcFixture(DC_SEED, { env: clockAt(0) });
    f.emulator.store.now = () => T0;
    assert.equal(f.harness.pid, pid, "the same host, kept for the next test");
    assert.equal(await renewDue(f), false, "day 0 again, as the options say");
  });

  it("unset a variable the options did not have when the host is kept", async () => {
    f = await dcFixture(DC_SEED);
    const pid = f.harness.pid;
    await f.harness.newRun(clockAt(400));
    assert.equal(
      await renewDue(f),
      true,
      "a year after the system's now, a token of today's is past its expiry",
    );
    await f.close();

    f = await dcFixture(DC_SEED);
    assert.equal(f.harness.pid, pid, "the same host, kept for the next test");
    assert.equal(await renewDue(f), false, "the system's clock again");
  });

  it("give a kept host to a test whose options set another environment, which its new run has", async () => {
    f = await dcFixture(DC_SEED, { env: clockAt(0) });
    const pid = f.harness.pid;
    await f.close();

    f = await dcFixture(DC_SEED, { env: clockAt(24) });
    f.emulator.store.now = () => T0;
    assert.equal(f.harness.pid, pid, "the same host, kept for the next test");
    assert.equal(await renewDue(f), true, "day 24, as this test's options say");
  });

  it("wait, after a restart, for the new process's answer, not the old one's line", async () => {
    f = await dcFixture(DC_SEED);
    // A process that answered its first new run, then a new process: its first is asked next.
    await f.harness.restart();
    await f.harness.newRun();
    await f.harness.restart();
    const pid = f.harness.pid!;
    process.kill(pid, "SIGSTOP");
    let answered = false;
    const run = f.harness.newRun(clockAt(24)).then(() => (answered = true));
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(answered, false, "answered while the new host was stopped");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await run;
    f.emulator.store.now = () => T0;
    assert.equal(await renewDue(f), true, "the run's clock, set before it answered");
  });
});
