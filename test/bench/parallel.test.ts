// The engine harness's `parallel` (as `pulumi up --parallel`), which `BENCH_PARALLEL` sets in the
// scale bench: no more than that many steps run at once, the rest start in the order they came,
// and each starts as soon as a place is free.

import * as assert from "node:assert/strict";
import { gate } from "../harness/deploy";

describe("the engine harness's parallel bound (gate)", () => {
  it("runs at most `max` at once and starts the rest in the order they came", async () => {
    const run = gate(2);
    const started: number[] = [];
    const finish: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const results = Array.from({ length: 5 }, (_, i) =>
      run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => (finish[i] = resolve));
        running--;
        return i * 10;
      }),
    );
    const tick = () => new Promise((r) => setImmediate(r));
    await tick();
    assert.deepEqual(started, [0, 1], "two places: the first two start");
    finish[1]!();
    await tick();
    assert.deepEqual(started, [0, 1, 2], "a place freed goes to the first waiting");
    finish[0]!();
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3]);
    finish[2]!();
    finish[3]!();
    await tick();
    finish[4]!();
    assert.deepEqual(await Promise.all(results), [0, 10, 20, 30, 40]);
    assert.equal(most, 2);
  });

  it("frees a place when a step fails", async () => {
    const run = gate(1);
    await assert.rejects(
      run(() => Promise.reject(new Error("create failed"))),
      /create failed/,
    );
    assert.equal(await run(async () => "next"), "next");
  });
});
