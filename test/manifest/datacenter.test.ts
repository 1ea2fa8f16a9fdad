// A Data Center manifest (examples/datacenter) as `pulumi up` runs it: the program declares its
// resources through the DC presets and entries, then the engine harness applies them to the
// emulator's Data Center: everything is created, a second run changes nothing, the outputs are
// what the platforms ask for, and destroy leaves the server as it was.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { deployManifest } from "../../provider/manifest/deploy";
import { isManifestError, loadManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { DC_SEED, dcFixture, FAST_RETRIES, TOKEN, type Fixture } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";

const EXAMPLE = path.resolve(__dirname, "../../examples/datacenter/bitbucket.yaml");

/** What the example declares: [type, name] of every custom resource. */
const DECLARED = [
  ["AccessToken", "access-token/PROJ/api/release-job"],
  ["AccessToken", "platformsh-token"],
  ["AccessToken", "puppet-token"],
  ["DeployKey", "deploy-key/PROJ/*/P1ZvzG0nG3sC"],
  ["Webhook", "webhook/PROJ/*/ci.example.com/bitbucket"],
  ["Webhook", "webhook/PROJ/api/jenkins.example.com/bitbucket-hook/"],
  ["Webhook", "webhook/PROJ/web/jenkins.example.com/bitbucket-hook/"],
  ["SshKey", "ssh-key/ci-bot/8qhBfu3z3eOh"],
];

/** Resolves an output (secret or not) to its value. */
const valueOf = <T>(o: pulumi.Output<T> | unknown): Promise<T> =>
  new Promise((ok) => (o as pulumi.Output<T>).apply((v) => (ok(v), v)));

describe("manifest: a Data Center server from examples/datacenter", () => {
  let f: Fixture;
  const saved = { ...process.env };
  beforeEach(async () => {
    f = await dcFixture(DC_SEED);
    // The program lists repositories for selectors from this process, with the stack's connection.
    Object.assign(process.env, FAST_RETRIES, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: f.emulator.dcUrl,
      BITBUCKET_TOKEN: TOKEN,
    });
  });
  afterEach(async () => {
    process.env = { ...saved };
    await f.close();
  });

  it("deploys the Data Center presets and entries, then a second run changes nothing", async () => {
    const engine = new Engine(f.harness);
    let outputs: Record<string, unknown> = {};
    const program = async () => {
      const r = await deployManifest(loadManifest(EXAMPLE));
      outputs = r.outputs;
      return [...Object.values(r.resources), ...Object.values(outputs)];
    };
    const first = await engine.up(program);
    assert.equal(first.error, undefined, first.error?.message);
    assert.deepEqual(
      first.steps.map((s) => [s.type, s.name]).sort(),
      [...DECLARED].sort(),
      "every resource created, through the harness",
    );
    assert.ok(first.steps.every((s) => s.op === "create"));

    const dc = f.emulator.store.dc;
    const proj = dc.projects.get("PROJ")!;
    assert.deepEqual(
      proj.hooks.map((h) => [h.name, h.url, h.events]),
      [["Team CI", "https://ci.example.com/bitbucket", ["pr:merged", "pr:opened", "repo:refs_changed"]]],
    );
    assert.deepEqual(
      ["api", "web"].map((r) => proj.repos.get(r)!.hooks.map((h) => [h.name, h.url, h.events])),
      [
        [["Jenkins", "https://jenkins.example.com/bitbucket-hook/", ["pr:opened", "repo:refs_changed"]]],
        [["Jenkins", "https://jenkins.example.com/bitbucket-hook/", ["pr:opened", "repo:refs_changed"]]],
      ],
      "the manifest's Jenkins hook on each repository of PROJ/*, and none from the platforms (they set their own)",
    );
    // `PROJ/*` was resolved by listing the project's repositories.
    assert.ok(f.emulator.log().includes("GET /rest/api/latest/projects/PROJ/repos"));
    assert.deepEqual(
      proj.grants.map((g) => g.permission),
      ["PROJECT_READ"],
    );
    assert.deepEqual(
      proj.repos.get("api")!.tokens.map((t) => [t.name, t.permissions, t.expiryDays]),
      [["release-job", ["REPO_READ"], 90]],
    );
    assert.deepEqual(
      [...dc.keys.values()].filter((k) => k.user !== undefined).map((k) => [k.user, k.label]),
      [["ci-bot", "ci-bot clone"]],
      "ci-bot's own key from sshKeys, and none from the platforms: the Server guides add none",
    );

    // What the platforms need: the Platform.sh command with a working token; Puppet's form fields,
    // its password a working token too.
    const integrations = outputs.integrations as Record<string, Record<string, pulumi.Output<unknown>>>;
    const command = await valueOf<string>(integrations.platformsh!.platformCommand);
    const token = /--token=(\S+)/.exec(command)?.[1] ?? "";
    assert.equal(
      command.replace(token, "<token>"),
      ` platform integration:add --type=bitbucket_server --project=abcdefgh1234567 --base-url=${f.emulator.dcUrl} --username=ci-bot --token=<token> --repository=PROJ/api`,
    );
    assert.ok(f.emulator.store.tokens.has(token), "the token in the command authenticates");
    const botTokens = dc.users.get("ci-bot")!.tokens;
    assert.deepEqual(botTokens.map((t) => [t.name, t.permissions]).sort(), [
      ["platformsh-platformsh", ["PROJECT_READ", "REPO_ADMIN"]],
      ["puppet-pipelines-puppet", ["PROJECT_READ", "REPO_ADMIN"]],
    ]);
    assert.equal(
      await valueOf(integrations.platformsh!.platformCommandTemplate),
      command.replace(`--token=${token}`, '--token="$PLATFORMSH_TOKEN"'),
    );
    assert.equal(
      await valueOf(integrations.platformsh!.validateCommand),
      "platform integration:validate --project=abcdefgh1234567",
    );
    const puppet = integrations.puppet!;
    assert.deepEqual(
      [await valueOf(puppet.host), await valueOf(puppet.username), await valueOf(puppet.sshPort)],
      [f.emulator.dcUrl, "ci-bot", 22],
    );
    const password = await valueOf<string>(puppet.password);
    assert.equal(password, botTokens.find((t) => t.name === "puppet-pipelines-puppet")?.raw);
    assert.ok(f.emulator.store.tokens.has(password), "the password authenticates");
    assert.notEqual(password, token, "one token per platform");
    const values = await valueOf<Record<string, string>>(outputs.accessTokenValues);
    assert.ok(f.emulator.store.tokens.has(values["access-token/PROJ/api/release-job"] ?? "-"));

    f.emulator.resetLog();
    const second = await engine.up(program);
    assert.equal(second.error, undefined, second.error?.message);
    assert.deepEqual(
      second.steps.map((s) => s.op),
      Array(DECLARED.length).fill("same"),
    );
    assert.ok(
      f.emulator.log().every((l) => l.startsWith("GET ")),
      `a run without changes only reads: ${f.emulator.log().join(", ")}`,
    );

    await engine.destroy();
    assert.deepEqual([proj.hooks, proj.grants, proj.repos.get("api")!.tokens], [[], [], []]);
    assert.deepEqual(dc.users.get("ci-bot")!.tokens, []);
    assert.deepEqual(
      [...dc.keys.values()].filter((k) => k.user === "ci-bot"),
      [],
    );
  });

  it("resolves a `PROJ/*` selector by listing the project's repositories", async () => {
    const dir = workdir({
      "bitbucket.yaml": [
        "version: 1",
        "flavor: datacenter",
        "project: PROJ",
        "accessTokens:",
        "  - name: reader",
        '    repositories: "PROJ/*"',
        "    permissions: [REPO_READ]",
        "",
      ].join("\n"),
    });
    try {
      const engine = new Engine(f.harness);
      const up = await engine.up(async () =>
        Object.values((await deployManifest(loadManifest(path.join(dir, "bitbucket.yaml")))).resources),
      );
      assert.equal(up.error, undefined, up.error?.message);
      assert.ok(f.emulator.log().includes("GET /rest/api/latest/projects/PROJ/repos"));
      const proj = f.emulator.store.dc.projects.get("PROJ")!;
      assert.deepEqual(
        ["api", "web"].map((r) => proj.repos.get(r)!.tokens.map((t) => t.name)),
        [["reader"], ["reader"]],
      );
      await engine.destroy();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to run a Data Center manifest on a Cloud connection, naming the settings", async () => {
    process.env.BITBUCKET_FLAVOR = "cloud";
    let error: unknown;
    try {
      await deployManifest(loadManifest(EXAMPLE, { relativeTo: path.resolve(__dirname, "../..") }));
    } catch (e) {
      error = e;
    }
    assert.ok(isManifestError(error), String(error));
    assert.equal(
      error.message.split("\n")[1],
      "examples/datacenter/bitbucket.yaml:5:9 flavor: the manifest is flavor: datacenter but the connection is Bitbucket Cloud: run `pulumi config set bitbucket:flavor datacenter` and `pulumi config set bitbucket:apiUrl https://<your server>` (or set BITBUCKET_FLAVOR and BITBUCKET_API_URL)",
    );
    assert.deepEqual(f.emulator.log(), [], "nothing was listed or written");
  });
});

describe("plan: a Data Center manifest", () => {
  let f: Fixture;
  let restore: () => void;
  beforeEach(async () => {
    f = await dcFixture(DC_SEED);
    restore = useEmulator(f.emulator, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: f.emulator.dcUrl,
    });
  });
  afterEach(async () => {
    restore();
    await f.close();
  });

  it("plans every create with GETs only, then after `pulumi up` (with --state) plans no change", async () => {
    const root = path.resolve(__dirname, "../..");
    const before = await run(["plan", "examples/datacenter/bitbucket.yaml"], root);
    assert.equal(before.code, 2, before.err);
    const creates = before.out.split("\n").filter((l) => l.startsWith("+ create"));
    assert.equal(creates.length, DECLARED.length, before.out);
    assert.ok(creates.some((l) => l.includes('access token "release-job"') || l.includes("release-job")));
    assert.ok(
      f.emulator.log().every((l) => l.startsWith("GET ")),
      f.emulator.log().join(", "),
    );

    const engine = new Engine(f.harness);
    const up = await engine.up(async () =>
      Object.values((await deployManifest(loadManifest(EXAMPLE))).resources),
    );
    assert.equal(up.error, undefined, up.error?.message);
    const state = workdir({
      "state.json": JSON.stringify({
        deployment: {
          resources: [...engine.state.values()].map((e) => ({
            type: `pulumi-nodejs:dynamic/bitbucket:${e.type}`,
            urn: `urn:pulumi:dev::p::pulumi-nodejs:dynamic/bitbucket:${e.type}::${e.name}`,
            id: e.id,
          })),
        },
      }),
    });
    const after = await run(
      [
        "plan",
        path.join(root, "examples/datacenter/bitbucket.yaml"),
        "--state",
        path.join(state, "state.json"),
      ],
      root,
    );
    assert.equal(after.code, 0, after.out + after.err);
    assert.match(after.out, /no changes/i);
    await engine.destroy();
  });
});
