import * as assert from "node:assert/strict";
import * as path from "path";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { dcFixture, FAST_RETRIES, TOKEN, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";
import { DC_SPEC, dataCenterContract, requireSpec, type Contract } from "./openapi";

describe("contract: every Data Center exchange against the Data Center 9.2 OpenAPI spec", function () {
  // CPU-bound (a host drives every DC resource through its lifecycle, and each exchange is checked
  // against the spec): beside another test file on 2 cores it needs more than mocha's 20 s.
  this.timeout(90_000);
  let contract: Contract;
  let f: Fixture;

  before(async function () {
    requireSpec(this, DC_SPEC);
    contract = dataCenterContract();
    f = await dcFixture();
  });
  after(async () => f?.close());

  it("validates every request the provider sends and every response the emulator gives, for each DC resource", async () => {
    const h = f.harness;
    const key = ed25519("ci@build");
    // Webhooks: repository (create, update with and without secret, refresh, delete, gone) and project; adoption.
    const hook = {
      project: "PROJ",
      repository: "api",
      url: "https://hooks.example.test/c",
      events: ["repo:refs_changed"],
    };
    const rh = await h.up("Webhook", { ...hook, secret: "one" });
    const d1 = await h.plan("Webhook", rh.id, rh.outs, {
      ...hook,
      secret: "two",
      events: ["repo:refs_changed", "pr:opened"],
    });
    const u1 = await h.update("Webhook", rh.id, rh.outs, d1.inputs);
    const d2 = await h.plan("Webhook", rh.id, u1.outs, { ...hook, name: "no secret" });
    const u2 = await h.update("Webhook", rh.id, u1.outs, d2.inputs);
    await h.newRun();
    await h.read("Webhook", rh.id, u2.outs);
    await h.delete("Webhook", rh.id, u2.outs);
    await h.delete("Webhook", rh.id, u2.outs);
    const { repository: _r, ...projectHook } = hook;
    const ph = await h.up("Webhook", projectHook);
    await h.up("Webhook", { ...projectHook, name: "taken", adopt: true });
    await h.newRun(); // a later run: this one adopted the hook, so it would keep it (ownership rule 3)
    await h.delete("Webhook", ph.id, ph.outs);
    // Access keys: repository and project, permission change, revoke (twice: 204 both times).
    const ak = await h.up("DeployKey", {
      project: "PROJ",
      repository: "api",
      key: key.publicLine,
      label: "ci",
    });
    const dk = await h.plan("DeployKey", ak.id, ak.outs, {
      project: "PROJ",
      repository: "api",
      key: key.publicLine,
      label: "ci",
      permission: "REPO_WRITE",
    });
    const uk = await h.update("DeployKey", ak.id, ak.outs, dk.inputs);
    await h.newRun();
    await h.read("DeployKey", ak.id, uk.outs);
    await h.delete("DeployKey", ak.id, uk.outs);
    await h.delete("DeployKey", ak.id, uk.outs);
    const pk = await h.up("DeployKey", { project: "PROJ", key: key.publicLine, permission: "PROJECT_READ" });
    await h.delete("DeployKey", pk.id, pk.outs);
    // User keys: own and another user's, refresh, delete; the 409 of a key already on the server.
    const own = await h.up("SshKey", { key: key.publicLine, label: "mine" });
    await assert.rejects(h.up("SshKey", { user: "ci-bot", key: key.publicLine }), /409/);
    await h.newRun();
    await h.read("SshKey", own.id, own.outs);
    await h.delete("SshKey", own.id, own.outs);
    const other = await h.up("SshKey", { user: "ci-bot", key: ed25519().publicLine });
    await h.delete("SshKey", other.id, other.outs);
    // HTTP access tokens: repository, project and user; update; refresh; delete; adoption by name.
    const rt = await h.up("AccessToken", {
      project: "PROJ",
      repository: "api",
      name: "t",
      permissions: ["REPO_ADMIN"],
      expiryDays: 30,
    });
    const dt = await h.plan("AccessToken", rt.id, rt.outs, {
      project: "PROJ",
      repository: "api",
      name: "t2",
      permissions: ["REPO_READ"],
      expiryDays: 30,
    });
    const ut = await h.update("AccessToken", rt.id, rt.outs, dt.inputs);
    await h.newRun();
    await h.read("AccessToken", rt.id, ut.outs);
    await h.up("AccessToken", {
      project: "PROJ",
      repository: "api",
      name: "t2",
      permissions: ["REPO_READ"],
      adopt: true,
    });
    const pt = await h.up("AccessToken", { project: "PROJ", name: "p", permissions: ["PROJECT_READ"] });
    await h.delete("AccessToken", pt.id, pt.outs);
    const ust = await h.up("AccessToken", { user: "ci-bot", name: "u", permissions: ["REPO_READ"] });
    await h.delete("AccessToken", ust.id, ust.outs);
    // Paging past the first page, a 404 (missing repository) and a 401 (missing permission).
    for (let i = 0; i < 102; i++)
      f.emulator.store.dc.addHook("PROJ", "web", { url: `https://hooks.example.test/p${i}` });
    await h.up("Webhook", { ...hook, repository: "web" });
    await assert.rejects(h.up("Webhook", { ...hook, repository: "nope" }), /404/);
    f.emulator.store.tokens.get("test-token-3f9a")!.dcPermission = "REPO_READ";
    await assert.rejects(h.up("Webhook", { ...hook, url: "https://hooks.example.test/401" }), /401/);

    const entries = f.emulator.entries();
    const seen = new Set(entries.map((e) => `${e.method} ${contract.template(e.path)} ${e.status}`));
    for (const must of [
      "POST /api/latest/projects/{projectKey}/repos/{repositorySlug}/webhooks 200",
      "PUT /api/latest/projects/{projectKey}/repos/{repositorySlug}/webhooks/{webhookId} 200",
      "DELETE /api/latest/projects/{projectKey}/webhooks/{webhookId} 204",
      "POST /keys/latest/projects/{projectKey}/repos/{repositorySlug}/ssh 201",
      "PUT /keys/latest/projects/{projectKey}/repos/{repositorySlug}/ssh/{keyId}/permission/{permission} 200",
      "DELETE /keys/latest/projects/{projectKey}/repos/{repositorySlug}/ssh/{keyId} 204",
      "POST /keys/latest/projects/{projectKey}/ssh 201",
      "POST /ssh/latest/keys 201",
      "POST /ssh/latest/keys 409",
      "DELETE /ssh/latest/keys/{keyId} 204",
      "PUT /access-tokens/latest/projects/{projectKey}/repos/{repositorySlug} 200",
      "POST /access-tokens/latest/projects/{projectKey}/repos/{repositorySlug}/{tokenId} 200",
      "PUT /access-tokens/latest/users/{userSlug} 200",
      "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/webhooks 404",
      "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/webhooks 401",
    ])
      assert.ok(seen.has(must), `exchange not exercised: ${must}`);
    assert.ok(
      entries.some((e) => e.query.includes("start=100")),
      "a second page was read",
    );
    const problems = entries.flatMap((e) => contract.check(e));
    assert.deepEqual(problems, []);
  });

  it("fails on an exchange that departs from the spec (the checker can fail)", () => {
    const bad = contract.check({
      method: "POST",
      path: "/rest/keys/latest/projects/PROJ/repos/api/ssh",
      query: "?bogus=1",
      requestBody: { key: { text: 42 }, permission: "REPO_READ" },
      status: 202,
      responseBody: undefined,
      responseHeaders: {},
      at: 0,
    });
    assert.deepEqual(bad, [
      'POST /rest/keys/latest/projects/PROJ/repos/api/ssh -> 202: query parameter "bogus" is not declared',
      "POST /rest/keys/latest/projects/PROJ/repos/api/ssh -> 202: request /key/text must be string (#/components/schemas/RestSshAccessKey)",
      "POST /rest/keys/latest/projects/PROJ/repos/api/ssh -> 202: status 202 is not declared (declared: 201, 400, 401, 404)",
    ]);
  });

  it("validates every exchange of a Data Center manifest's up and destroy (repository listing, presets, user tokens and keys)", async () => {
    const g = await dcFixture(); // the scenario above left its credential without permissions
    const saved = { ...process.env };
    Object.assign(process.env, FAST_RETRIES, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: g.emulator.dcUrl,
      BITBUCKET_TOKEN: TOKEN,
    });
    try {
      const engine = new Engine(g.harness);
      const example = path.resolve(__dirname, "../../examples/datacenter/bitbucket.yaml");
      const up = await engine.up(async () =>
        Object.values((await deployManifest(loadManifest(example))).resources),
      );
      assert.equal(up.error, undefined, up.error?.message);
      await engine.destroy();
      const entries = g.emulator.entries();
      const seen = new Set(entries.map((e) => `${e.method} ${contract.template(e.path)} ${e.status}`));
      for (const must of [
        "GET /api/latest/projects/{projectKey}/repos 200",
        "PUT /access-tokens/latest/users/{userSlug} 200",
        "DELETE /access-tokens/latest/users/{userSlug}/{tokenId} 204",
        "POST /ssh/latest/keys 201",
        "POST /api/latest/projects/{projectKey}/webhooks 200",
        "POST /keys/latest/projects/{projectKey}/ssh 201",
      ])
        assert.ok(seen.has(must), `exchange not exercised: ${must} (seen: ${[...seen].join("; ")})`);
      assert.deepEqual(
        entries.flatMap((e) => contract.check(e)),
        [],
      );
    } finally {
      process.env = saved;
      await g.close();
    }
  });
});
