import * as assert from "node:assert/strict";
import { dcFixture, type Fixture } from "../../harness/fixture";
import type { Props } from "../../harness/engine";
import { ed25519 } from "../../keys";

const KEYS = "/rest/ssh/latest/keys";

describe("SshKey on Data Center (user keys)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const key = ed25519("puppet@pipelines");
  const sk = (over: Props = {}): Props => ({ key: key.publicLine, label: "Puppet Pipelines", ...over });
  const keysOf = (user: string) => [...f.emulator.store.dc.keys.values()].filter((k) => k.user === user);

  it("adds the key to the credentials' own account (no ?user=), 201, and no call for the same inputs", async () => {
    const { id, outs } = await f.harness.up("SshKey", sk());
    assert.deepEqual(f.emulator.log(), [`GET ${KEYS}`, `POST ${KEYS}`]);
    assert.equal(f.emulator.entries()[1]?.status, 201);
    assert.deepEqual(f.emulator.entries()[1]?.requestBody, {
      text: key.publicLine,
      label: "Puppet Pipelines",
    });
    const [stored] = keysOf("me");
    assert.equal(id, `~/${stored?.id}`);
    assert.deepEqual(
      [outs.flavor, outs.keyId, outs.keyUuid, outs.label],
      ["datacenter", String(stored?.id), undefined, "Puppet Pipelines"],
    );
    f.emulator.resetLog();
    const same = await f.harness.plan("SshKey", id, outs, sk());
    assert.deepEqual([same.changes, f.emulator.log()], [false, []]);
    // Data Center has no update endpoint: an update the engine sends anyway writes nothing.
    const u = await f.harness.update("SshKey", id, outs, same.inputs);
    assert.deepEqual([u.outs.keyId, f.emulator.log()], [outs.keyId, []]);
  });

  it("adds to another user's account with ?user=, replaces on a new label (no update on DC), shows deletion by hand, deletes", async () => {
    const { id, outs } = await f.harness.up("SshKey", sk({ user: "ci-bot" }));
    assert.deepEqual(f.emulator.log(), [`GET ${KEYS}`, `POST ${KEYS}`]);
    assert.deepEqual(
      f.emulator.entries().map((e) => e.query),
      ["?user=ci-bot&start=0&limit=1000", "?user=ci-bot"],
    );
    assert.equal(keysOf("ci-bot").length, 1);
    assert.equal(id, `ci-bot/${outs.keyId}`);
    const relabel = await f.harness.plan("SshKey", id, outs, sk({ user: "ci-bot", label: "new" }));
    assert.deepEqual([relabel.replaces, relabel.deleteBeforeReplace], [["label"], true]);
    f.emulator.store.dc.keys.delete(Number(outs.keyId));
    await f.harness.newRun();
    assert.equal((await f.harness.read("SshKey", id, outs)).id, "");
    f.emulator.resetLog();
    await f.harness.delete("SshKey", id, outs);
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.path} ${e.status}`),
      [`DELETE ${KEYS}/${outs.keyId} 204`],
    );
  });

  it("refreshes a key still there, and deletes it from the account", async () => {
    const { id, outs } = await f.harness.up("SshKey", sk());
    await f.harness.newRun();
    const read = await f.harness.read("SshKey", id, outs);
    assert.deepEqual([read.id, read.props.label], [id, "Puppet Pipelines"]);
    await f.harness.delete("SshKey", id, read.props);
    assert.equal(keysOf("me").length, 0);
  });

  it("adopts the same key on the account, refuses another label without adopt: true, and re-adds it with adopt: true", async () => {
    f.emulator.store.dc.addUserKey("me", key.publicLine, "Puppet Pipelines");
    assert.equal((await f.harness.up("SshKey", sk())).outs.adopted, true);
    f.emulator.store.dc.keys.clear();
    f.emulator.store.dc.addUserKey("me", key.publicLine, "by hand");
    await f.harness.newRun();
    await assert.rejects(
      f.harness.up("SshKey", sk()),
      /differs from this declaration \(label: "by hand" in Bitbucket\)\. Nothing was changed/,
    );
    const taken = await f.harness.up("SshKey", sk({ adopt: true }));
    assert.deepEqual([taken.outs.adopted, keysOf("me").map((k) => k.label)], [true, ["Puppet Pipelines"]]);
  });

  it("passes on Data Center's 409 when the key is already on the server for someone else", async () => {
    f.emulator.store.dc.addUserKey("ci-bot", key.publicLine);
    await assert.rejects(
      f.harness.up("SshKey", sk()),
      /create SSH key SHA256:\S+ of the credentials' user: POST \/rest\/ssh\/latest\/keys failed \(409\): text: This SSH key already exists on this server\./,
    );
  });

  it("keeps the key whose POST answer was lost (no second POST)", async () => {
    f.emulator.fault({ method: "POST", path: KEYS, commitThenFail: true, reset: true });
    const { outs } = await f.harness.up("SshKey", sk());
    assert.deepEqual([keysOf("me").length, outs.keyId], [1, String(keysOf("me")[0]?.id)]);
    assert.equal(f.emulator.log().filter((l) => l.startsWith("POST")).length, 1);
  });
});
