import * as assert from "node:assert/strict";
import { createLimiter, sharedLimiter } from "../../provider/api/limiter";

const tick = () => new Promise((r) => setImmediate(r));

describe("limiter", () => {
  it("runs at most `max` tasks at once and the rest in arrival order", async () => {
    const limiter = createLimiter(2);
    const started: number[] = [];
    const release: Array<() => void> = [];
    const tasks = [0, 1, 2, 3].map((i) =>
      limiter.run(async () => {
        started.push(i);
        await new Promise<void>((r) => (release[i] = r));
        return i;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(limiter.stats(), { active: 2, queued: 2, limit: 2, pausesInARow: 0 });
    release[1]!();
    await tick();
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    release[0]!();
    release[2]!();
    await tick();
    await tick();
    release[3]!();
    assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3]);
    assert.deepEqual(limiter.stats(), { active: 0, queued: 0, limit: 2, pausesInARow: 0 });
  });

  it("frees the slot when a task throws", async () => {
    const limiter = createLimiter(1);
    await assert.rejects(
      limiter.run(async () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(await limiter.run(async () => "next"), "next");
  });

  it("holds back new tasks while paused", async () => {
    let now = 1000;
    const limiter = createLimiter(4, () => now);
    limiter.rateLimited(30);
    now = 1000; // the pause is measured from the injected clock: 30 ms left
    const t0 = Date.now();
    await limiter.run(async () => undefined);
    assert.ok(Date.now() - t0 >= 25, "waited for the pause");
    now = 2000;
    const t1 = Date.now();
    await limiter.run(async () => undefined);
    assert.ok(Date.now() - t1 < 25, "no wait once the pause is over");
  });

  it("halves the concurrency once per rate-limit pause, and adds one back after 2 x limit successes", async () => {
    let now = 0;
    const limiter = createLimiter(8, () => now);
    assert.equal(limiter.rateLimited(10), true, "a new pause");
    assert.equal(limiter.rateLimited(10), false, "the same burst's other 429s");
    assert.equal(limiter.stats().limit, 4);
    now = 20;
    assert.equal(limiter.rateLimited(10), true);
    assert.equal(limiter.stats().limit, 2);
    now = 40;
    limiter.rateLimited(10);
    limiter.rateLimited(10);
    now = 60;
    limiter.rateLimited(10);
    assert.equal(limiter.stats().limit, 1, "never below one");
    assert.equal(limiter.stats().pausesInARow, 4, "pauses since a success (the backoff grows with them)");
    now = 100;
    const raise = (n: number) => Array.from({ length: n }, () => limiter.succeeded());
    raise(1);
    assert.equal(limiter.stats().limit, 1, "one success is not yet a run of 2");
    assert.equal(limiter.stats().pausesInARow, 0, "a success ends the run of pauses");
    raise(1);
    assert.equal(limiter.stats().limit, 2);
    raise(3);
    assert.equal(limiter.stats().limit, 2, "3 of the 4 needed at limit 2");
    limiter.rateLimited(0); // a 429 breaks the run: halves (2 -> 1) and starts counting anew
    assert.equal(limiter.stats().limit, 1);
    raise(2 + 4 + 6 + 8 + 10 + 12 + 14 + 100);
    assert.equal(limiter.stats().limit, 8, "back to the configured maximum, not beyond");
  });

  it("lets queued tasks start when the concurrency goes back up", async () => {
    const limiter = createLimiter(2);
    limiter.rateLimited(0); // limit 1
    const release: Array<() => void> = [];
    const started: number[] = [];
    const tasks = [0, 1, 2].map((i) =>
      limiter.run(async () => {
        started.push(i);
        await new Promise<void>((r) => (release[i] = r));
      }),
    );
    await tick();
    assert.deepEqual(started, [0]);
    limiter.succeeded();
    limiter.succeeded(); // 2 x 1 successes: limit 2, one more starts now
    await tick();
    assert.deepEqual(started, [0, 1]);
    release[0]!();
    await tick();
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    release[1]!();
    release[2]!();
    await Promise.all(tasks);
  });

  it("is one instance per process, shared through globalThis", () => {
    assert.equal(sharedLimiter(3), sharedLimiter(3));
    assert.equal(sharedLimiter(3).max, 3);
  });
});
