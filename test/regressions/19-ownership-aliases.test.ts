// Issue 19.1: a record and the resource that holds its object name one place differently (a
// repository's {uuid}, another case of a Data Center project key): the delete of the record must still
// see the holder. Found in review; each failed before the place was compared as Bitbucket names it.

import * as assert from "node:assert/strict";
import { DeployKey, PipelineSshKeyPair, Webhook } from "../../provider";
import { Engine } from "../harness/deploy";
import { dcFixture, fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

const URL_B = "https://hooks.example.test/b";

describe("issue 19.1: ownership by an alias", () => {
  let f: Fixture;
  let engine: Engine;
  beforeEach(async () => {
    f = await fixture();
    engine = new Engine(f.harness);
    f.emulator.store.addHook("acme", "web", { url: URL_B, events: ["issue:created"] });
  });
  afterEach(async () => f?.close());

  const k = ed25519();
  const pair = (name: string, repository: string) => () =>
    new PipelineSshKeyPair(name, {
      workspace: "acme",
      repository,
      privateKey: k.privatePem,
      publicKey: k.publicLine,
      adopt: true,
    });
  const blocker = () =>
    new Webhook("blocker", { workspace: "acme", repository: "web", url: URL_B, events: ["repo:push"] });
  /** The declared key pair, as Bitbucket holds it, is on `api`. */
  const hasPair = () =>
    f.emulator.store.workspaces.get("acme")!.repos.get("api")!.keyPair?.public_key === k.normalized;

  it("keeps the key pair an entry moved to its repository's {uuid} holds, in the same run", async () => {
    const repoUuid = f.emulator.store.workspaces.get("acme")!.repos.get("api")!.uuid;
    assert.equal((await engine.up(() => [pair("by-slug", "api")()])).error, undefined);
    assert.ok(hasPair());
    const moved = await engine.up(() => [pair("by-uuid", repoUuid)()]);
    assert.equal(moved.error, undefined);
    assert.ok(hasPair(), "the pair by-uuid holds is still in Bitbucket");
  });

  it("keeps the key pair an entry moved to its repository's {uuid} holds, across a failed run", async () => {
    const repoUuid = f.emulator.store.workspaces.get("acme")!.repos.get("api")!.uuid;
    assert.equal((await engine.up(() => [pair("by-slug", "api")()])).error, undefined);
    const failed = await engine.up(() => [pair("by-uuid", repoUuid)(), blocker()]);
    assert.match(String(failed.error), /already exists in Bitbucket and differs/);
    const third = await engine.up(() => [pair("by-uuid", repoUuid)()]);
    assert.equal(third.error, undefined);
    assert.ok(hasPair(), "the pair by-uuid holds is still in Bitbucket");
  });
});

describe("issue 19.1: ownership by another case of a Data Center project key", () => {
  let f: Fixture;
  let engine: Engine;
  beforeEach(async () => {
    f = await dcFixture();
    engine = new Engine(f.harness);
  });
  afterEach(async () => f?.close());

  const k = ed25519("ci@build");
  const dk = (name: string, project: string) => () =>
    new DeployKey(name, { flavor: "datacenter", project, repository: "api", key: k.publicLine, label: "ci" });
  const grants = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.grants.length;

  it("keeps the access key a resource declared with `proj` holds when the `PROJ` record is deleted in the same run", async () => {
    assert.equal((await engine.up(() => [dk("upper", "PROJ")()])).error, undefined);
    assert.equal(grants(), 1);
    const moved = await engine.up(() => [dk("lower", "proj")()]);
    assert.equal(moved.error, undefined);
    assert.equal(grants(), 1, "the key `lower` holds is still on the repository");
  });
});
