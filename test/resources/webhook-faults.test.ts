import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";

const hook = (over: Props = {}): Props => ({
  workspace: "acme",
  repository: "api",
  url: "https://hooks.example.test/a",
  events: ["repo:push"],
  secret: "s3cret",
  ...over,
});
const HOOKS = "/2.0/repositories/acme/api/hooks";

describe("Webhook under faults", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const onlyHook = () => {
    const all = f.emulator.store.allHooks();
    assert.equal(all.length, 1, "exactly one hook in Bitbucket");
    return all[0]!;
  };

  it("waits out a 429 burst on the POST, honouring Retry-After, and creates one hook", async () => {
    const slow = await fixture(undefined, { env: { BITBUCKET_RETRY_MAX_DELAY_MS: "5000" } });
    try {
      slow.emulator.fault({
        method: "POST",
        path: HOOKS,
        status: 429,
        headers: { "Retry-After": "1" },
        times: 2,
      });
      const { outs } = await slow.harness.up("Webhook", hook());
      const posts = slow.emulator.entries().filter((e) => e.method === "POST");
      assert.deepEqual(
        posts.map((p) => p.status),
        [429, 429, 201],
      );
      assert.ok(posts[1]!.at - posts[0]!.at >= 900, "the retry waited for Retry-After: 1");
      assert.equal(slow.emulator.store.allHooks().length, 1);
      assert.equal(outs.uuid, slow.emulator.store.allHooks()[0]?.uuid);
    } finally {
      await slow.close();
    }
  });

  it("backs off on a 429 burst without Retry-After and creates one hook", async () => {
    f.emulator.fault({ path: HOOKS, status: 429, times: 3 });
    const { outs } = await f.harness.up("Webhook", hook());
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.status}`),
      ["GET 429", "GET 429", "GET 429", "GET 200", "POST 201"],
    );
    assert.equal(onlyHook().uuid, outs.uuid);
  });

  it("retries 502 and 503 on GET, PUT and DELETE", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    await f.harness.newRun(); // a later run: its reads list the hooks afresh
    f.emulator.resetLog();
    f.emulator.fault({ method: "GET", status: 502 });
    f.emulator.fault({ method: "GET", status: 503 });
    assert.equal((await f.harness.read("Webhook", id, outs)).id, id);
    const diff = await f.harness.plan("Webhook", id, outs, hook({ events: ["repo:push", "repo:updated"] }));
    f.emulator.fault({ method: "PUT", status: 503, times: 2 });
    const { outs: after } = await f.harness.update("Webhook", id, outs, diff.inputs);
    assert.deepEqual(onlyHook().events, ["repo:push", "repo:updated"]);
    await f.harness.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    f.emulator.fault({ method: "DELETE", status: 502 });
    await f.harness.delete("Webhook", id, after);
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.status}`),
      ["GET 502", "GET 503", "GET 200", "PUT 503", "PUT 503", "PUT 200", "DELETE 502", "DELETE 204"],
    );
    assert.equal(f.emulator.store.allHooks().length, 0);
  });

  it("retries a GET whose connection was reset, and one that timed out", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    await f.harness.newRun(); // a later run: its reads list the hooks afresh
    f.emulator.resetLog();
    f.emulator.fault({ method: "GET", reset: true });
    f.emulator.fault({ method: "GET", delayMs: 2500 }); // past BITBUCKET_TIMEOUT_MS=2000
    const read = await f.harness.read("Webhook", id, outs);
    assert.equal(read.props.uuid, outs.uuid);
    assert.equal(f.emulator.log().length, 3);
  });

  it("adopts the hook when the POST was committed but its answer was a 500", async () => {
    f.emulator.fault({ method: "POST", status: 500, commitThenFail: true });
    const { id, outs } = await f.harness.up("Webhook", hook());
    assert.deepEqual(f.emulator.log(), [
      `GET ${HOOKS}`,
      `POST ${HOOKS}`,
      `GET ${HOOKS}`,
      `PUT ${HOOKS}/${encodeURIComponent(String(outs.uuid))}`,
    ]);
    const stored = onlyHook();
    assert.equal(id, `acme/api/${stored.uuid}`);
    assert.equal(stored.secret, "s3cret");
    assert.equal(outs.secretSet, true);
  });

  it("adopts the hook when the connection dropped after the POST was committed", async () => {
    f.emulator.fault({ method: "POST", reset: true, commitThenFail: true });
    const { outs } = await f.harness.up("Webhook", hook());
    assert.equal(
      f.emulator.log().filter((l) => l.startsWith("POST")).length,
      1,
      "the POST is never repeated",
    );
    assert.equal(onlyHook().uuid, outs.uuid);
  });

  it("never repeats a failed POST: a 503 that created nothing fails, and the next run creates the hook", async () => {
    f.emulator.fault({ method: "POST", status: 503 });
    await assert.rejects(
      f.harness.up("Webhook", hook()),
      /create webhook https:\/\/hooks\.example\.test\/a on acme\/api: POST \/repositories\/acme\/api\/hooks failed \(503\): Something went wrong/,
    );
    assert.equal(f.emulator.log().filter((l) => l.startsWith("POST")).length, 1);
    assert.equal(f.emulator.store.allHooks().length, 0);
    await f.harness.up("Webhook", hook());
    onlyHook();
  });

  it("records the hook in state when it was created but setting it up failed", async () => {
    f.emulator.fault({ method: "POST", status: 500, commitThenFail: true });
    f.emulator.fault({
      method: "PUT",
      status: 400,
      body: { type: "error", error: { message: "Bad request", fields: { url: ["Enter a valid URL."] } } },
    });
    const err = await f.harness.up("Webhook", hook()).then(
      () => assert.fail("expected a failure"),
      (e: { message: string; id?: string; properties?: Props }) => e,
    );
    const stored = onlyHook();
    assert.equal(err.id, `acme/api/${stored.uuid}`, "the engine is told the id, so nothing is orphaned");
    assert.equal(err.properties?.uuid, stored.uuid);
    assert.match(
      err.message,
      /adopting existing hook .*PUT .* failed \(400\): Bad request - url: Enter a valid URL\./,
    );
    assert.ok(!err.message.includes("s3cret"));
  });
});
