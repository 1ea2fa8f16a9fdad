// SshKey cases a sampled mutation run of provider/resources/ssh-key.ts found no test for
// (issue 26): several keys in one run, states older versions wrote, import by id, the key read
// among others on the account, a failed delete's message, the resource's type.
import * as assert from "node:assert/strict";
import { dcFixture, fixture, type Fixture } from "../harness/fixture";
import { captureProviders, type HostError } from "../harness/engine";
import { ed25519 } from "../keys";
import { ME } from "../emulator/store";
import { SshKey } from "../../provider/resources/ssh-key";

describe("SshKey, several in one run and after it was made (Cloud)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const key = ed25519("deploy@puppet");
  const other = ed25519("other@puppet");
  const me = () => f.emulator.store.account(ME.account_id)!;

  it("adds two keys to one account in one run, each declared by its own resource", async () => {
    await f.harness.up("SshKey", { key: key.publicLine, resourceName: "a" });
    const b = await f.harness.up("SshKey", { key: other.publicLine, resourceName: "b" });
    assert.deepEqual(
      me().sshKeys.map((k) => k.key),
      [key.normalized, other.normalized],
    );
    assert.equal(b.outs.keyId, me().sshKeys[1]?.uuid);
  });

  it("refreshes the declared key, not another key listed before it on the account", async () => {
    await f.harness.up("SshKey", { key: other.publicLine, label: "first" });
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine, label: "mine" });
    await f.harness.newRun();
    const read = await f.harness.read("SshKey", id, outs);
    assert.deepEqual(
      [read.id, read.props.keyId, read.props.fingerprint, read.props.label],
      [id, outs.keyId, outs.fingerprint, "mine"],
    );
  });

  it("diffs, refreshes and deletes a state written before Data Center support (no flavor), with no replace", async () => {
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine, label: "a" });
    const { flavor: _, ...before } = outs;
    const d = await f.harness.plan("SshKey", id, before, { key: key.publicLine, label: "a" });
    assert.deepEqual([d.changes, d.replaces], [false, []]);
    const read = await f.harness.read("SshKey", id, before);
    assert.deepEqual([read.id, read.props.flavor, read.props.label], [id, "cloud", "a"]);
    await f.harness.newRun();
    await f.harness.delete("SshKey", id, before);
    assert.equal(me().sshKeys.length, 0);
  });

  it("names the key and the user's account when a delete fails", async () => {
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine });
    await f.harness.newRun();
    f.emulator.fault({ method: "DELETE", status: 500, times: 10 });
    const failed = await f.harness.delete("SshKey", id, outs).then(
      () => assert.fail("deleted"),
      (e: HostError) => e,
    );
    const prefix = `delete SSH key ${String(outs.fingerprint)} of user ${me().uuid}: `;
    assert.ok(failed.message.startsWith(prefix), failed.message);
    assert.equal(me().sshKeys.length, 1);
  });

  it("registers as bitbucket:SshKey, the type existing stacks' state records", async () => {
    const { declared } = await captureProviders(() => [new SshKey("typed", { key: key.publicLine })]);
    assert.deepEqual(
      declared.map((d) => d.type),
      ["pulumi-nodejs:dynamic/bitbucket:SshKey"],
    );
  });
});

describe("SshKey, several in one run and imported by id (Data Center)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  it("adds two keys to the credentials' own account in one run, each declared by its own resource", async () => {
    await f.harness.up("SshKey", { key: ed25519("a@dc").publicLine, resourceName: "a" });
    await f.harness.up("SshKey", { key: ed25519("b@dc").publicLine, resourceName: "b" });
    assert.equal([...f.emulator.store.dc.keys.values()].filter((k) => k.user === "me").length, 2);
  });

  it("names the key and the credentials' own account when a delete fails", async () => {
    const { id, outs } = await f.harness.up("SshKey", { key: ed25519("a@dc").publicLine });
    await f.harness.newRun();
    f.emulator.fault({ method: "DELETE", status: 500, times: 10 });
    const failed = await f.harness.delete("SshKey", id, outs).then(
      () => assert.fail("deleted"),
      (e: HostError) => e,
    );
    const prefix = `delete SSH key ${String(outs.fingerprint)} of the credentials' user: `;
    assert.ok(failed.message.startsWith(prefix), failed.message);
  });

  it("reads a key of the credentials' own account from the id alone, as `pulumi import` does", async () => {
    const key = ed25519("puppet@pipelines");
    const { id, outs } = await f.harness.up("SshKey", { key: key.publicLine, label: "Puppet" });
    await f.harness.newRun();
    const read = await f.harness.read("SshKey", id, {});
    assert.deepEqual(
      [read.id, read.props.flavor, read.props.keyId, read.props.label, read.props.fingerprint],
      [id, "datacenter", outs.keyId, "Puppet", outs.fingerprint],
    );
  });
});
