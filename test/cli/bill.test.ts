// Issue 23.3: the request bill `plan --stats` predicts is what `pulumi up` then sends. Each case
// plans through the command line (`plan --stats --format json`, with `--state` from the engine's
// export after the first run), then runs `up` through the engine harness, and compares the bill
// with the emulator's request log: per method, in total, and the collections listed (each once).
// The program (its repository listings) and the provider host both talk to the one emulator, so
// its log holds both.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import type { Bill } from "../../provider/cli/bill";
import { Engine } from "../harness/deploy";
import { dcFixture, DEFAULT_SEED, fixture, TOKEN, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";
import axios from "axios";
import { assertBilled } from "./billed";
import { run, useEmulator, workdir } from "./run";

const PAIR = ed25519();
const DEPLOY = ed25519("deploy@example.test");
const HOST = ed25519();
const CONFIG = { pairKey: PAIR.privatePem };

describe("issue 23.3: plan's request bill is what pulumi up sends", function () {
  this.timeout(60_000);
  let f: Fixture;
  let restore: () => void;

  afterEach(async () => {
    restore?.();
    pulumi.runtime.setAllConfig({}, []);
    setProviderConfig(() => undefined);
    await f?.close();
  });

  /** Config as a stack has it (the program reads the pair's private key), pointing at the emulator. */
  function configure(connection: Record<string, string>): void {
    pulumi.runtime.setAllConfig(
      {
        ...Object.fromEntries(Object.entries(CONFIG).map(([k, v]) => [`bitbucket-iac:${k}`, v])),
        ...connection,
      },
      Object.keys(CONFIG).map((k) => `bitbucket-iac:${k}`),
    );
  }

  /** A Data Center emulator, the program's environment and the stack's config pointing at it. */
  async function startDataCenter(): Promise<void> {
    f = await dcFixture();
    restore = useEmulator(f.emulator, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: f.emulator.dcUrl,
    });
    configure({
      "bitbucket:flavor": "datacenter",
      "bitbucket:apiUrl": f.emulator.dcUrl,
      "bitbucket:token": TOKEN,
    });
  }

  /** Plans `text` (with the engine's state after a first run), runs up, and compares. */
  async function planAndUp(engine: Engine, dir: string, text: string, stated: boolean, apiPrefix: string) {
    fs.writeFileSync(path.join(dir, "bitbucket.yaml"), text);
    const args = ["plan", "--stats", "--format", "json"];
    if (stated) {
      fs.writeFileSync(path.join(dir, "state.json"), engine.checkpoint());
      args.push("--state", "state.json");
    }
    const p = await run(args, dir);
    assert.ok([0, 2].includes(p.code), `plan exited ${p.code}: ${p.err}\n${p.out}`);
    const plan = JSON.parse(p.out) as {
      bill: Bill;
      resources: Array<{ action: string; name: string; type: string }>;
    };
    assert.match(p.err, /pulumi up will send \d+ requests/);
    f.emulator.resetLog();
    const result = await engine.up(async () =>
      Object.values((await deployManifest(parseManifest(text, "bitbucket.yaml"))).resources),
    );
    assert.equal(result.error, undefined, `up failed: ${result.error?.message}`);
    assertBilled(plan.bill, f.emulator.log(), apiPrefix, stated ? "the second up" : "the first up");
    return { plan, steps: result.steps };
  }

  it("predicts on Cloud, exactly, a first up (creates, an adoption, selectors listed) and a second (updates, a delete, a create, unchanged)", async () => {
    f = await fixture(DEFAULT_SEED);
    restore = useEmulator(f.emulator);
    configure({ "bitbucket:apiUrl": f.emulator.apiUrl, "bitbucket:token": TOKEN });
    // Made by hand before the stack, as the manifest declares it: adopted as it is.
    f.emulator.store.addHook("acme", "web", { url: "https://ci.example.test/push", events: ["repo:push"] });
    const dir = workdir({});
    const first = `version: 1
workspace: acme
webhooks:
  - { repositories: "*", url: "https://ci.example.test/push", events: [repo:push] }
  - { repositories: [api], url: "https://ci.example.test/pr", events: [pullrequest:created] }
pipelineVariables:
  - { repositories: "*", key: REGION, value: eu-west-1, secured: false }
  - { repositories: [api], key: STAGE, value: prod, secured: false }
deployKeys:
  - { repositories: [web], key: "${DEPLOY.publicLine}", label: CI }
knownHosts:
  - { repositories: [api], hostname: deploy.example.test, publicKey: "${HOST.publicLine}" }
pipelineSshKeyPairs:
  - { repositories: [api], privateKey: { fromConfig: pairKey }, publicKey: "${PAIR.publicLine}" }
`;
    const engine = new Engine(f.harness);
    const a = await planAndUp(engine, dir, first, false, "/2.0");
    assert.deepEqual(a.plan.resources.map((r) => r.action).sort(), [
      "adopt",
      "create",
      "create",
      "create",
      "create",
      "create",
      "create",
      "create",
      "create",
    ]);
    // Both repositories' hooks and variables, web's keys, api's known hosts: 6 listings; the
    // program lists the workspace's repositories once.
    assert.equal(a.plan.bill.shared.length, 6);
    assert.equal(a.plan.bill.program.requests, 1);
    assert.equal(a.plan.bill.window.fits, true);

    const second = first
      .replace("value: eu-west-1", "value: us-east-1")
      .replace("  - { repositories: [api], key: STAGE, value: prod, secured: false }\n", "")
      .replace("label: CI", "label: deploy")
      .replace(
        'repositories: [api], url: "https://ci.example.test/pr"',
        'repositories: "*", url: "https://ci.example.test/pr"',
      );
    const b = await planAndUp(engine, dir, second, true, "/2.0");
    const actions = Object.fromEntries(b.plan.resources.map((r) => [r.name, r.action]));
    assert.equal(Object.values(actions).filter((x) => x === "update").length, 3, JSON.stringify(actions));
    assert.equal(Object.values(actions).filter((x) => x === "delete").length, 1, JSON.stringify(actions));
    assert.equal(Object.values(actions).filter((x) => x === "create").length, 1, JSON.stringify(actions));
    assert.ok(Object.values(actions).filter((x) => x === "nothing").length >= 3, JSON.stringify(actions));
  });

  it("bills no delete for a dropped record whose object a renamed entry adopts (an integration renamed ci1 -> ci)", async () => {
    f = await fixture(DEFAULT_SEED);
    restore = useEmulator(f.emulator);
    configure({ "bitbucket:apiUrl": f.emulator.apiUrl, "bitbucket:token": TOKEN });
    const dir = workdir({});
    const first = `version: 1
workspace: acme
integrations:
  - id: ci1
    preset: generic
    repositories: [api]
    options:
      webhooks: [{ url: "https://ci.example.test/generic", events: [repo:push] }]
    adopt: true
webhooks:
  - { repositories: [api], url: "https://ci.example.test/other", events: [repo:push] }
`;
    const engine = new Engine(f.harness);
    await planAndUp(engine, dir, first, false, "/2.0");
    // The renamed entry's webhook adopts the hook ci1's record points at (adopt: true: its generated
    // secret cannot be compared): up drops the record and keeps the hook (ownership.ts
    // keptByThisRun); the other hook's entry goes, and is deleted.
    const second = first
      .replace("id: ci1", "id: ci")
      .replace(`  - { repositories: [api], url: "https://ci.example.test/other", events: [repo:push] }\n`, "")
      .replace("webhooks:\n", "");
    const b = await planAndUp(engine, dir, second, true, "/2.0");
    const steps = b.plan.resources.filter((r) => r.type === "Webhook").map((r) => r.action);
    assert.deepEqual(steps.sort(), ["adopt", "delete", "delete"]);
    assert.equal(
      b.plan.bill.byMethod.DELETE,
      1,
      "one DELETE: the other hook's; the renamed one's object stays",
    );
    assert.equal(f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks.length, 1);
  });

  it("predicts on Data Center, exactly, a first up (an access token, an adoption) and a second (an update, a delete, unchanged)", async () => {
    await startDataCenter();
    // Made by hand before the stack, as the manifest declares it: adopted as it is.
    await axios.post(
      `${f.emulator.dcUrl}/rest/api/latest/projects/PROJ/repos/web/webhooks`,
      {
        name: "CI",
        url: "https://ci.example.test/push",
        events: ["repo:refs_changed"],
        active: true,
        sslVerificationRequired: true,
        configuration: {},
      },
      { headers: { Authorization: `Bearer ${TOKEN}` } },
    );
    const dir = workdir({});
    const first = `version: 1
flavor: datacenter
project: PROJ
webhooks:
  - { repositories: "PROJ/*", url: "https://ci.example.test/push", events: [repo:refs_changed], description: CI }
  - { url: "https://ci.example.test/project", events: [pr:opened], description: project }
deployKeys:
  - { repositories: [api], key: "${DEPLOY.publicLine}", label: deploy, permission: REPO_READ }
accessTokens:
  - { name: release, repositories: [api], permissions: [REPO_READ] }
`;
    const engine = new Engine(f.harness);
    const a = await planAndUp(engine, dir, first, false, "");
    assert.equal(a.plan.bill.window.flavor, "datacenter");
    assert.deepEqual(a.plan.resources.map((r) => r.action).sort(), [
      "adopt",
      "create",
      "create",
      "create",
      "create",
    ]);
    assert.equal(a.plan.bill.byMethod.PUT, 1, "the access token is made by a PUT");

    const second = first
      .replace("permission: REPO_READ", "permission: REPO_WRITE")
      .replace(
        `  - { url: "https://ci.example.test/project", events: [pr:opened], description: project }\n`,
        "",
      );
    const b = await planAndUp(engine, dir, second, true, "");
    const actions = b.plan.resources.map((r) => r.action).sort();
    assert.deepEqual(actions, ["delete", "nothing", "nothing", "nothing", "update"]);
  });

  it("lists a Data Center collection once whatever the order of its writes: a token made (PUT), updated (POST), an access key's permission changed (PUT below it)", async () => {
    // The bill counts one listing per collection per run (cache.ts). Here each step starts after
    // the write before it (in up they may interleave any way): each answer patches the listing.
    f = await dcFixture();
    const TOKENS = "/rest/access-tokens/latest/projects/PROJ/repos/api";
    const KEYS = "/rest/keys/latest/projects/PROJ/repos/api/ssh";
    const token = (name: string, permissions = ["REPO_READ"]) => ({
      project: "PROJ",
      repository: "api",
      name,
      permissions,
    });
    const key = (k: { publicLine: string }, label: string, permission = "REPO_READ") => ({
      project: "PROJ",
      repository: "api",
      key: k.publicLine,
      label,
      permission,
    });
    const release = await f.harness.up("AccessToken", token("release"));
    await f.harness.up("AccessToken", token("deploy"));
    const d = await f.harness.plan("AccessToken", release.id, release.outs, token("release", ["REPO_WRITE"]));
    await f.harness.update("AccessToken", release.id, release.outs, d.inputs);
    await f.harness.up("AccessToken", token("audit"));
    const ci = await f.harness.up("DeployKey", key(DEPLOY, "ci"));
    const k = await f.harness.plan("DeployKey", ci.id, ci.outs, key(DEPLOY, "ci", "REPO_WRITE"));
    await f.harness.update("DeployKey", ci.id, ci.outs, k.inputs);
    await f.harness.up("DeployKey", key(HOST, "other"));
    const keyId = String(ci.outs.keyId);
    assert.deepEqual(f.emulator.log(), [
      `GET ${TOKENS}`,
      `PUT ${TOKENS}`,
      `PUT ${TOKENS}`,
      `POST ${TOKENS}/${String(release.outs.tokenId)}`,
      `PUT ${TOKENS}`,
      `GET ${KEYS}`,
      `POST ${KEYS}`,
      `PUT ${KEYS}/${keyId}/permission/REPO_WRITE`,
      `POST ${KEYS}`,
    ]);
  });

  it("predicts on Data Center, exactly, two token creates in one collection, then a token's update beside a create there and an access key's permission beside another key", async () => {
    await startDataCenter();
    const dir = workdir({});
    // Tokens are made by a PUT to their collection, and updated by a POST to the token; an access
    // key's permission changes by a PUT below the key. Each answer patches the run's listing of
    // the collection (cache.ts), so each collection is listed once however the steps interleave.
    const first = `version: 1
flavor: datacenter
project: PROJ
accessTokens:
  - { name: release, permissions: [PROJECT_READ] }
  - { name: deploy, permissions: [REPO_READ] }
deployKeys:
  - { repositories: [api], key: "${DEPLOY.publicLine}", label: deploy, permission: REPO_READ }
`;
    const engine = new Engine(f.harness);
    const a = await planAndUp(engine, dir, first, false, "");
    assert.deepEqual(a.plan.resources.map((r) => r.action).sort(), ["create", "create", "create"]);
    assert.equal(a.plan.bill.byMethod.PUT, 2, "each token is made by a PUT");
    const tokens = a.plan.bill.shared.filter((x) => x.path.includes("/access-tokens/"));
    assert.deepEqual(
      tokens.map((x) => [x.path, x.readBy]),
      [["/rest/access-tokens/latest/projects/PROJ", 2]],
    );

    const second = first
      .replace(
        "{ name: release, permissions: [PROJECT_READ] }",
        "{ name: release, permissions: [PROJECT_WRITE] }",
      )
      .replace("accessTokens:\n", "accessTokens:\n  - { name: audit, permissions: [PROJECT_READ] }\n")
      .replace("permission: REPO_READ", "permission: REPO_WRITE")
      .concat(
        `  - { repositories: [api], key: "${HOST.publicLine}", label: other, permission: REPO_READ }\n`,
      );
    const b = await planAndUp(engine, dir, second, true, "");
    const actions = Object.fromEntries(b.plan.resources.map((r) => [r.name, r.action]));
    assert.deepEqual(
      Object.values(actions).sort(),
      ["create", "create", "nothing", "update", "update"],
      JSON.stringify(actions),
    );
    assert.equal(b.plan.bill.byMethod.POST, 2, "the token's update and the new key");
    assert.equal(b.plan.bill.byMethod.PUT, 2, "the new token and the key's permission");
  });
});
