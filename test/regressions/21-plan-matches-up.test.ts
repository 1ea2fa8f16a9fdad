// Issue 21, item 1: plan and `pulumi up` disagreed. Both reproductions of the issue, run for real:
// the manifest's program through the engine harness (the dynamic-provider host, the emulator),
// the command line in-process with `--state` from the harness's `pulumi stack export`.
// (a) An entry with `adopt: true` and no secret, against a hook that has one: plan said "adopted as
//     they are" (exit 0), and up removes the secret (as declared: the hook is brought to the
//     entry). Removing a secret is a certain change to a write-only field: plan now shows it.
// (b) A webhook with `name:` whose URL is edited: up updates it in place, plan said "+ create ...
//     gone from Bitbucket" (it looked the hook up by its new URL). Plan now finds what the stack
//     manages by the id the stack holds, and compares as the provider's diff does.
// Found by the property test (test/fuzz/plan-up.test.ts) and kept here as examples: (c) a new
// entry whose URL is that of a hook another resource of the stack keeps; (d) a hook whose
// generated secret the manifest replaces by a reference. And, on Data Center, (e) adopting an
// access token, which revokes it and makes a new one: a change, though its value is write-only.
// Then what the stack holds, as up treats it: (f) un-securing a variable replaces it; (g) an object
// deleted by hand stays gone when nothing changes, and its update fails (a key pair's PUT makes it
// again); (h) a change by hand is left by up, or written over by an update of other fields.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { dcFixture, fixture, type Fixture } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";
import { ed25519 } from "../keys";

interface Planned {
  action: string;
  type: string;
  name: string;
  changes: Array<{ field: string; from?: unknown; to?: unknown; writeOnly?: boolean }>;
  note?: string;
}

/** A field's value as a line reads it, whichever way plan gives it (text, JSON text, a list). */
const read = (v: unknown) => String(Array.isArray(v) ? v.join(", ") : v).replace(/^"(.*)"$/, "$1");

describe("issue 21.1: plan says what pulumi up does", function () {
  this.timeout(120_000);
  let f: Fixture;
  let engine: Engine;
  let restore: () => void;
  let dir: string;
  beforeEach(async () => {
    f = await fixture();
    engine = new Engine(f.harness);
    restore = useEmulator(f.emulator);
    dir = workdir({});
  });
  afterEach(async () => {
    restore();
    pulumi.runtime.setAllConfig({}, []);
    setProviderConfig(() => undefined);
    await f.close();
  });

  const up = (text: string) =>
    engine.up(async () =>
      Object.values((await deployManifest(parseManifest(text, "bitbucket.yaml"), () => [])).resources),
    );
  const plan = async (text: string, state?: string) => {
    fs.writeFileSync(path.join(dir, "bitbucket.yaml"), text);
    const args = ["plan", "--format", "json"];
    if (state !== undefined) {
      fs.writeFileSync(path.join(dir, "state.json"), state);
      args.push("--state", "state.json");
    }
    const r = await run(args, dir);
    return { code: r.code, err: r.err, planned: (JSON.parse(r.out) as { resources: Planned[] }).resources };
  };
  const hooks = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks;

  it("(a) shows adopting a hook with a secret, declared without one, as a change: up removes the secret", async () => {
    f.emulator.store.addHook("acme", "api", {
      url: "https://hooks.example.test/ci",
      events: ["repo:push"],
      secret: "platform-secret",
    });
    const manifest = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
    adopt: true
`;
    const p = await plan(manifest);
    assert.equal(p.code, 2, 'a change: not "adopted as they are"');
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.changes.map((c) => [c.field, read(c.from), read(c.to)])]),
      [["adopt", [["secret", "set", "none"]]]],
    );
    const r = await up(manifest);
    assert.equal(r.error, undefined);
    assert.deepEqual(
      r.steps.map((s) => s.op),
      ["create"],
    );
    assert.equal(engine.entry("Webhook", "webhook/acme/api/hooks.example.test/ci")?.outs.adopted, true);
    assert.equal(hooks()[0]!.secret, undefined, "up removed the secret, as plan said");
  });

  it("(b) shows a webhook with name: whose URL is edited as an update of that URL, found by the id the stack holds", async () => {
    const manifest = (url: string) => `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    name: ci
    url: ${url}
    events: [repo:push]
`;
    assert.equal((await up(manifest("https://hooks.example.test/old"))).error, undefined);
    const edited = manifest("https://hooks.example.test/new");
    const p = await plan(edited, engine.checkpoint());
    assert.equal(p.code, 2, p.err);
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.name, x.changes.map((c) => c.field)]),
      [["update", "webhook/acme/api/ci", ["url"]]],
    );
    const r = await up(edited);
    assert.equal(r.error, undefined);
    assert.deepEqual(
      r.steps.map((s) => `${s.op} ${s.name}`),
      ["update webhook/acme/api/ci"],
    );
    assert.deepEqual(
      hooks().map((h) => h.url),
      ["https://hooks.example.test/new"],
      "the same hook, its URL changed",
    );
  });

  it("(c) calls a new entry whose URL is that of a hook another resource keeps a conflict, as up stops there", async () => {
    const manifest = (hooks: string) => `version: 1\nworkspace: acme\nwebhooks:\n${hooks}`;
    const a =
      "  - { repositories: [api], name: a, url: https://hooks.example.test/3, events: [repo:push] }\n";
    assert.equal((await up(manifest(a))).error, undefined);
    // "a" moves to another URL, and an entry without a name takes its old URL, with adopt: true.
    const edited = manifest(
      "  - { repositories: [api], url: https://hooks.example.test/3, events: [repo:push], adopt: true }\n" +
        "  - { repositories: [api], name: a, url: https://hooks.example.test/1, events: [repo:push] }\n",
    );
    const p = await plan(edited, engine.checkpoint());
    assert.equal(p.code, 3, p.err);
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.name]),
      [
        ["conflict", "webhook/acme/api/hooks.example.test/3"],
        ["update", "webhook/acme/api/a"],
      ],
    );
    assert.match(p.planned[0]!.note!, /it is the object webhook\/acme\/api\/a manages/);
    const r = await up(edited);
    assert.match(String(r.error?.message), /is declared by two resources of this stack/);
  });

  it("(d) lists the secret of a hook whose generated secret the manifest replaces by a reference", async () => {
    const manifest = (secret: string) =>
      `version: 1\nworkspace: acme\nwebhooks:\n  - { repositories: [api], url: https://hooks.example.test/ci, events: [repo:push], secret: ${secret} }\n`;
    assert.equal((await up(manifest("{ generate: true }"))).error, undefined);
    const generated = hooks()[0]!.secret;
    pulumi.runtime.setAllConfig({ "bitbucket-iac:hookSecret": "from-config" }, ["bitbucket-iac:hookSecret"]);
    const edited = manifest("{ fromConfig: hookSecret }");
    const p = await plan(edited, engine.checkpoint());
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.changes.map((c) => [c.field, c.writeOnly === true])]),
      [
        [
          "update",
          [
            ["generateSecret", false],
            ["secret", true],
          ],
        ],
      ],
    );
    assert.equal((await up(edited)).error, undefined);
    assert.notEqual(hooks()[0]!.secret, generated, "up set the secret of the reference");
  });

  it("(f) shows un-securing a variable the stack holds as a replace, as up does it", async () => {
    pulumi.runtime.setAllConfig({ "bitbucket-iac:token": "t0ken" }, ["bitbucket-iac:token"]);
    const manifest = (value: string) =>
      `version: 1\nworkspace: acme\npipelineVariables:\n  - { repositories: [api], key: TOKEN, ${value} }\n`;
    assert.equal((await up(manifest("value: { fromConfig: token }"))).error, undefined);
    const plain = manifest("value: not-secret, secured: false");
    const p = await plan(plain, engine.checkpoint());
    assert.equal(p.code, 2, p.err);
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.changes.map((c) => c.field)]),
      [["replace", ["secured", "value"]]],
    );
    const r = await up(plain);
    assert.deepEqual(
      r.steps.map((s) => s.op),
      ["replace"],
    );
  });

  it("(g) says what up does with what the stack holds but someone deleted: nothing, or an update that fails, or a key pair put back", async () => {
    const pair = ed25519();
    pulumi.runtime.setAllConfig({ "bitbucket-iac:pairKey": pair.privatePem }, ["bitbucket-iac:pairKey"]);
    const manifest = (events: string) => `version: 1
workspace: acme
webhooks:
  - { repositories: [api], url: https://hooks.example.test/ci, events: ${events} }
pipelineSshKeyPairs:
  - { repositories: [api], privateKey: { fromConfig: pairKey }, publicKey: ${pair.publicLine} }
`;
    assert.equal((await up(manifest("[repo:push]"))).error, undefined);
    const repo = f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
    repo.hooks.splice(0);
    delete repo.keyPair;
    const same = await plan(manifest("[repo:push]"), engine.checkpoint());
    assert.equal(same.code, 0, same.err);
    assert.deepEqual(
      same.planned.map((x) => x.action),
      ["nothing", "nothing"],
    );
    assert.match(same.planned[1]!.note!, /gone from Bitbucket .*pulumi up leaves it gone/);
    const r = await up(manifest("[repo:push]"));
    assert.deepEqual(
      [r.error, r.steps.map((s) => s.op), repo.hooks.length],
      [undefined, ["same", "same"], 0],
    );

    // The declaration changes: up updates both; the hook's update finds nothing and fails, the
    // key pair's PUT makes it again.
    const other = ed25519();
    pulumi.runtime.setAllConfig({ "bitbucket-iac:pairKey": other.privatePem }, ["bitbucket-iac:pairKey"]);
    const edited = manifest("[repo:push, pullrequest:created]").replace(pair.publicLine, other.publicLine);
    const p = await plan(edited, engine.checkpoint());
    assert.equal(p.code, 3, p.err);
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.type]),
      [
        ["conflict", "Webhook"],
        ["update", "PipelineSshKeyPair"],
      ],
    );
    assert.match(
      p.planned[0]!.note!,
      /gone from Bitbucket .*pulumi up's update fails there; run pulumi refresh first/,
    );
    const failed = await up(edited);
    assert.match(
      String(failed.error?.message),
      /update webhook https:\/\/hooks\.example\.test\/ci on acme\/api.*\(404\)/,
    );
    assert.deepEqual(
      failed.steps.map((s) => `${s.op} ${s.type}`),
      ["update PipelineSshKeyPair"],
    );
    assert.equal((repo as { keyPair?: { public_key: string } }).keyPair?.public_key, other.normalized);
  });

  it("(h) shows a change made by hand as a note when up leaves it, and among the fields when up's update writes over it", async () => {
    const manifest = (description: string) =>
      `version: 1\nworkspace: acme\nwebhooks:\n  - { repositories: [api], url: https://hooks.example.test/ci, events: [repo:push], description: ${description} }\n`;
    assert.equal((await up(manifest("ci"))).error, undefined);
    hooks()[0]!.events = ["issue:created", "repo:push"];
    const same = await plan(manifest("ci"), engine.checkpoint());
    assert.equal(same.code, 0, same.err);
    assert.deepEqual(
      same.planned.map((x) => [x.action, x.note]),
      [
        [
          "nothing",
          "changed in Bitbucket outside pulumi (events): pulumi up leaves it, as the stack's record matches the manifest; pulumi up --refresh would bring it back",
        ],
      ],
    );
    const edited = manifest("builds");
    const p = await plan(edited, engine.checkpoint());
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.changes.map((c) => `${c.field}: ${read(c.from)} -> ${read(c.to)}`)]),
      [["update", ["description: ci -> builds", "events: issue:created, repo:push -> repo:push"]]],
    );
    assert.equal((await up(edited)).error, undefined);
    assert.deepEqual([hooks()[0]!.description, hooks()[0]!.events], ["builds", ["repo:push"]]);
  });
});

describe("issue 21.1 on Data Center: plan says what pulumi up does", function () {
  this.timeout(120_000);
  it("(e) shows adopting an access token as a change: up revokes it and makes a new one", async () => {
    const f = await dcFixture();
    const restore = useEmulator(f.emulator, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: f.emulator.dcUrl,
    });
    try {
      const tokens = f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.tokens;
      tokens.push({ id: "42", name: "release-job", permissions: ["REPO_READ"], createdDate: Date.now() });
      const dir = workdir({
        "bitbucket.yaml":
          "version: 1\nflavor: datacenter\nproject: PROJ\naccessTokens:\n  - { name: release-job, repositories: [api], permissions: [REPO_READ], adopt: true }\n",
      });
      const r = await run(["plan", "--format", "json"], dir);
      assert.equal(r.code, 2, 'a change: not "adopted as they are"');
      const [p] = (JSON.parse(r.out) as { resources: Planned[] }).resources;
      assert.deepEqual([p!.action, p!.changes.map((c) => c.field)], ["adopt", ["token"]]);
      const engine = new Engine(f.harness);
      const made = await engine.up(async () =>
        Object.values(
          (
            await deployManifest(
              parseManifest(fs.readFileSync(path.join(dir, "bitbucket.yaml"), "utf8"), "bitbucket.yaml"),
              () => [],
            )
          ).resources,
        ),
      );
      assert.equal(made.error, undefined);
      assert.notDeepEqual(
        tokens.map((t) => t.id),
        ["42"],
        "the token found was revoked, a new one made",
      );
    } finally {
      restore();
      setProviderConfig(() => undefined);
      await f.close();
    }
  });
});
