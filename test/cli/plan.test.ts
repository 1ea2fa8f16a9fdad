import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { DEFAULT_SEED } from "../harness/fixture";
import { keyShown } from "../../provider/ssh";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "./run";

const hookKey = ed25519("ci@example.test");
const laptop = ed25519("me@laptop");
const host = ed25519();
const pair = ed25519();

/** One entry of every kind on acme/api; `adopt` added to each when asked. */
const manifest = (adopt = false) => {
  const a = adopt ? "\n    adopt: true" : "";
  return `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
    secret: { fromConfig: hookSecret }${a}
deployKeys:
  - repositories: [api]
    key: ${hookKey.publicLine}
    label: CI${a}
sshKeys:
  - key: ${laptop.publicLine}
    label: laptop${a}
pipelineVariables:
  - repositories: [api]
    key: REGION
    value: eu-west-1
    secured: false${a}
  - repositories: [api]
    key: DEPLOY_TOKEN
    value: { fromEnv: DEPLOY_TOKEN }${a}
knownHosts:
  - repositories: [api]
    hostname: deploy.example.test
    publicKey: ${host.publicLine}${a}
pipelineSshKeyPairs:
  - repositories: [api]
    privateKey: { fromConfig: pairKey }
    publicKey: ${pair.publicLine}${a}
`;
};

/** Makes every declared object by hand, as the manifest declares it (secrets included). */
async function makeAll(emu: Emulator) {
  const repo = "/repositories/acme/api";
  await byHand(emu, "POST", `${repo}/hooks`, {
    url: "https://hooks.example.test/ci",
    events: ["repo:push"],
    secret: "s",
  });
  await byHand(emu, "POST", `${repo}/deploy-keys`, { key: hookKey.publicLine, label: "CI" });
  const me = (await byHand(emu, "GET", "/user")) as { uuid: string };
  await byHand(emu, "POST", `/users/${encodeURIComponent(me.uuid)}/ssh-keys`, {
    key: laptop.publicLine,
    label: "laptop",
  });
  await byHand(emu, "POST", `${repo}/pipelines_config/variables`, {
    key: "REGION",
    value: "eu-west-1",
    secured: false,
  });
  await byHand(emu, "POST", `${repo}/pipelines_config/variables`, {
    key: "DEPLOY_TOKEN",
    value: "t0ken-value",
    secured: true,
  });
  const [type, key] = host.normalized.split(" ");
  await byHand(emu, "POST", `${repo}/pipelines_config/ssh/known_hosts`, {
    hostname: "deploy.example.test",
    public_key: { key_type: type, key },
  });
  await byHand(emu, "PUT", `${repo}/pipelines_config/ssh/key_pair`, {
    private_key: pair.privatePem,
    public_key: pair.publicLine,
  });
}

/** The names `pulumi up` gives the manifest's resources, as a `pulumi stack export` lists them. */
function stateExport(extra: string[] = []): string {
  return JSON.stringify({
    version: 3,
    deployment: {
      resources: [
        {
          urn: "urn:pulumi:dev::bitbucket-iac::pulumi:pulumi:Stack::bitbucket-iac-dev",
          type: "pulumi:pulumi:Stack",
        },
        ...extra.map((e) => {
          const [type, name] = e.split("::");
          return {
            urn: `urn:pulumi:dev::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:${type}::${name}`,
            type: `pulumi-nodejs:dynamic/bitbucket:${type}`,
            id: `id-of-${name}`,
            custom: true,
          };
        }),
      ],
    },
  });
}

describe("bitbucket-iac plan", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string;

  beforeEach(async () => {
    emu = await startEmulator(DEFAULT_SEED);
    restore = useEmulator(emu);
    dir = workdir({ "bitbucket.yaml": manifest(), "adopt.yaml": manifest(true) });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  it("plans a create of every kind with GETs only, one per collection, secrets and secured values never shown, plain ones shown; exit 2", async () => {
    const r = await run(["plan", "--stats"], dir);
    assert.equal(r.code, 2, r.err);
    const creates = r.out.split("\n").filter((l) => l.startsWith("+ create"));
    assert.deepEqual(
      creates.map((l) => l.replace(/^\+ create +/, "")),
      [
        `deploy key ${fingerprint(hookKey)} on acme/api`,
        "known host deploy.example.test on acme/api",
        "the Pipelines SSH key pair of acme/api", // sorted by resource name: ssh-key-pair/ before ssh-key/
        `SSH key ${fingerprint(laptop)} of Me Example (me)`,
        "variable DEPLOY_TOKEN on acme/api",
        "variable REGION on acme/api",
        "webhook https://hooks.example.test/ci on acme/api",
      ],
    );
    assert.match(r.out, /secret: \(write-only\)/);
    assert.match(r.out, /privateKey: \(write-only\)/);
    assert.match(r.out, /variable DEPLOY_TOKEN on acme\/api\n.*\n.*\n.*\n {4}value: \(write-only\)\n/);
    assert.match(r.out, /variable REGION on acme\/api\n.*\n.*\n.*\n {4}value: "eu-west-1"\n/); // plain: shown (#21 item 8)
    assert.doesNotMatch(r.out, /t0ken-value|not read by plan/);
    assert.match(
      r.out,
      /Plan: 7 to create, 0 to update, 0 to delete, 0 to adopt with changes; 0 unchanged\.$/,
    );
    const log = emu.log();
    assert.ok(
      log.every((l) => l.startsWith("GET ")),
      log.join("\n"),
    );
    assert.equal(
      new Set(log.map((l) => l.replace(/\?.*/, ""))).size,
      log.length,
      "a collection listed twice",
    );
    assert.match(r.err, /plan stats: 7 requests \(7 GET\)/);
    assert.match(r.err, /7 pages or objects read, each at most 1 time/);
  });

  it("adopts identical objects as they are and calls one with a write-only part a conflict, per the adoption policy", async () => {
    await makeAll(emu);
    const r = await run(["plan"], dir);
    assert.equal(r.code, 3, r.err); // conflicts: an up would stop
    const conflicts = r.out.split("\n").filter((l) => l.startsWith("! conflict"));
    assert.deepEqual(
      conflicts.map((l) => l.replace(/^! conflict +/, "")),
      [
        "the Pipelines SSH key pair of acme/api",
        "variable DEPLOY_TOKEN on acme/api",
        "webhook https://hooks.example.test/ci on acme/api",
      ],
    );
    assert.match(
      r.out,
      / {4}value \(secured\): \(write-only\)\n {4}it exists and differs .*set adopt: true to take it over/,
    );
    assert.match(
      r.out,
      /Plan: 0 to create, 0 to update, 0 to delete, 0 to adopt with changes, 3 conflicts \(pulumi up would stop\); 4 adopted as they are, 0 unchanged\.$/,
    );
    // With adopt: true, nothing Bitbucket shows would change: no changes, exit 0.
    const adopted = await run(["plan", "adopt.yaml"], dir);
    assert.equal(adopted.code, 0, adopted.out);
    assert.match(adopted.out, /^No changes\. Plan: 0 to create, .*; 7 adopted as they are, 0 unchanged\.$/m);
  });

  it("shows an adoption's changes field by field, and with --state updates and deletes instead", async () => {
    await makeAll(emu);
    const hooks = (await byHand(emu, "GET", "/repositories/acme/api/hooks")) as {
      values: Array<{ uuid: string }>;
    };
    await byHand(emu, "PUT", `/repositories/acme/api/hooks/${encodeURIComponent(hooks.values[0]!.uuid)}`, {
      url: "https://hooks.example.test/ci",
      events: ["repo:push", "repo:fork"],
      description: "edited by hand",
    });
    const api = emu.store.workspaces.get("acme")!.repos.get("api")!;
    api.deployKeys[0]!.label = "by hand";
    api.variables.find((v) => v.key === "REGION")!.value = "us-east-1";
    [...emu.store.accounts.values()][0]!.sshKeys[0]!.label = "old";
    const other = ed25519();
    api.knownHosts[0]!.key = other.normalized.split(" ")[1]!;
    await byHand(emu, "PUT", "/repositories/acme/api/pipelines_config/ssh/key_pair", {
      private_key: other.privatePem,
      public_key: other.publicLine,
    });

    const adopt = await run(["plan", "adopt.yaml"], dir);
    assert.equal(adopt.code, 2);
    assert.match(
      adopt.out,
      /< adopt +webhook https:\/\/hooks\.example\.test\/ci on acme\/api\n.*\n {4}description: "edited by hand" -> ""\n {4}events: \["repo:fork", "repo:push"\] -> \["repo:push"\]\n/,
    );
    assert.match(adopt.out, /< adopt +deploy key .*\n.*\n {4}label: "by hand" -> "CI"\n/);
    assert.match(
      adopt.out,
      /< adopt +variable REGION on acme\/api\n.*\n {4}value: "us-east-1" -> "eu-west-1"\n/,
    );
    assert.match(adopt.out, /< adopt +SSH key .*\n.*\n {4}label: "old" -> "laptop"\n/);
    assert.match(
      adopt.out,
      /< adopt +known host .*\n.*\n {4}publicKey: "ssh-ed25519 SHA256:[^"]+" -> "ssh-ed25519 SHA256:/,
    );
    assert.match(
      adopt.out,
      /< adopt +the Pipelines SSH key pair .*\n.*\n {4}privateKey: \(write-only\)\n {4}publicKey: "ssh-ed25519 SHA256:[^"]+" -> "ssh-ed25519 SHA256:/,
    );
    assert.doesNotMatch(adopt.out, /t0ken-value/); // plain values are shown, secured ones never (#21 item 8)
    assert.match(
      adopt.out,
      /Plan: 0 to create, 0 to update, 0 to delete, 6 to adopt with changes; 1 adopted as they are, 0 unchanged\./,
    );

    // The stack's state: what it manages updates; what it manages but no longer declares goes.
    const declared = JSON.parse((await run(["plan", "--format", "json"], dir)).out) as {
      resources: Array<{ type: string; name: string }>;
    };
    const names = declared.resources.map((p) => `${p.type}::${p.name}`);
    fs.writeFileSync(
      path.join(dir, "state.json"),
      stateExport([...names, "Webhook::webhook/acme/web/old.example.test"]),
    );
    const managed = await run(["plan", "--state", "state.json"], dir);
    assert.equal(managed.code, 2);
    const steps = managed.out.split("\n").filter((l) => /^[~\-+!<] /.test(l));
    assert.deepEqual(steps, [
      "~ update   deploy key " + fingerprint(hookKey) + " on acme/api",
      "~ update   known host deploy.example.test on acme/api",
      "~ update   the Pipelines SSH key pair of acme/api",
      `~ update   SSH key ${fingerprint(laptop)} of Me Example (me)`,
      "~ update   variable REGION on acme/api",
      "~ update   webhook https://hooks.example.test/ci on acme/api",
      "- delete   Webhook id-of-webhook/acme/web/old.example.test",
    ]);
    assert.match(
      managed.out,
      /Plan: 0 to create, 6 to update, 1 to delete, 0 to adopt with changes; 1 unchanged\.$/,
    );
    assert.doesNotMatch(
      managed.out,
      /write-only/,
      "a managed object's secret is the stack's own: not listed",
    );
  });

  it("carries JSON values in --format json (formatVersion 1): lists, booleans and plain values as they are, write-only parts by presence only", async () => {
    const repo = "/repositories/acme/api";
    await byHand(emu, "POST", `${repo}/hooks`, {
      url: "https://hooks.example.test/ci",
      events: ["repo:push", "repo:fork"],
      active: false,
    }); // no secret: the declared one is a certain change
    await byHand(emu, "POST", `${repo}/pipelines_config/variables`, {
      key: "REGION",
      value: "us-east-1",
      secured: false,
    });
    await byHand(emu, "POST", `${repo}/pipelines_config/variables`, {
      key: "DEPLOY_TOKEN",
      value: "t0ken-value",
      secured: true,
    });
    const r = await run(["plan", "adopt.yaml", "--format", "json"], dir);
    assert.equal(r.code, 2, r.err);
    assert.doesNotMatch(r.out, /t0ken-value/);
    const plan = JSON.parse(r.out) as {
      formatVersion: number;
      resources: Array<{ action: string; name: string; changes: unknown[] }>;
    };
    assert.equal(plan.formatVersion, 1);
    const changes = (name: string) => plan.resources.find((p) => p.name === name)?.changes;
    assert.deepEqual(changes("webhook/acme/api/hooks.example.test/ci"), [
      { field: "active", from: false, to: true },
      { field: "events", from: ["repo:fork", "repo:push"], to: ["repo:push"] },
      { field: "secret", writeOnly: true, from: "none", to: "set" },
    ]);
    assert.deepEqual(changes("variable/acme/api/REGION"), [
      { field: "value", from: "us-east-1", to: "eu-west-1" },
    ]);
    assert.deepEqual(changes("variable/acme/api/DEPLOY_TOKEN"), [
      { field: "value (secured)", writeOnly: true },
    ]);
    // A create lists the declared fields as JSON values; the key pair's private key by presence.
    assert.deepEqual(changes("ssh-key-pair/acme/api"), [
      { field: "privateKey", writeOnly: true, to: "set" },
      { field: "publicKey", to: keyShown(pair.publicLine) },
    ]);
    const text = await run(["plan", "adopt.yaml"], dir);
    assert.match(
      text.out,
      /< adopt +webhook https:\/\/hooks\.example\.test\/ci on acme\/api\n.*\n {4}active: false -> true\n {4}events: \["repo:fork", "repo:push"\] -> \["repo:push"\]\n {4}secret: \(none\) -> \(set\)\n/,
    );
  });

  it("shows un-securing a variable the stack manages as a change, though its value cannot be read", async () => {
    await makeAll(emu);
    const plain = manifest().replace(
      "value: { fromEnv: DEPLOY_TOKEN }",
      "value: not-secret\n    secured: false",
    );
    fs.writeFileSync(path.join(dir, "plain.yaml"), plain);
    fs.writeFileSync(
      path.join(dir, "state.json"),
      stateExport(["PipelineVariable::variable/acme/api/DEPLOY_TOKEN"]),
    );
    const r = await run(["plan", "plain.yaml", "--state", "state.json"], dir);
    assert.match(r.out, /~ update {3}variable DEPLOY_TOKEN on acme\/api\n.*\n {4}secured: true -> false\n/);
  });

  it("renders Markdown for a pull request comment (snapshot)", async () => {
    await makeAll(emu);
    emu.store.workspaces.get("acme")!.repos.get("api")!.deployKeys[0]!.label = "by hand";
    const r = await run(["plan", "--format", "markdown"], dir);
    assert.equal(r.code, 3); // it has conflicts
    const shown = r.out.replace(emu.apiUrl, "http://127.0.0.1:PORT/2.0");
    assert.equal(
      shown,
      `<!-- bitbucket-iac plan -->
### bitbucket-iac plan: 4 changes

\`bitbucket.yaml\` against \`http://127.0.0.1:PORT/2.0\`, planned as for a new stack (no \`--state\`).

**Plan: 0 to create, 0 to update, 0 to delete, 0 to adopt with changes, 4 conflicts (pulumi up would stop); 3 adopted as they are, 0 unchanged.**

**Requests:** \`pulumi up\` will send 7 (7 GET): 6 collections listed once each (6 requests) for 7 lookups, 0 of the program's own (a conflict stops pulumi up: it sends no write for it, and at most this much). 7 API requests: 1,000 per hour with an access token (its own allowance) → fits in one hour.

**By kind:**
- DeployKey: 1 in conflict
- PipelineSshKeyPair: 1 in conflict
- PipelineVariable: 1 in conflict
- Webhook: 1 in conflict

**Needs attention (4):**
- **conflict** deploy key ${fingerprint(hookKey)} on acme/api (\`DeployKey deploy-key/acme/api/${fingerprint(hookKey).slice(7, 19)}\`)
- **conflict** the Pipelines SSH key pair of acme/api (\`PipelineSshKeyPair ssh-key-pair/acme/api\`)
- **conflict** variable DEPLOY\\_TOKEN on acme/api (\`PipelineVariable variable/acme/api/DEPLOY_TOKEN\`)
- **conflict** webhook https://hooks.example.test/ci on acme/api (\`Webhook webhook/acme/api/hooks.example.test/ci\`)

#### acme/api
- **conflict** deploy key ${fingerprint(hookKey)} on acme/api  
  \`DeployKey deploy-key/acme/api/${fingerprint(hookKey).slice(7, 19)}\`
  - label: \`"by hand"\` → \`"CI"\`
  - _it exists and differs (or holds a write-only value): pulumi up stops here with no write; set adopt: true to take it over, or declare it as it is_
- **conflict** the Pipelines SSH key pair of acme/api  
  \`PipelineSshKeyPair ssh-key-pair/acme/api\`
  - privateKey: _(write-only)_
  - _it exists and differs (or holds a write-only value): pulumi up stops here with no write; set adopt: true to take it over, or declare it as it is_
- **conflict** variable DEPLOY\\_TOKEN on acme/api  
  \`PipelineVariable variable/acme/api/DEPLOY_TOKEN\`
  - value (secured): _(write-only)_
  - _it exists and differs (or holds a write-only value): pulumi up stops here with no write; set adopt: true to take it over, or declare it as it is_
- **conflict** webhook https://hooks.example.test/ci on acme/api  
  \`Webhook webhook/acme/api/hooks.example.test/ci\`
  - secret: _(write-only)_
  - _it exists and differs (or holds a write-only value): pulumi up stops here with no write; set adopt: true to take it over, or declare it as it is_`,
    );
  });

  it("exits 3 when a resource cannot be planned and 64 on bad usage, naming what is wrong, and still plans the rest", async () => {
    const ghost = manifest().replace("repositories: [api]\n    url:", "repositories: [ghost]\n    url:");
    fs.writeFileSync(path.join(dir, "ghost.yaml"), ghost);
    const r = await run(["plan", "ghost.yaml"], dir);
    assert.equal(r.code, 3); // a resource could not be planned; usage errors exit 64
    assert.match(
      r.out,
      /x error +webhook https:\/\/hooks\.example\.test\/ci on acme\/ghost\n.*\n {4}GET \/repositories\/acme\/ghost\/hooks.* failed \(404\): Repository acme\/ghost not found/,
    );
    assert.match(r.out, /Plan: 6 to create, .*1 could not be planned\.$/);

    const bad = await run(["plan", "--format", "yaml"], dir);
    assert.equal(bad.code, 64);
    assert.match(
      bad.err,
      /^bitbucket-iac plan: --format must be one of text, markdown, json, not "yaml"\n\nusage: bitbucket-iac plan/,
    );
    assert.match(
      (await run(["plan", "--state", "nope.json"], dir)).err,
      /--state nope\.json: no such file; give the output of `pulumi stack export --file nope\.json`/,
    );
    delete process.env.BITBUCKET_TOKEN;
    const none = await run(["plan"], dir);
    assert.equal(none.code, 1);
    assert.match(none.err, /^bitbucket-iac plan: no Bitbucket credentials: set BITBUCKET_TOKEN/);
    assert.deepEqual(
      emu.log().filter((l) => !l.startsWith("GET ")),
      [],
      "plan never writes",
    );
  });

  it("exits 2 when the plan has exactly one change, and 0 once it is made", async () => {
    fs.writeFileSync(
      path.join(dir, "one.yaml"),
      "version: 1\nworkspace: acme\npipelineVariables:\n  - repositories: [api]\n    key: REGION\n    value: eu-west-1\n    secured: false\n",
    );
    const one = await run(["plan", "one.yaml"], dir);
    assert.equal(one.code, 2, one.out + one.err);
    assert.match(one.out, /\+ create +variable REGION on acme\/api\n/);
    assert.match(one.out, /Plan: 1 to create, 0 to update, 0 to delete, /);
    await byHand(emu, "POST", "/repositories/acme/api/pipelines_config/variables", {
      key: "REGION",
      value: "eu-west-1",
      secured: false,
    });
    const none = await run(["plan", "one.yaml"], dir);
    assert.equal(none.code, 0, none.out + none.err);
    assert.match(none.out, /Plan: 0 to create, 0 to update, 0 to delete, /);
  });

  it("prints JSON with a summary and every resource, unchanged ones included", async () => {
    await makeAll(emu);
    const r = await run(["plan", "adopt.yaml", "--format", "json"], dir);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out) as {
      summary: Record<string, number>;
      resources: Array<{ action: string; changes: unknown[] }>;
    };
    assert.deepEqual(
      { changes: j.summary.changes, adoptAsIs: j.summary.adoptAsIs, errors: j.summary.errors },
      { changes: 0, adoptAsIs: 7, errors: 0 },
    );
    assert.equal(j.resources.length, 7);
    assert.ok(j.resources.every((p) => p.action === "adopt"));
  });
});

const fingerprint = (k: { publicLine: string }) => keyShown(k.publicLine).split(" ")[1]!;

describe("bitbucket-iac plan on integrations", function () {
  this.timeout(60_000);

  it("plans the children a preset declares, and counts the consumer as one to verify", async () => {
    const emu = await startEmulator({ ...DEFAULT_SEED, workspaces: { acme: ["api", "web"] } });
    const restore = useEmulator(emu);
    const key = ed25519("ci@generic");
    const dir = workdir({
      "bitbucket.yaml": [
        "version: 1",
        "workspace: acme",
        "oauthConsumers:",
        "  - id: ci",
        "    name: CI",
        "    scopes: [repository, webhook]",
        "    key: { fromConfig: ciKey }",
        "    secret: { fromConfig: ciSecret }",
        "integrations:",
        "  - id: ci",
        "    preset: generic",
        "    consumer: ci",
        "    repositories: [api, web]",
        "    options:",
        "      scopes: [repository, webhook]",
        "      webhooks: [{ url: https://ci.example.com/hook, events: [repo:push] }]",
        `      deployKeys: [{ key: ${key.publicLine}, label: ci }]`,
        "",
      ].join("\n"),
    });
    try {
      const r = await run(["plan", "bitbucket.yaml"], dir);
      assert.equal(r.code, 2, r.err);
      assert.deepEqual(
        r.out
          .split("\n")
          .filter((l) => l.startsWith("+ create"))
          .sort(),
        [
          `+ create   deploy key ${fingerprint(key)} on acme/api`,
          `+ create   deploy key ${fingerprint(key)} on acme/web`,
          "+ create   webhook https://ci.example.com/hook on acme/api",
          "+ create   webhook https://ci.example.com/hook on acme/web",
        ],
      );
      assert.match(r.out, /; 0 unchanged, 1 OAuth consumer to verify\.$/);
      assert.doesNotMatch(r.out, /ciKey|ciSecret|not read by plan/);
    } finally {
      restore();
      fs.rmSync(dir, { recursive: true, force: true });
      await emu.close();
    }
  });

  it("plans Puppet Pipelines' SSH key on the credentials' account and nothing else: no consumer, no webhook", async () => {
    const emu = await startEmulator({ ...DEFAULT_SEED, workspaces: { acme: ["api", "web"] } });
    const restore = useEmulator(emu);
    try {
      // The example with the key Pipelines shows pasted in (the example itself ships none).
      const example = fs.readFileSync(
        path.resolve(__dirname, "../../examples/puppet-pipelines/bitbucket.yaml"),
        "utf8",
      );
      const dir = workdir({
        "bitbucket.yaml": example.replace(
          "# sshPublicKey: ssh-ed25519 AAAA... pipelines@puppet",
          "sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIihzfTZjBGidcZAPW8/r4bH2csyjxXyZ0YIpH2dxn+e pipelines@puppet",
        ),
      });
      const r = await run(["plan", "bitbucket.yaml"], dir).finally(() =>
        fs.rmSync(dir, { recursive: true, force: true }),
      );
      assert.equal(r.code, 2, r.err);
      assert.deepEqual(
        r.out.split("\n").filter((l) => /^[+~-] /.test(l)),
        [`+ create   SSH key SHA256:8qhBfu3z3eOhU/311RC2K50IE8aNhVtsG2NI4nDYxZE of Me Example (me)`],
      );
      assert.doesNotMatch(r.out, /OAuth consumer|webhook/);
    } finally {
      restore();
      await emu.close();
    }
  });
});
