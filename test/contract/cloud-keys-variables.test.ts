import * as assert from "node:assert/strict";
import axios from "axios";
import { fixture, TOKEN, type Fixture } from "../harness/fixture";
import { ed25519, rsa } from "../keys";
import { CLOUD_SPEC, Contract, requireSpec } from "./openapi";

describe("contract: keys, variables and Pipelines SSH against the Cloud OpenAPI spec", function () {
  let contract: Contract;
  let f: Fixture;

  before(async function () {
    requireSpec(this, CLOUD_SPEC);
    contract = new Contract();
    f = await fixture();
  });
  after(async () => f?.close());

  it("validates every request the provider sends and every response the emulator gives", async () => {
    const h = f.harness;
    const where = { workspace: "acme", repository: "api" };
    const k1 = ed25519("a@b");
    const k2 = rsa("c@d");

    // Deploy keys: repository (create, read, label update, adopt, delete, gone) and project.
    const dk = await h.up("DeployKey", { ...where, key: k1.publicLine, label: "one" });
    await h.read("DeployKey", dk.id, dk.outs);
    const dkU = await h.update(
      "DeployKey",
      dk.id,
      dk.outs,
      (await h.check("DeployKey", { ...where, key: k1.publicLine, label: "two" })).inputs,
    );
    await h.up("DeployKey", { ...where, key: k1.publicLine, label: "three", adopt: true });
    await h.delete("DeployKey", dk.id, dkU.outs);
    await h.read("DeployKey", dk.id, dkU.outs);
    const pk = await h.up("DeployKey", {
      workspace: "acme",
      project: "PROJ",
      key: k2.publicLine,
      label: "p",
    });
    await h.read("DeployKey", pk.id, pk.outs);
    await h.up("DeployKey", {
      workspace: "acme",
      project: "PROJ",
      key: k2.publicLine,
      label: "q",
      adopt: true,
    }); // re-add with the new label
    await h
      .up("DeployKey", { workspace: "acme", project: "NOPE", key: k2.publicLine })
      .catch(() => undefined);

    // User SSH keys.
    const sk = await h.up("SshKey", { key: k2.publicLine, label: "mine" });
    await h.read("SshKey", sk.id, sk.outs);
    const skU = await h.update(
      "SshKey",
      sk.id,
      sk.outs,
      (await h.check("SshKey", { key: k2.publicLine, label: "renamed" })).inputs,
    );
    await h.delete("SshKey", sk.id, skU.outs);
    await h.read("SshKey", sk.id, skU.outs);

    // Variables at each level, secured and not, with a 409 adoption.
    for (const scope of [where, { workspace: "acme" }, { ...where, environment: "Staging" }]) {
      const v = await h.up("PipelineVariable", { ...scope, key: "TOKEN", value: "s3cr3t" });
      await h.read("PipelineVariable", v.id, v.outs);
      const vU = await h.update(
        "PipelineVariable",
        v.id,
        v.outs,
        (await h.check("PipelineVariable", { ...scope, key: "TOKEN", value: "n3w" })).inputs,
      );
      const plain = await h.up("PipelineVariable", {
        ...scope,
        key: "PLAIN",
        value: "visible",
        secured: false,
      });
      await h.read("PipelineVariable", plain.id, plain.outs);
      await h.delete("PipelineVariable", v.id, vU.outs);
      await h.read("PipelineVariable", v.id, vU.outs);
    }
    f.emulator.fault({
      method: "GET",
      path: "pipelines_config/variables?",
      status: 200,
      body: { values: [], pagelen: 100, page: 1, size: 0 },
    });
    await h.up("PipelineVariable", { ...where, key: "PLAIN", value: "again", secured: false, adopt: true }); // POST 409, then adopt

    // Pipelines SSH key pair and known hosts.
    const kp = await h.up("PipelineSshKeyPair", {
      ...where,
      privateKey: k1.privatePem,
      publicKey: k1.publicLine,
    });
    await h.read("PipelineSshKeyPair", kp.id, kp.outs);
    await h.delete("PipelineSshKeyPair", kp.id, kp.outs);
    await h.read("PipelineSshKeyPair", kp.id, kp.outs);
    await h.delete("PipelineSshKeyPair", kp.id, kp.outs);
    const kh = await h.up("PipelineKnownHost", {
      ...where,
      hostname: "deploy.example.test",
      publicKey: k1.publicLine,
    });
    await h.read("PipelineKnownHost", kh.id, kh.outs);
    await h.update(
      "PipelineKnownHost",
      kh.id,
      kh.outs,
      (
        await h.check("PipelineKnownHost", {
          ...where,
          hostname: "deploy.example.test",
          publicKey: k2.publicLine,
        })
      ).inputs,
    );
    await h.delete("PipelineKnownHost", kh.id, kh.outs);
    await h.read("PipelineKnownHost", kh.id, kh.outs);

    // Errors the provider does not provoke by itself.
    const api = axios.create({
      baseURL: f.emulator.apiUrl,
      validateStatus: () => true,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    await api.post("/repositories/acme/api/deploy-keys", { key: "ssh-rsa AAAA", label: "bad" });
    await api.post("/repositories/acme/api/pipelines_config/variables", {
      key: "TOKEN2",
      value: "x",
      secured: true,
    });
    await api.post("/repositories/acme/api/pipelines_config/variables", {
      key: "TOKEN2",
      value: "x",
      secured: true,
    });
    await api.post("/repositories/acme/api/pipelines_config/ssh/known_hosts", {
      hostname: "h",
      public_key: { key_type: "ssh-ed25519", key: k1.normalized.split(" ")[1] },
    });
    await api.post("/repositories/acme/api/pipelines_config/ssh/known_hosts", {
      hostname: "h",
      public_key: { key_type: "ssh-ed25519", key: k1.normalized.split(" ")[1] },
    });
    await api.get("/repositories/acme/nope/pipelines_config/ssh/key_pair");
    // The workspace's repositories, as the manifest's selectors list them (with pages).
    for (let i = 0; i < 12; i++) f.emulator.store.addRepo("acme", `svc-${i}`).project = "PROJ";
    await api.get("/repositories/acme");
    await api.get("/repositories/acme?page=2");

    const entries = f.emulator.entries().filter((e) => e.path.startsWith("/2.0/"));
    const statuses = new Set(entries.map((e) => e.status));
    for (const s of [200, 201, 204, 400, 404, 409])
      assert.ok(statuses.has(s), `the scenario produced a ${s}`);
    const templates = new Set(entries.map((e) => `${e.method} ${contract.template(e.path)}`));
    for (const t of [
      "POST /repositories/{workspace}/{repo_slug}/deploy-keys",
      "PUT /repositories/{workspace}/{repo_slug}/deploy-keys/{key_id}",
      "POST /workspaces/{workspace}/projects/{project_key}/deploy-keys",
      "DELETE /workspaces/{workspace}/projects/{project_key}/deploy-keys/{key_id}",
      "GET /user",
      "PUT /users/{selected_user}/ssh-keys/{key_id}",
      "POST /workspaces/{workspace}/pipelines-config/variables",
      "GET /repositories/{workspace}/{repo_slug}/environments",
      "PUT /repositories/{workspace}/{repo_slug}/deployments_config/environments/{environment_uuid}/variables/{variable_uuid}",
      "PUT /repositories/{workspace}/{repo_slug}/pipelines_config/ssh/key_pair",
      "PUT /repositories/{workspace}/{repo_slug}/pipelines_config/ssh/known_hosts/{known_host_uuid}",
      "GET /repositories/{workspace}",
    ]) {
      assert.ok(templates.has(t), `the scenario exercised ${t}`);
    }
    assert.deepEqual(
      entries.flatMap((e) => contract.check(e)),
      [],
    );
  });
});
