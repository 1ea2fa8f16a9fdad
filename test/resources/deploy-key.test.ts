import * as assert from "node:assert/strict";
import { fixture, TOKEN, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";
import { ed25519, rsa } from "../keys";

const KEYS = "/2.0/repositories/acme/api/deploy-keys";
const PROJECT_KEYS = "/2.0/workspaces/acme/projects/PROJ/deploy-keys";

describe("DeployKey", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const key = ed25519("ci@build");
  const dk = (over: Props = {}): Props => ({
    workspace: "acme",
    repository: "api",
    key: key.publicLine,
    label: "ci",
    ...over,
  });
  const repoKeys = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.deployKeys;
  const projectKeys = () => f.emulator.store.workspaces.get("acme")!.projects.get("PROJ")!.deployKeys;

  it("creates a repository key: one list, one POST; integer id, fingerprint and comment", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    assert.deepEqual(f.emulator.log(), [`GET ${KEYS}`, `POST ${KEYS}`]);
    const [stored] = repoKeys();
    assert.equal(typeof outs.keyId, "number");
    assert.equal(id, `acme/api/${outs.keyId}`);
    assert.equal(stored?.key, key.normalized, "Bitbucket keeps type and base64");
    assert.equal(outs.comment, "ci@build");
    assert.equal(outs.key, key.normalized);
    assert.equal(outs.fingerprint, stored?.fingerprint);
    assert.match(String(outs.fingerprint), /^SHA256:/);
  });

  it("reports no change for the same key, a changed comment, or changed whitespace, with no HTTP call", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    f.emulator.resetLog();
    for (const text of [
      key.publicLine,
      `${key.normalized} someone-else@laptop`,
      `  ${key.normalized.replace(" ", "\t ")}  ci@build \n`,
      key.normalized,
    ]) {
      const d = await f.harness.plan("DeployKey", id, outs, dk({ key: text }));
      assert.deepEqual([d.changes, d.replaces], [false, []], text);
    }
    assert.deepEqual(f.emulator.log(), []);
  });

  it("updates a repository key's label in place, refreshes, and deletes", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    const d = await f.harness.plan("DeployKey", id, outs, dk({ label: "ci-2" }));
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    const { outs: after } = await f.harness.update("DeployKey", id, outs, d.inputs);
    assert.equal(repoKeys()[0]?.label, "ci-2");
    assert.equal(after.keyId, outs.keyId);
    const read = await f.harness.read("DeployKey", id, after);
    assert.equal(read.props.label, "ci-2");
    assert.equal((await f.harness.plan("DeployKey", id, read.props, dk({ label: "ci-2" }))).changes, false);
    await f.harness.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    await f.harness.delete("DeployKey", id, after);
    assert.equal(repoKeys().length, 0);
    assert.equal((await f.harness.read("DeployKey", id, after)).id, "");
  });

  it("replaces on new key material, deleting the old key first", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    const d = await f.harness.plan("DeployKey", id, outs, dk({ key: rsa().publicLine }));
    assert.deepEqual(d.replaces, ["key"]);
    assert.equal(d.deleteBeforeReplace, true);
    for (const [field, value] of [
      ["workspace", "other"],
      ["repository", "web"],
    ] as const) {
      const r = await f.harness.plan("DeployKey", id, outs, dk({ [field]: value }));
      assert.deepEqual(r.replaces, [field]);
    }
    // The engine deletes first, then creates: the same key can be re-added elsewhere.
    await f.harness.delete("DeployKey", id, outs);
    const moved = await f.harness.up("DeployKey", dk({ repository: "web" }));
    assert.match(moved.id, /^acme\/web\/\d+$/);
  });

  it("manages a project key; a label change replaces it (no PUT exists)", async () => {
    const { id, outs } = await f.harness.up("DeployKey", {
      workspace: "acme",
      project: "PROJ",
      key: key.publicLine,
      label: "p",
    });
    assert.equal(id, `acme/projects/PROJ/${outs.keyId}`);
    assert.deepEqual(f.emulator.log(), [`GET ${PROJECT_KEYS}`, `POST ${PROJECT_KEYS}`]);
    const d = await f.harness.plan("DeployKey", id, outs, {
      workspace: "acme",
      project: "PROJ",
      key: key.publicLine,
      label: "q",
    });
    assert.deepEqual([d.replaces, d.deleteBeforeReplace], [["label"], true]);
    assert.equal((await f.harness.read("DeployKey", id, outs)).props.label, "p");
    await f.harness.delete("DeployKey", id, outs);
    assert.equal(projectKeys().length, 0);
  });

  it("reads a key deleted out of band as gone, and reports a label changed by hand", async () => {
    const { id, outs } = await f.harness.up("DeployKey", dk());
    repoKeys()[0]!.label = "renamed by hand";
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    const read = await f.harness.read("DeployKey", id, outs);
    assert.equal(read.props.label, "renamed by hand");
    const d = await f.harness.plan("DeployKey", id, read.props, dk());
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    await f.harness.update("DeployKey", id, read.props, d.inputs);
    assert.equal(repoKeys()[0]?.label, "ci");
    repoKeys().splice(0);
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    assert.equal((await f.harness.read("DeployKey", id, outs)).id, "");
    await f.harness.delete("DeployKey", id, outs);
  });

  it("finds the same key on any page of 120 keys: refuses a differing label, takes it over with adopt: true", async () => {
    for (let i = 0; i < 119; i++) f.emulator.store.addDeployKey("acme", "api", ed25519().publicLine, `k${i}`);
    const byHand = f.emulator.store.addDeployKey("acme", "api", `${key.normalized} old-comment`, "by hand");
    await assert.rejects(
      f.harness.up("DeployKey", dk()),
      /create deploy key SHA256:\S+ on acme\/api: it already exists in Bitbucket and differs from this declaration \(label: "by hand" in Bitbucket\)\. Nothing was changed\. To take it over .* set adopt: true/,
    );
    assert.deepEqual(f.emulator.log(), [`GET ${KEYS}`, `GET ${KEYS}`], "zero writes");
    assert.equal(byHand.label, "by hand");
    await f.harness.newRun(); // the next `pulumi up`
    f.emulator.resetLog();
    const { outs } = await f.harness.up("DeployKey", dk({ adopt: true }));
    assert.deepEqual([outs.keyId, outs.adopted], [byHand.id, true]);
    assert.equal(repoKeys().length, 120, "nothing duplicated");
    assert.equal(byHand.label, "ci");
    assert.deepEqual(f.emulator.log(), [`GET ${KEYS}`, `GET ${KEYS}`, `PUT ${KEYS}/${byHand.id}`]);
    const read = await f.harness.read("DeployKey", `acme/api/${byHand.id}`, outs);
    assert.equal(read.props.fingerprint, byHand.fingerprint);
    assert.equal(read.props.adopted, true);
  });

  it("explains that access tokens cannot manage deploy keys", async () => {
    const tok = await fixture({
      workspaces: { acme: ["api"] },
      tokens: { [TOKEN]: { kind: "access-token", scopes: ["repository", "repository:admin"] } },
    });
    try {
      await assert.rejects(
        tok.harness.up("DeployKey", dk()),
        /create deploy key SHA256:\S+ on acme\/api: POST \/repositories\/acme\/api\/deploy-keys failed \(403\): Access tokens cannot be used to add, update or delete deploy keys\. - access tokens cannot add, update or delete deploy keys: use an OAuth consumer or an API token with repository:admin/,
      );
    } finally {
      await tok.close();
    }
  });

  it("refuses bad keys and owners, naming the field and never echoing a private key", async () => {
    const failures = async (raw: Props) => (await f.harness.check("DeployKey", raw)).failures;
    const k = ed25519();
    assert.deepEqual(await failures(dk({ key: "ssh-dss AAAA" })), [
      {
        property: "key",
        reason:
          'key must start with a key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...), not "ssh-dss"',
      },
    ]);
    assert.deepEqual(await failures(dk({ key: "ssh-ed25519 AAAA%%%=" })), [
      {
        property: "key",
        reason: "key has a ssh-ed25519 key whose base64 part is malformed (truncated or wrapped?)",
      },
    ]);
    const priv = await failures(dk({ key: k.privateOpenssh }));
    assert.equal(priv.length, 1);
    assert.equal(priv[0]?.property, "key");
    assert.match(priv[0]!.reason, /^key holds a PRIVATE key: paste the public key instead/);
    assert.ok(!JSON.stringify(priv).includes(k.privateOpenssh!.split("\n")[1]!.slice(0, 16)));
    assert.deepEqual(
      await failures({ workspace: "acme", repository: "api", project: "PROJ", key: k.publicLine }),
      [
        {
          property: "project",
          reason: "give repository (a repository deploy key) or project (a project deploy key), not both",
        },
      ],
    );
    assert.deepEqual(await failures({ workspace: "acme", key: k.publicLine }), [
      {
        property: "repository",
        reason: "give repository (a repository deploy key) or project (a project deploy key)",
      },
    ]);
  });
});
