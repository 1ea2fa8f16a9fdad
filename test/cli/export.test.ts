import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "./run";

/** 110 repositories (the listing spans two pages of 100) and 47 objects made by hand on 12 of them. */
async function seedObjects(emu: Emulator): Promise<number> {
  let made = 0;
  const post = async (p: string, body: unknown, method = "POST") => {
    await byHand(emu, method, p, body);
    made++;
  };
  const deployKey = ed25519("ci@example.test");
  const host = ed25519();
  const laptop = ed25519("me@laptop");
  for (let i = 0; i < 12; i++) {
    const repo = `/repositories/acme/svc-${String(i).padStart(3, "0")}`;
    await post(`${repo}/hooks`, {
      url: "https://ci.example.test/push",
      events: ["repo:push", "pullrequest:created"],
    });
    await post(`${repo}/pipelines_config/variables`, { key: "REGION", value: "eu-west-1", secured: false });
    if (i < 4)
      await post(`${repo}/hooks`, {
        url: "https://deploy.example.test/hook",
        events: ["repo:push"],
        description: "deploys",
        secret: `s${i}`,
      });
    if (i < 6) await post(`${repo}/deploy-keys`, { key: deployKey.publicLine, label: "CI clone" });
    if (i < 3)
      await post(`${repo}/pipelines_config/variables`, {
        key: "DEPLOY_TOKEN",
        value: `t${i}`,
        secured: true,
      });
    if (i < 3) {
      const [key_type, key] = host.normalized.split(" ");
      await post(`${repo}/pipelines_config/ssh/known_hosts`, {
        hostname: "deploy.example.test",
        public_key: { key_type, key },
      });
    }
    if (i < 2) {
      const pair = ed25519();
      await post(
        `${repo}/pipelines_config/ssh/key_pair`,
        { private_key: pair.privatePem, public_key: pair.publicLine },
        "PUT",
      );
      const list = (await byHand(emu, "GET", `${repo}/environments`)) as {
        values: Array<{ uuid: string; name: string }>;
      };
      const prod = list.values.find((e) => e.name === "Production")!;
      await post(`${repo}/deployments_config/environments/${encodeURIComponent(prod.uuid)}/variables`, {
        key: "TARGET",
        value: `prod-${i}.example.test`,
        secured: false,
      });
    }
  }
  await post("/workspaces/acme/hooks", {
    url: "https://audit.example.test/events",
    events: ["repo:created"],
  });
  await post("/workspaces/acme/pipelines-config/variables", { key: "ORG", value: "acme", secured: false });
  const me = (await byHand(emu, "GET", "/user")) as { uuid: string };
  await post(`/users/${encodeURIComponent(me.uuid)}/ssh-keys`, { key: laptop.publicLine, label: "laptop" });
  return made;
}

describe("bitbucket-iac export", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let restore: () => void;

  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: Array.from({ length: 110 }, (_, i) => `svc-${String(i).padStart(3, "0")}`) },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu);
  });
  after(async () => {
    restore();
    await emu.close();
  });

  it("writes a manifest of 30+ objects across pages that validates and plans to no changes (round trip)", async () => {
    const made = await seedObjects(emu);
    assert.ok(made >= 30, `only ${made} objects`);
    const dir = workdir({});
    emu.resetLog();
    const exported = await run(["export", "--workspace", "acme", "-o", "exported.yaml"], dir);
    assert.equal(exported.code, 0, exported.err);
    assert.ok(
      emu.log().every((l) => l.startsWith("GET ")),
      "export only reads",
    );
    const pages = emu.entries().filter((e) => e.path === "/2.0/repositories/acme");
    assert.deepEqual(
      pages.map((e) => new URLSearchParams(e.query).get("page")),
      [null, "2"],
      "both pages of repositories",
    );
    assert.match(
      exported.err,
      /export: repositories read: 11\/110\n(?:.*\n){8}export: repositories read: 110\/110/,
    );
    assert.match(
      exported.err,
      /^bitbucket-iac export: 17 webhooks, 6 deployKeys, 1 sshKeys, 18 pipelineVariables, 2 pipelineSshKeyPairs, 3 knownHosts written to exported\.yaml$/m,
    );
    const text = fs.readFileSync(path.join(dir, "exported.yaml"), "utf8");
    // Write-only values are references, listed with what each one holds; none is in the file.
    assert.match(
      exported.err,
      /write-only values to set before pulumi up \(9\):\n {4}pulumi config set --secret webhook-secret-svc-000-deploy-example-test-hook--[0-9a-f]{6} <value> {3}# the secret of webhook https:\/\/deploy\.example\.test\/hook on acme\/svc-000/,
    );
    assert.match(text, /pulumi config set --secret variable-svc-002-DEPLOY_TOKEN <value>/);
    assert.doesNotMatch(text, /\bt[012]\b|\bs[0-3]\b|PRIVATE KEY/);
    // Identical entries on several repositories are one entry.
    assert.match(
      text,
      /- repositories:\n {6}- svc-000\n(?: {6}- svc-0\d\d\n){11} {4}url: https:\/\/ci\.example\.test\/push/,
    );
    // 6 webhook entries (one for 12 repositories), 1 deploy key, 1 SSH key, 7 variables, 2 key pairs, 1 known host.
    assert.equal((text.match(/^ {4}adopt: true$/gm) ?? []).length, 6 + 1 + 1 + 7 + 2 + 1);

    const valid = await run(["validate", "exported.yaml"], dir);
    assert.equal(valid.code, 0, valid.err);
    emu.resetLog();
    const planned = await run(["plan", "exported.yaml", "--stats"], dir);
    assert.equal(planned.code, 0, planned.out);
    assert.match(
      planned.out,
      /^No changes\. Plan: 0 to create, 0 to update, 0 to delete, 0 to adopt with changes; 47 adopted as they are, 0 unchanged\.$/m,
    );
    assert.match(planned.err, /each at most 1 time/);
  });

  it("keeps to the repositories a glob names, and explains a missing --workspace", async () => {
    const dir = workdir({});
    emu.resetLog();
    const r = await run(["export", "--workspace", "acme", "--repositories", "svc-00?"], dir);
    assert.equal(r.code, 0, r.err);
    const hooksRead = emu.log().filter((l) => /\/svc-\d+\/hooks$/.test(l));
    assert.deepEqual(hooksRead.length, 10, "only svc-000..svc-009 are read");
    assert.doesNotMatch(
      r.out,
      /svc-01\d|audit\.example\.test|ORG/,
      "no other repository, no workspace-wide objects",
    );
    const missing = await run(["export"], dir);
    assert.equal(missing.code, 64);
    assert.match(
      missing.err,
      /^bitbucket-iac export: --workspace is required: the workspace slug, e\.g\. --workspace acme\n\nusage: bitbucket-iac export/,
    );
    emu.resetLog();
    const hostile = await run(["export", "--workspace", "acme", "--repositories", "*a".repeat(21)], dir);
    assert.equal(hostile.code, 64);
    assert.match(
      hostile.err,
      /^bitbucket-iac export: --repositories: the glob has 21 wildcards \(\* and \?\); at most 20 are allowed/,
    );
    assert.deepEqual(emu.log(), [], "refused before any request");
  });
});
