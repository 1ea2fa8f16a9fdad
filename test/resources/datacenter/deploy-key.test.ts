import * as assert from "node:assert/strict";
import { dcFixture, type Fixture } from "../../harness/fixture";
import type { Props } from "../../harness/engine";
import { ed25519 } from "../../keys";

const KEYS = "/rest/keys/latest/projects/PROJ/repos/api/ssh";

describe("DeployKey on Data Center (SSH access keys)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const key = ed25519("ci@build");
  const dk = (over: Props = {}): Props => ({
    project: "PROJ",
    repository: "api",
    key: key.publicLine,
    label: "ci",
    ...over,
  });
  const grants = (repo = "api") => f.emulator.store.dc.projects.get("PROJ")!.repos.get(repo)!.grants;

  it("adds an access key with one listing and one POST (201), REPO_READ by default, and no call for the same inputs", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    assert.deepEqual(f.emulator.log(), [`GET ${KEYS}`, `POST ${KEYS}`]);
    assert.equal(f.emulator.entries()[1]?.status, 201);
    assert.deepEqual(f.emulator.entries()[1]?.requestBody, {
      key: { text: `${key.normalized} ci@build`, label: "ci" },
      permission: "REPO_READ",
    });
    assert.equal(id, `PROJ/api/${outs.keyId}`);
    assert.deepEqual(
      [outs.flavor, outs.permission, outs.label, outs.comment],
      ["datacenter", "REPO_READ", "ci", "ci@build"],
    );
    assert.match(String(outs.fingerprint), /^SHA256:/);
    f.emulator.resetLog();
    const same = await f.harness.plan("DeployKey", id, outs, dk());
    assert.deepEqual([same.changes, f.emulator.log()], [false, []]);
  });

  it("changes the permission in place through the permission endpoint, and replaces the key for a new label", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    const d = await f.harness.plan("DeployKey", id, outs, dk({ permission: "REPO_WRITE" }));
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    f.emulator.resetLog();
    const u = await f.harness.update("DeployKey", id, outs, d.inputs);
    assert.deepEqual(f.emulator.log(), [`PUT ${KEYS}/${outs.keyId}/permission/REPO_WRITE`]);
    assert.equal(f.emulator.entries()[0]?.requestBody, undefined, "no body");
    assert.equal(u.outs.permission, "REPO_WRITE");
    assert.equal(grants()[0]?.permission, "REPO_WRITE");
    const relabel = await f.harness.plan(
      "DeployKey",
      id,
      u.outs,
      dk({ permission: "REPO_WRITE", label: "new" }),
    );
    assert.deepEqual([relabel.replaces, relabel.deleteBeforeReplace], [["label"], true]);
  });

  it("sees a permission changed by hand on refresh, shows a revoked key as gone, and deletes (204, also when already gone)", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    grants()[0]!.permission = "REPO_ADMIN";
    await f.harness.newRun(); // the next run: fresh listings
    const read = await f.harness.read("DeployKey", id, outs);
    assert.equal(read.props.permission, "REPO_ADMIN");
    assert.equal(
      (await f.harness.diff("DeployKey", id, read.props, (await f.harness.check("DeployKey", dk())).inputs))
        .changes,
      true,
    );
    await f.harness.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    await f.harness.delete("DeployKey", id, read.props);
    assert.equal(grants().length, 0);
    assert.equal((await f.harness.read("DeployKey", id, read.props)).id, "");
    f.emulator.resetLog();
    await f.harness.delete("DeployKey", id, read.props);
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.status}`),
      ["DELETE 204"],
    );
  });

  it("keeps the same key on another repository when one repository's access is revoked (the key id is shared)", async () => {
    const api = await f.harness.up("DeployKey", dk());
    const web = await f.harness.up("DeployKey", dk({ repository: "web" }));
    assert.equal(api.outs.keyId, web.outs.keyId, "one key on the server, two grants");
    assert.notEqual(api.id, web.id);
    await f.harness.delete("DeployKey", api.id, api.outs);
    assert.deepEqual([grants("api").length, grants("web").length], [0, 1]);
    assert.equal((await f.harness.read("DeployKey", web.id, web.outs)).id, web.id);
  });

  it("manages a project access key with PROJECT_* permissions and refuses a repository permission on it", async () => {
    const { repository: _r, ...onProject } = dk({ permission: "PROJECT_WRITE" });
    const { id, outs } = await f.harness.up("DeployKey", onProject);
    assert.equal(id, `PROJ/${outs.keyId}`);
    assert.equal(f.emulator.store.dc.projects.get("PROJ")!.grants[0]?.permission, "PROJECT_WRITE");
    const bad = await f.harness.check("DeployKey", { ...onProject, permission: "REPO_WRITE" });
    assert.deepEqual(
      bad.failures.map((x) => x.reason),
      [
        '"REPO_WRITE" is not a permission for a project access key; use PROJECT_READ, PROJECT_WRITE, PROJECT_ADMIN',
      ],
    );
  });

  it("adopts an identical key, refuses one with another permission without adopt: true, and sets the permission with it", async () => {
    f.emulator.store.dc.addAccessKey("PROJ", "api", key.publicLine, "REPO_READ", "ci");
    const same = await f.harness.up("DeployKey", dk());
    assert.equal(same.outs.adopted, true);
    f.emulator.store.dc.addAccessKey("PROJ", "web", key.publicLine, "REPO_ADMIN");
    await assert.rejects(f.harness.up("DeployKey", dk({ repository: "web" })), (e: Error) => {
      assert.match(
        e.message,
        /it already exists in Bitbucket and differs from this declaration \(permission: "REPO_ADMIN" in Bitbucket\)\. Nothing was changed/,
      );
      return true;
    });
    assert.equal(grants("web")[0]?.permission, "REPO_ADMIN", "nothing changed");
    const taken = await f.harness.up("DeployKey", dk({ repository: "web", adopt: true }));
    assert.deepEqual([taken.outs.adopted, grants("web")[0]?.permission], [true, "REPO_READ"]);
  });

  it("explains that a user's personal key cannot become an access key, in Data Center's words", async () => {
    f.emulator.store.dc.addUserKey("me", key.publicLine);
    await assert.rejects(
      f.harness.up("DeployKey", dk()),
      /create deploy key SHA256:\S+ on PROJ\/api: POST \/rest\/keys\/latest\/projects\/PROJ\/repos\/api\/ssh failed \(400\): text: This SSH key is already bound to a user account and cannot be used as an access key\./,
    );
  });

  it("keeps the key whose POST answer was lost and waits out a 429, with one POST that counted", async () => {
    f.emulator.fault({ method: "POST", path: KEYS, status: 429, times: 1 });
    f.emulator.fault({ method: "POST", path: KEYS, commitThenFail: true, status: 503 });
    const { outs } = await f.harness.up("DeployKey", dk());
    assert.equal(grants().length, 1);
    assert.equal(outs.keyId, grants()[0]?.keyId);
    assert.deepEqual(
      f.emulator
        .entries()
        .filter((e) => e.method === "POST")
        .map((e) => e.status),
      [429, 503],
    );
  });
});
