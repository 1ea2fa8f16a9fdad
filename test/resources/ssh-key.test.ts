import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import { ed25519, rsa } from "../keys";
import { ME } from "../emulator/store";

describe("SshKey", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const key = ed25519("deploy@puppet");
  const me = () => f.emulator.store.account(ME.account_id)!;
  const keysPath = () => `/2.0/users/${encodeURIComponent(me().uuid)}/ssh-keys`;

  it("adds the key to the authenticated user when no user is given", async () => {
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine, label: "puppet" });
    assert.deepEqual(f.emulator.log(), ["GET /2.0/user", `GET ${keysPath()}`, `POST ${keysPath()}`]);
    assert.equal(outs.owner, me().uuid);
    assert.equal(outs.ownerAccountId, ME.account_id);
    assert.equal(id, `${me().uuid}/${outs.keyUuid}`);
    assert.equal(outs.comment, "deploy@puppet");
    assert.equal(me().sshKeys[0]?.key, key.normalized);
  });

  it("asks who the credentials belong to once per process, however many keys it adds", async () => {
    await f.harness.up("SshKey", { key: key.publicLine });
    await f.harness.up("SshKey", { key: rsa().publicLine });
    await f.harness.up("SshKey", { key: ed25519().publicLine });
    assert.equal(f.emulator.log().filter((l) => l === "GET /2.0/user").length, 1);
    assert.equal(me().sshKeys.length, 3);
  });

  it("uses the user given, by account_id, and a second pass reports no change", async () => {
    const { id, outs } = await f.harness.up("SshKey", { user: ME.account_id, key: key.publicLine });
    assert.deepEqual(f.emulator.log().slice(0, 1), [
      `GET /2.0/users/${encodeURIComponent(ME.account_id)}/ssh-keys`,
    ]);
    f.emulator.resetLog();
    for (const raw of [
      { user: ME.account_id, key: key.publicLine },
      { user: me().uuid, key: `${key.normalized}  other-comment` },
      { key: key.publicLine },
    ]) {
      const d = await f.harness.plan("SshKey", id, outs, raw);
      assert.deepEqual([d.changes, d.replaces], [false, []], JSON.stringify(raw));
    }
    assert.deepEqual(f.emulator.log(), []);
  });

  it("updates the label in place and replaces on new key material or another user", async () => {
    const other = f.emulator.store.addAccount("557058:other", "other");
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine, label: "a" });
    const d = await f.harness.plan("SshKey", id, outs, { key: key.publicLine, label: "b" });
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    const { outs: after } = await f.harness.update("SshKey", id, outs, d.inputs);
    assert.equal(me().sshKeys[0]?.label, "b");
    assert.deepEqual(f.emulator.entries().at(-1)?.requestBody, { label: "b" });
    const r1 = await f.harness.plan("SshKey", id, after, { key: rsa().publicLine, label: "b" });
    assert.deepEqual([r1.replaces, r1.deleteBeforeReplace], [["key"], true]);
    const r2 = await f.harness.plan("SshKey", id, after, {
      user: other.account_id,
      key: key.publicLine,
      label: "b",
    });
    assert.deepEqual(r2.replaces, ["user"]);
  });

  it("refreshes, reports drift, reads a key deleted by hand as gone, and deletes", async () => {
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine, label: "a" });
    me().sshKeys[0]!.label = "changed";
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    const read = await f.harness.read("SshKey", id, outs);
    assert.equal(read.props.label, "changed");
    assert.equal(
      (await f.harness.plan("SshKey", id, read.props, { key: key.publicLine, label: "a" })).changes,
      true,
    );
    await f.harness.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    await f.harness.delete("SshKey", id, outs);
    assert.equal(me().sshKeys.length, 0);
    assert.equal((await f.harness.read("SshKey", id, outs)).id, "");
    await f.harness.delete("SshKey", id, outs);
  });

  it("adopts the same key already on the account instead of failing on the duplicate", async () => {
    const first = await f.harness.up("SshKey", { key: key.publicLine, label: "a" });
    const again = await f.harness.up("SshKey", { key: `${key.normalized} other`, label: "a" });
    assert.equal(again.id, first.id);
    assert.equal(me().sshKeys.length, 1);
  });

  it("refuses a private key and a malformed user without echoing the key", async () => {
    const { failures } = await f.harness.check("SshKey", { user: "not a user!", key: key.privatePem });
    assert.deepEqual(
      failures.map((x) => x.property),
      ["user", "key"],
    );
    assert.equal(failures[0]?.reason, '"not a user!" is not an Atlassian account_id or {uuid}');
    assert.ok(!JSON.stringify(failures).includes(key.privatePem.split("\n")[1]!.slice(0, 16)));
  });
});
