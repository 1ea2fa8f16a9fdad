import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";
import * as crypto from "crypto";
import { ed25519, encryptedOpenssh, rsa } from "../keys";

const SSH = "/2.0/repositories/acme/api/pipelines_config/ssh";

describe("PipelineSshKeyPair", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const repo = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
  const key = ed25519("pipelines");
  const pair = (over: Props = {}): Props => ({
    workspace: "acme",
    repository: "api",
    privateKey: key.privateOpenssh,
    publicKey: key.publicLine,
    ...over,
  });

  it("sets the pair with a look and one PUT and keeps the private key out of state", async () => {
    const { id, outs } = await f.harness.up("PipelineSshKeyPair", pair());
    assert.deepEqual(f.emulator.log(), [`GET ${SSH}/key_pair`, `PUT ${SSH}/key_pair`]);
    assert.equal(id, "acme/api");
    assert.equal(repo().keyPair?.private_key.trim(), key.privateOpenssh!.trim());
    assert.equal(outs.publicKey, key.normalized);
    assert.match(String(outs.fingerprint), /^SHA256:/);
    assert.ok(!JSON.stringify(outs).includes(key.privateOpenssh!.split("\n")[1]!.slice(0, 20)));
    assert.match(String(outs.privateKeyHash), /^hmac-sha256:/);
  });

  it("reports no change for the same pair, and updates in place for a new one", async () => {
    const { id, outs } = await f.harness.up("PipelineSshKeyPair", pair());
    f.emulator.resetLog();
    assert.equal((await f.harness.plan("PipelineSshKeyPair", id, outs, pair())).changes, false);
    assert.deepEqual(f.emulator.log(), []);
    const next = rsa("next");
    const d = await f.harness.plan(
      "PipelineSshKeyPair",
      id,
      outs,
      pair({ privateKey: next.privatePem, publicKey: next.publicLine }),
    );
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    await f.harness.update("PipelineSshKeyPair", id, outs, d.inputs);
    assert.equal(repo().keyPair?.public_key, next.normalized);
    assert.deepEqual(
      (await f.harness.plan("PipelineSshKeyPair", id, outs, pair({ repository: "web" }))).replaces,
      ["repository"],
    );
  });

  it("reports a pair replaced or removed by hand, and deletes", async () => {
    const { id, outs } = await f.harness.up("PipelineSshKeyPair", pair());
    repo().keyPair = { private_key: "x", public_key: rsa().normalized };
    const read = await f.harness.read("PipelineSshKeyPair", id, outs);
    assert.notEqual(read.props.publicKey, key.normalized);
    assert.equal(read.props.privateKeyHash, undefined, "the old hash no longer describes the pair");
    const d = await f.harness.plan("PipelineSshKeyPair", id, read.props, pair());
    await f.harness.update("PipelineSshKeyPair", id, read.props, d.inputs);
    assert.equal(repo().keyPair?.public_key, key.normalized);
    await f.harness.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    await f.harness.delete("PipelineSshKeyPair", id, outs);
    assert.equal(repo().keyPair, undefined);
    assert.equal((await f.harness.read("PipelineSshKeyPair", id, outs)).id, "");
    await f.harness.delete("PipelineSshKeyPair", id, outs);
  });

  it("deletes a pair that was already removed by hand: the 404 is fine and nothing is left", async () => {
    const { id, outs } = await f.harness.up("PipelineSshKeyPair", pair());
    repo().keyPair = undefined;
    await f.harness.newRun(); // removed by hand: the next run (a destroy) sees it gone
    f.emulator.resetLog();
    await f.harness.delete("PipelineSshKeyPair", id, outs);
    const [del] = f.emulator.entries();
    assert.deepEqual([del?.method, del?.path, del?.status], ["DELETE", `${SSH}/key_pair`, 404]);
    assert.equal(repo().keyPair, undefined);
    assert.equal((await f.harness.read("PipelineSshKeyPair", id, outs)).id, "");
  });

  it("refuses a mismatched pair, a passphrase-protected key and a public key as the private one", async () => {
    const failures = async (raw: Props) => (await f.harness.check("PipelineSshKeyPair", raw)).failures;
    const other = ed25519();
    const [mismatch] = await failures(pair({ publicKey: other.publicLine }));
    assert.equal(mismatch?.property, "publicKey");
    assert.match(mismatch!.reason, /^publicKey \(SHA256:\S+\) does not belong to privateKey \(SHA256:\S+\)$/);
    const encPem = encryptedOpenssh(key);
    const encPkcs8 = crypto
      .createPrivateKey(key.privatePem)
      .export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "pw" })
      .toString();
    assert.deepEqual(await failures(pair({ privateKey: encPkcs8 })), [
      {
        property: "privateKey",
        reason: "privateKey has a passphrase: Pipelines uses it unattended, so give a key without one",
      },
    ]);
    assert.deepEqual(await failures(pair({ privateKey: encPem })), [
      {
        property: "privateKey",
        reason: "privateKey has a passphrase: Pipelines uses it unattended, so give a key without one",
      },
    ]);
    assert.deepEqual(await failures(pair({ privateKey: key.publicLine })), [
      {
        property: "privateKey",
        reason: "privateKey is not a private key in OpenSSH (BEGIN OPENSSH PRIVATE KEY) or PEM format",
      },
    ]);
    const all = JSON.stringify(await failures(pair({ publicKey: other.publicLine })));
    assert.ok(!all.includes(key.privateOpenssh!.split("\n")[1]!.slice(0, 16)));
  });
});

describe("PipelineKnownHost", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const repo = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
  const hostKey = ed25519("root@deploy");
  const host = (over: Props = {}): Props => ({
    workspace: "acme",
    repository: "api",
    hostname: "deploy.example.test",
    publicKey: hostKey.publicLine,
    ...over,
  });

  it("creates an entry from a key line, splitting type and blob as Bitbucket wants them", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host());
    assert.deepEqual(f.emulator.log(), [`GET ${SSH}/known_hosts`, `POST ${SSH}/known_hosts`]);
    const [type, blob] = hostKey.normalized.split(" ");
    assert.deepEqual(f.emulator.entries()[1]?.requestBody, {
      hostname: "deploy.example.test",
      public_key: { key_type: type, key: blob },
    });
    assert.equal(id, `acme/api/${outs.uuid}`);
    assert.equal(outs.publicKey, hostKey.normalized);
    assert.match(String(outs.md5Fingerprint), /^md5:([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    assert.match(String(outs.sha256Fingerprint), /^SHA256:/);
  });

  it("accepts ssh-keyscan output for the host, and a second pass reports no change", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host());
    for (const text of [`deploy.example.test ${hostKey.normalized}`, `${hostKey.normalized} other-comment`]) {
      const d = await f.harness.plan("PipelineKnownHost", id, outs, host({ publicKey: text }));
      assert.equal(d.changes, false, text);
    }
  });

  it("updates the key in place, replaces on a new hostname, refreshes drift and deletes", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host());
    const rotated = rsa();
    const d = await f.harness.plan("PipelineKnownHost", id, outs, host({ publicKey: rotated.publicLine }));
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    const { outs: after } = await f.harness.update("PipelineKnownHost", id, outs, d.inputs);
    assert.equal(repo().knownHosts[0]?.key_type, "ssh-rsa");
    assert.deepEqual(
      (await f.harness.plan("PipelineKnownHost", id, after, host({ hostname: "[deploy.example.test]:2222" })))
        .replaces,
      ["hostname"],
    );
    repo().knownHosts[0]!.key = hostKey.normalized.split(" ")[1]!;
    repo().knownHosts[0]!.key_type = "ssh-ed25519";
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    assert.equal((await f.harness.read("PipelineKnownHost", id, after)).props.publicKey, hostKey.normalized);
    await f.harness.delete("PipelineKnownHost", id, after);
    assert.equal(repo().knownHosts.length, 0);
    assert.equal((await f.harness.read("PipelineKnownHost", id, after)).id, "");
  });

  it("deletes an entry that was already deleted by hand: the 404 is fine and nothing is left", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host());
    repo().knownHosts.splice(0);
    await f.harness.newRun(); // deleted by hand: the next run (a destroy) sees it gone
    f.emulator.resetLog();
    await f.harness.delete("PipelineKnownHost", id, outs);
    const [del] = f.emulator.entries();
    assert.deepEqual([del?.method, del?.status], ["DELETE", 404], "Bitbucket said it was not there");
    assert.equal(repo().knownHosts.length, 0);
    assert.equal((await f.harness.read("PipelineKnownHost", id, outs)).id, "");
  });

  it("refuses an existing entry for the same hostname with another key unless adopt: true", async () => {
    const first = await f.harness.up("PipelineKnownHost", host());
    await assert.rejects(
      f.harness.up("PipelineKnownHost", host({ publicKey: rsa().publicLine })),
      /create known host deploy\.example\.test on acme\/api: it already exists in Bitbucket and differs from this declaration \(publicKey: "ssh-ed25519 SHA256:[^"]+" in Bitbucket\)\. Nothing was changed/,
    );
    assert.equal(repo().knownHosts[0]?.key_type, "ssh-ed25519");
    const again = await f.harness.up("PipelineKnownHost", host({ publicKey: rsa().publicLine, adopt: true }));
    assert.equal(again.id, first.id);
    assert.equal(again.outs.adopted, true);
    assert.equal(repo().knownHosts.length, 1);
    assert.equal(repo().knownHosts[0]?.key_type, "ssh-rsa");
  });

  it("refuses a bad hostname and a bad key, naming the field", async () => {
    const { failures } = await f.harness.check(
      "PipelineKnownHost",
      host({ hostname: "two words", publicKey: "ssh-ed25519 nope" }),
    );
    assert.deepEqual(failures, [
      { property: "hostname", reason: '"two words" is not a host name or [host]:port' },
      {
        property: "publicKey",
        reason:
          "publicKey says ssh-ed25519 but its base64 part is not a ssh-ed25519 key (damaged, or the wrong prefix)",
      },
    ]);
  });
});
