// Pipelines SSH settings beyond the first create: import by id, several hosts in one run, an
// entry made meanwhile (409), refused writes, adoption of an existing pair, and the check messages
// (found by a sampled mutation run, #26).

import * as assert from "node:assert/strict";
import { dcFixture, fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";
import { ed25519, rsa } from "../keys";
import { keyShown } from "../../provider/ssh";

const SSH = "/2.0/repositories/acme/api/pipelines_config/ssh";

describe("PipelineKnownHost after its first create", () => {
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

  it("imports an entry by its id alone, taking workspace and repository from the id", async () => {
    const { id } = await f.harness.up("PipelineKnownHost", host());
    await f.harness.newRun(); // `pulumi import`: a new run with nothing in state
    const read = await f.harness.read("PipelineKnownHost", id, {});
    assert.equal(read.id, id);
    assert.deepEqual(read.inputs, {
      workspace: "acme",
      repository: "api",
      hostname: "deploy.example.test",
      publicKey: hostKey.normalized,
    });
    assert.equal(read.props.uuid, repo().knownHosts[0]?.uuid);
  });

  it("creates two hosts of one repository in the same run, each its own entry", async () => {
    const a = await f.harness.up(
      "PipelineKnownHost",
      host({ resourceName: "a", hostname: "a.example.test" }),
    );
    const b = await f.harness.up(
      "PipelineKnownHost",
      host({ resourceName: "b", hostname: "b.example.test" }),
    );
    assert.notEqual(a.id, b.id);
    assert.deepEqual(
      repo().knownHosts.map((h) => [`acme/api/${h.uuid}`, h.hostname]),
      [
        [a.id, "a.example.test"],
        [b.id, "b.example.test"],
      ],
    );
  });

  it("adopts an identical entry made meanwhile by someone else when the POST answers 409", async () => {
    await f.harness.up("PipelineKnownHost", host({ resourceName: "a", hostname: "a.example.test" }));
    // Made by hand after this run listed the hosts: the run's listing does not show it.
    const [type, blob] = hostKey.normalized.split(" ");
    repo().knownHosts.push({
      uuid: "{hand-made}",
      hostname: "deploy.example.test",
      key_type: type!,
      key: blob!,
    });
    f.emulator.resetLog();
    const { id, outs } = await f.harness.up("PipelineKnownHost", host({ resourceName: "b" }));
    assert.equal(id, "acme/api/{hand-made}");
    assert.equal(outs.adopted, true);
    assert.equal(outs.publicKey, hostKey.normalized);
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.path} ${e.status}`),
      [`POST ${SSH}/known_hosts 409`, `GET ${SSH}/known_hosts 200`],
    );
    assert.equal(repo().knownHosts.length, 2);
  });

  it("fails a create Bitbucket refuses at once, naming the host, without asking again", async () => {
    f.emulator.fault({ method: "POST", path: `${SSH}/known_hosts`, status: 403, times: 1 });
    await assert.rejects(
      f.harness.up("PipelineKnownHost", host()),
      /^Error: create known host deploy\.example\.test on acme\/api: POST \/repositories\/acme\/api\/pipelines_config\/ssh\/known_hosts failed \(403\)/,
    );
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.status}`),
      ["GET 200", "POST 403"],
    );
    assert.equal(repo().knownHosts.length, 0);
  });

  it("keeps adopted: true when the key of an adopted entry is updated", async () => {
    await f.harness.up("PipelineKnownHost", host());
    await f.harness.newRun(); // the entry is someone else's: a later run declares it with adopt
    const first = rsa("first");
    const adopted = await f.harness.up(
      "PipelineKnownHost",
      host({ publicKey: first.publicLine, adopt: true }),
    );
    assert.equal(adopted.outs.adopted, true);
    await f.harness.newRun();
    const next = rsa("next");
    const d = await f.harness.plan(
      "PipelineKnownHost",
      adopted.id,
      adopted.outs,
      host({ publicKey: next.publicLine }),
    );
    const { outs } = await f.harness.update("PipelineKnownHost", adopted.id, adopted.outs, d.inputs);
    assert.equal(outs.adopted, true);
    assert.equal(outs.publicKey, next.normalized);
    assert.equal(repo().knownHosts[0]?.key, next.normalized.split(" ")[1]);
  });

  it("fails a delete Bitbucket refuses, naming the host and where, and the entry stays", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host());
    await f.harness.newRun();
    f.emulator.fault({ method: "DELETE", path: `${SSH}/known_hosts/`, status: 403, times: 1 });
    await assert.rejects(
      f.harness.delete("PipelineKnownHost", id, outs),
      /^Error: delete known host deploy\.example\.test on acme\/api: DELETE \/repositories\/acme\/api\/pipelines_config\/ssh\/known_hosts\/\S+ failed \(403\)/,
    );
    assert.equal(repo().knownHosts.length, 1);
  });
  it("leaves an entry another resource of the run holds when deleting a stale record of it", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host({ resourceName: "kept" }));
    await f.harness.newRun(); // a later run: "kept" is diffed unchanged, a stale record is deleted
    assert.equal(
      (await f.harness.plan("PipelineKnownHost", id, outs, host({ resourceName: "kept" }))).changes,
      false,
    );
    f.emulator.resetLog();
    await f.harness.delete("PipelineKnownHost", id, outs);
    assert.deepEqual(f.emulator.log(), [], "no DELETE");
    assert.equal(repo().knownHosts.length, 1);
    await f.harness.expectStderr(
      /not deleting known host deploy\.example\.test on acme\/api: .*kept.* holds it in this stack/,
    );
  });

  it("fails a key update Bitbucket refuses, naming the host and where", async () => {
    const { id, outs } = await f.harness.up("PipelineKnownHost", host());
    const next = rsa("next");
    const d = await f.harness.plan("PipelineKnownHost", id, outs, host({ publicKey: next.publicLine }));
    f.emulator.fault({ method: "PUT", path: `${SSH}/known_hosts/`, status: 403, times: 1 });
    await assert.rejects(
      f.harness.update("PipelineKnownHost", id, outs, d.inputs),
      /^Error: update known host deploy\.example\.test on acme\/api: PUT \/repositories\/acme\/api\/pipelines_config\/ssh\/known_hosts\/\S+ failed \(403\)/,
    );
    assert.equal(repo().knownHosts[0]?.key_type, "ssh-ed25519");
  });
});

describe("PipelineSshKeyPair over an existing pair", () => {
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
  const refusal = (differs: string) =>
    `create the Pipelines SSH key pair of acme/api: it already exists in Bitbucket and differs from this declaration (${differs}). ` +
    "Nothing was changed. To take it over and bring it to the declared state, set adopt: true on this entry " +
    "(manifest) or resource; otherwise remove it in Bitbucket or declare it as it is";

  it("refuses a pair the repository has unless adopt: true, naming only what differs", async () => {
    repo().keyPair = { private_key: "their private key", public_key: key.normalized };
    const same = await f.harness.up("PipelineSshKeyPair", pair()).catch((e: Error) => e);
    assert.equal(
      (same as Error).message,
      refusal("privateKey: set in Bitbucket, write-only, cannot be compared"),
    );
    const theirs = rsa();
    repo().keyPair = { private_key: "their private key", public_key: theirs.normalized };
    const other = await f.harness.up("PipelineSshKeyPair", pair()).catch((e: Error) => e);
    assert.equal(
      (other as Error).message,
      refusal(
        `privateKey: set in Bitbucket, write-only, cannot be compared; publicKey: "${keyShown(theirs.publicLine)}" in Bitbucket`,
      ),
    );
    assert.equal(repo().keyPair?.private_key, "their private key", "nothing was changed");
  });

  it("replaces the pair the repository has with adopt: true, and says it adopted it", async () => {
    repo().keyPair = { private_key: "their private key", public_key: rsa().normalized };
    f.emulator.resetLog();
    const { id, outs } = await f.harness.up("PipelineSshKeyPair", pair({ adopt: true }));
    assert.deepEqual(f.emulator.log(), [`GET ${SSH}/key_pair`, `PUT ${SSH}/key_pair`]);
    assert.equal(id, "acme/api");
    assert.equal(outs.adopted, true);
    assert.equal(outs.publicKey, key.normalized);
    assert.equal(repo().keyPair?.private_key.trim(), key.privateOpenssh!.trim());
    await f.harness.expectStderr(
      /adopted the existing the Pipelines SSH key pair of acme\/api, replacing it with the declared pair/,
    );
  });

  it("keeps the pair when a renamed resource adopted it and the old record is deleted in the same run", async () => {
    const old = await f.harness.up("PipelineSshKeyPair", pair({ resourceName: "old" }));
    await f.harness.newRun(); // the next run: the resource has a new name, so a create then a delete
    const renamed = await f.harness.up("PipelineSshKeyPair", pair({ resourceName: "new", adopt: true }));
    assert.equal(renamed.outs.adopted, true);
    f.emulator.resetLog();
    await f.harness.delete("PipelineSshKeyPair", old.id, old.outs);
    assert.deepEqual(f.emulator.log(), [], "no DELETE");
    assert.equal(repo().keyPair?.public_key, key.normalized);
    await f.harness.expectStderr(
      /not deleting the Pipelines SSH key pair of acme\/api: .*new.* adopted it in this run \(a replacement that found the same object\), so it stays/,
    );
  });

  it("refuses a pair without a workspace, saying what to give", async () => {
    const { workspace: _left, ...noWorkspace } = pair();
    const { failures } = await f.harness.check("PipelineSshKeyPair", noWorkspace);
    assert.deepEqual(failures, [
      { property: "workspace", reason: "workspace is required: the workspace slug, e.g. acme" },
    ]);
  });
});

describe("Pipelines SSH settings on Data Center", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  it("refuses a key pair and a known host, naming the kind and what to do instead", async () => {
    const k = ed25519();
    const where = { workspace: "acme", repository: "api" };
    const pair = await f.harness.check("PipelineSshKeyPair", {
      ...where,
      privateKey: k.privateOpenssh,
      publicKey: k.publicLine,
    });
    assert.deepEqual(pair.failures, [
      {
        property: "flavor",
        reason:
          'PipelineSshKeyPair is Bitbucket Cloud only, but the connection is Bitbucket Data Center (bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter"): Data Center has no Pipelines; give your CI server its key, and add the public key as a DeployKey or SshKey',
      },
    ]);
    const host = await f.harness.check("PipelineKnownHost", {
      ...where,
      hostname: "deploy.example.test",
      publicKey: k.publicLine,
    });
    assert.deepEqual(host.failures, [
      {
        property: "flavor",
        reason:
          'PipelineKnownHost is Bitbucket Cloud only, but the connection is Bitbucket Data Center (bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter"): Data Center has no Pipelines; keep known hosts in your CI server',
      },
    ]);
  });
});
