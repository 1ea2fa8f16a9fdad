// DeployKey cases a sampled mutation run of provider/resources/deploy-key.ts found no test for
// (issue 26): several keys in one run, states older versions wrote, import by id, a project key
// adopted with another label, a listing that fails on refresh.
import * as assert from "node:assert/strict";
import { DEFAULT_SEED, dcFixture, fixture, type Fixture } from "../harness/fixture";
import type { HostError, Props } from "../harness/engine";
import { ed25519 } from "../keys";

const key = ed25519("ci@build");

describe("DeployKey, several in one run and after it was made (Cloud)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture({ ...DEFAULT_SEED, projects: { acme: ["PROJ", "OPS"] } })));
  afterEach(async () => f.close());

  const dk = (over: Props = {}): Props => ({
    workspace: "acme",
    repository: "api",
    key: key.publicLine,
    label: "ci",
    ...over,
  });
  const repoKeys = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.deployKeys;
  const projectKeys = (p: string) => f.emulator.store.workspaces.get("acme")!.projects.get(p)!.deployKeys;

  it("adds two keys to one repository in one run, each declared by its own resource", async () => {
    await f.harness.up("DeployKey", dk({ resourceName: "a" }));
    const other = ed25519("deploy@build");
    const { outs } = await f.harness.up("DeployKey", dk({ key: other.publicLine, resourceName: "b" }));
    assert.deepEqual(
      repoKeys().map((k) => k.key),
      [key.normalized, other.normalized],
    );
    assert.equal(outs.fingerprint, repoKeys()[1]?.fingerprint);
  });

  it("adds the same key to two projects of one workspace in one run", async () => {
    for (const [project, resourceName] of [
      ["PROJ", "p"],
      ["OPS", "o"],
    ] as const)
      await f.harness.up("DeployKey", { workspace: "acme", project, key: key.publicLine, resourceName });
    assert.deepEqual(
      [projectKeys("PROJ")[0]?.key, projectKeys("OPS")[0]?.key],
      [key.normalized, key.normalized],
    );
  });

  it("adds the same key to two repositories of one workspace in one run", async () => {
    await f.harness.up("DeployKey", dk({ resourceName: "api" }));
    await f.harness.up("DeployKey", dk({ repository: "web", resourceName: "web" }));
    const webKeys = f.emulator.store.workspaces.get("acme")!.repos.get("web")!.deployKeys;
    assert.deepEqual([repoKeys()[0]?.key, webKeys[0]?.key], [key.normalized, key.normalized]);
  });

  it("keeps a repository key and a project key apart when Bitbucket gives both the same id (ids are per kind)", async () => {
    const repo = await f.harness.up("DeployKey", dk({ resourceName: "r" }));
    const other = ed25519("p@build");
    const onProject = f.emulator.store.addDeployKey("acme", { project: "PROJ" }, other.publicLine, "p");
    onProject.id = Number(repo.outs.keyId);
    const { id, outs } = await f.harness.up("DeployKey", {
      workspace: "acme",
      project: "PROJ",
      key: other.publicLine,
      label: "p",
      resourceName: "p",
    });
    assert.deepEqual([id, outs.adopted], [`acme/projects/PROJ/${onProject.id}`, true]);
    assert.deepEqual([repoKeys().length, projectKeys("PROJ").length], [1, 1]);
  });

  it("takes over a project key with another label with adopt: true, re-adding it with the declared label", async () => {
    const byHand = f.emulator.store.addDeployKey("acme", { project: "PROJ" }, key.publicLine, "by hand");
    const { id, outs } = await f.harness.up("DeployKey", {
      workspace: "acme",
      project: "PROJ",
      key: key.publicLine,
      label: "ci",
      adopt: true,
    });
    assert.equal(projectKeys("PROJ").length, 1);
    const [now] = projectKeys("PROJ");
    assert.deepEqual([now?.key, now?.comment, now?.label], [key.normalized, "ci@build", "ci"]);
    assert.notEqual(now?.id, byHand.id);
    assert.deepEqual([id, outs.label, outs.adopted], [`acme/projects/PROJ/${now?.id}`, "ci", true]);
  });

  it("diffs, refreshes and deletes a state written before Data Center support (no flavor)", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    const { flavor: _, ...before } = outs;
    const d = await f.harness.plan("DeployKey", id, before, dk());
    assert.deepEqual([d.changes, d.replaces], [false, []]);
    const read = await f.harness.read("DeployKey", id, before);
    assert.deepEqual([read.id, read.props.flavor, read.props.label], [id, "cloud", "ci"]);
    await f.harness.newRun();
    await f.harness.delete("DeployKey", id, before);
    assert.equal(repoKeys().length, 0);
  });

  it("reads a key Bitbucket lists without a comment with an empty comment", async () => {
    const rec = f.emulator.store.addDeployKey("acme", "api", key.normalized, "ci");
    delete (rec as { comment?: string }).comment;
    const read = await f.harness.read("DeployKey", `acme/api/${rec.id}`, {});
    assert.deepEqual([read.props.comment, read.props.keyComment], ["", ""]);
  });

  it("fails a refresh whose listing fails, naming the key and where, rather than reading the key as gone", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    await f.harness.newRun();
    f.emulator.fault({
      method: "GET",
      path: "/2.0/repositories/acme/api/deploy-keys",
      status: 500,
      times: 10,
    });
    const failed = await f.harness.read("DeployKey", id, outs).then(
      () => assert.fail("read"),
      (e: HostError) => e,
    );
    assert.match(failed.message, new RegExp(`^read deploy key ${String(outs.keyId)} on acme/api: `));
    assert.equal(repoKeys().length, 1);
  });
});

describe("DeployKey, imported by id (Data Center)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  it("reads a repository access key and a project access key from the id alone, as `pulumi import` does", async () => {
    const repo = await f.harness.up("DeployKey", {
      project: "PROJ",
      repository: "api",
      key: key.publicLine,
      label: "ci",
      permission: "REPO_WRITE",
      resourceName: "r",
    });
    const proj = await f.harness.up("DeployKey", {
      project: "PROJ",
      key: ed25519("p@build").publicLine,
      label: "p",
      resourceName: "p",
    });
    await f.harness.newRun();
    const r = await f.harness.read("DeployKey", repo.id, {});
    assert.deepEqual(
      [r.id, r.props.flavor, r.props.project, r.props.repository, r.props.permission, r.props.label],
      [repo.id, "datacenter", "PROJ", "api", "REPO_WRITE", "ci"],
    );
    const p = await f.harness.read("DeployKey", proj.id, {});
    assert.deepEqual(
      [p.id, p.props.project, p.props.repository, p.props.permission, p.props.label],
      [proj.id, "PROJ", undefined, "PROJECT_READ", "p"],
    );
  });

  it("adds the same key to a repository and to its project in one run", async () => {
    const repo = await f.harness.up("DeployKey", {
      project: "PROJ",
      repository: "api",
      key: key.publicLine,
      resourceName: "r",
    });
    const { id } = await f.harness.up("DeployKey", {
      project: "PROJ",
      key: key.publicLine,
      resourceName: "p",
    });
    assert.match(id, /^PROJ\/\d+$/);
    const r = await f.harness.read("DeployKey", id, {});
    assert.deepEqual([r.props.fingerprint, r.props.permission], [repo.outs.fingerprint, "PROJECT_READ"]);
  });
});
