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
    assert.deepEqual(limiter.stats(), { active: 2, queued: 2 });
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
    assert.deepEqual(limiter.stats(), { active: 0, queued: 0 });
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
    limiter.pause(30);
    now = 1000; // the pause is measured from the injected clock: 30 ms left
    const t0 = Date.now();
    await limiter.run(async () => undefined);
    assert.ok(Date.now() - t0 >= 25, "waited for the pause");
    now = 2000;
    const t1 = Date.now();
    await limiter.run(async () => undefined);
    assert.ok(Date.now() - t1 < 25, "no wait once the pause is over");
  });

  it("is one instance per process, shared through globalThis", () => {
    assert.equal(sharedLimiter(3), sharedLimiter(3));
    assert.equal(sharedLimiter(3).max, 3);
  });
});
