// The policy in the provider's check (provider/runtime.ts, provider/manifest/enforce.ts), through
// the engine harness: every resource is held to its `policy` input and to the policy file
// `bitbucket:policy` / BITBUCKET_POLICY names, however it was declared; a rule at level `error`
// fails the check, one at `warn` passes it; `policy` never reaches state.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { Integration, Webhook } from "../../provider";
import type { Policy } from "../../provider/policy/rules";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import type { Props } from "../harness/engine";
import { dcFixture, DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import { tempDir } from "../hooks";
import { ed25519, rsa } from "../keys";

/** Property runs: a fixed seed in `npm test`; FUZZ_SEED / FUZZ_RUNS for a longer run. */
const FUZZ = { seed: Number(process.env.FUZZ_SEED ?? 22_002), numRuns: Number(process.env.FUZZ_RUNS ?? 40) };

const hook = (over: Props = {}): Props => ({
  workspace: "acme",
  repository: "api",
  url: "https://hooks.example.test/ci",
  events: ["repo:push"],
  ...over,
});

const writes = (f: Fixture) => f.emulator.log().filter((l) => !l.startsWith("GET"));

/**
 * A new Pulumi project's directory, where the host runs (as the engine runs it in the project's):
 * bitbucket-iac installed (the serialized provider requires it from there).
 */
function projectDir(): string {
  const dir = tempDir("bitbucket-iac-policy-");
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(path.resolve(__dirname, "../.."), path.join(dir, "node_modules", "bitbucket-iac"), "dir");
  return dir;
}

/** A policy file in a new project directory; its path. */
function policyFile(text: string, name = "org-policy.yaml"): string {
  const file = path.join(projectDir(), name);
  fs.writeFileSync(file, text);
  return file;
}

const ALLOWED_HOSTS = `version: 1
policy:
  webhooks:
    allowedHosts:
      hosts: ["*.example.test"]
      message: "ask #security for another host"
`;

describe("the policy in the provider's check (Cloud)", () => {
  let f: Fixture;
  before(async () => (f = await fixture()));
  after(async () => f.close());

  it("fails a webhook with an http URL under webhooks.https without the opt-out, at url, with the rule, its message and the policy's", async () => {
    const http = hook({ url: "http://hooks.example.test/ci", allowHttp: true });
    // The default policy lets an entry that says allowHttp pass; a webhooks.https rule written does not.
    assert.deepEqual((await f.harness.check("Webhook", http)).failures, []);
    const { failures } = await f.harness.check("Webhook", {
      ...http,
      policy: { webhooks: { https: { message: "plain http is not allowed here" } } },
    });
    assert.deepEqual(failures, [
      {
        property: "url",
        reason:
          "webhooks.https: the URL is not https: payloads travel in plain text; use an https URL (plain http is not allowed here) [policy of the manifest]",
      },
    ]);
  });

  it("says every rule broken at level error, one failure each, at its input", async () => {
    const { failures } = await f.harness.check("Webhook", {
      ...hook({ url: "https://collector.example.org/x", skipCertVerification: true }),
      policy: {
        webhooks: {
          allowedHosts: { hosts: ["*.example.test"] },
          secretRequired: {},
          forbidSkipCertVerification: { enforcement: "error" },
        },
      },
    });
    assert.deepEqual(
      failures.map((x) => [x.property, x.reason.split(":")[0]]),
      [
        ["url", "webhooks.allowedHosts"],
        ["secret", "webhooks.secretRequired"],
        ["skipCertVerification", "webhooks.forbidSkipCertVerification"],
      ],
    );
  });

  it("passes a rule broken at level warn, and the checked inputs never hold the policy", async () => {
    const plain = await f.harness.check("Webhook", hook());
    const warned = await f.harness.check("Webhook", {
      ...hook(),
      policy: { webhooks: { secretRequired: { enforcement: "warn" } } },
    });
    assert.deepEqual(warned.failures, []);
    assert.equal("policy" in warned.inputs, false);
    assert.deepEqual(warned.inputs, plain.inputs, "state stays the size it was");
  });

  it("leaves policy out of the inputs a failed check returns too", async () => {
    const r = await f.harness.check("Webhook", {
      ...hook({ url: "https://collector.example.org/x" }),
      policy: { webhooks: { allowedHosts: { hosts: ["*.example.test"] } } },
    });
    assert.equal(r.failures.length, 1);
    assert.equal("policy" in r.inputs, false);
  });

  it("finds no difference between a webhook made without a policy and the same with one, or with another", async () => {
    const made = await f.harness.up("Webhook", hook({ url: "https://hooks.example.test/diff" }));
    f.emulator.resetLog();
    for (const policy of [
      { webhooks: { secretRequired: { enforcement: "warn" } } },
      { webhooks: { allowedHosts: { hosts: ["hooks.example.test"] }, events: { allow: ["repo:push"] } } },
    ]) {
      const d = await f.harness.plan(
        "Webhook",
        made.id,
        made.outs,
        { ...hook({ url: "https://hooks.example.test/diff" }), policy },
        made.inputs,
      );
      assert.deepEqual([d.changes, d.replaces], [false, []], JSON.stringify(policy));
    }
    assert.deepEqual(f.emulator.log(), [], "check and diff send nothing");
  });

  it("enforces a manifest's policy: at pulumi up, on an integration's children too: the hook that breaks it is not made", async () => {
    const m = parseManifest(
      `version: 1
workspace: acme
policy:
  webhooks:
    allowedHosts: { hosts: ["*.example.test"] }
webhooks:
  - { repositories: [api], url: "https://ci.example.test/hook", events: [repo:push] }
integrations:
  - id: gen
    preset: generic
    repositories: [web]
    options:
      webhooks: [{ url: "https://collector.example.org/gen", events: [repo:push] }]
`,
      "bitbucket.yaml",
    );
    f.emulator.resetLog();
    const { error } = await new Engine(f.harness).up(async () =>
      Object.values((await deployManifest(m, () => [{ slug: "api" }, { slug: "web" }])).resources),
    );
    assert.match(
      String(error?.message),
      /^Webhook gen-hook-web-collector\.example\.org\/gen: url: webhooks\.allowedHosts: host collector\.example\.org is not one of the allowed hosts \(\*\.example\.test\);.* \[policy of the manifest\]$/,
    );
    const urls = f.emulator.store.allHooks().map((h) => h.url);
    assert.ok(urls.includes("https://ci.example.test/hook"), "the entry that meets the policy is made");
    assert.ok(!urls.some((u) => u.includes("collector")), "the child that breaks it is not");
  });

  it("names the input a rule judges: a key pair's key type at publicKey", async () => {
    const k = rsa("pair@example.test");
    const { failures } = await f.harness.check("PipelineSshKeyPair", {
      workspace: "acme",
      repository: "api",
      privateKey: k.privatePem,
      publicKey: k.publicLine,
      policy: { keys: { keyTypes: { allow: ["ssh-ed25519"] } } },
    });
    assert.deepEqual(failures, [
      {
        property: "publicKey",
        reason:
          "keys.keyTypes: the key is ssh-rsa, not one of ssh-ed25519; make a new key of an allowed type (ssh-keygen -t ed25519) [policy of the manifest]",
      },
    ]);
  });

  it("refuses a policy input that is not a policy, at policy, saying where in it", async () => {
    const { failures } = await f.harness.check("Webhook", {
      ...hook(),
      policy: { webhooks: { allowedHosts: { hosts: "*.example.test" } } },
    });
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.property, "policy");
    assert.match(
      failures[0]!.reason,
      /^the policy input is not a policy: policy\.webhooks\.allowedHosts\.hosts: /,
    );
  });

  it("holds the rules warn and off never fail a webhook, and policy never reaches its inputs (property)", async () => {
    const level = fc.constantFrom("warn" as const, "off" as const);
    const policyArb: fc.Arbitrary<Policy> = fc.record(
      {
        webhooks: fc.record(
          {
            https: fc.record({ enforcement: level, allowHttpOptOut: fc.boolean() }),
            allowedHosts: fc.record({
              enforcement: level,
              hosts: fc.subarray(["*.example.test", "hooks.example.test", "other.example.org"], {
                minLength: 1,
              }),
            }),
            secretRequired: fc.record({ enforcement: level }),
            forbidSkipCertVerification: fc.record({ enforcement: level }),
            events: fc.record({
              enforcement: level,
              deny: fc.subarray(["repo:push", "pullrequest:created"], { minLength: 1 }),
            }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    const webhookArb = fc.record({
      url: fc.constantFrom(
        "https://hooks.example.test/a",
        "http://hooks.example.test/b",
        "https://collector.example.org/c",
      ),
      allowHttp: fc.constant(true),
      events: fc.subarray(["repo:push", "pullrequest:created"], { minLength: 1 }),
      skipCertVerification: fc.boolean(),
      secret: fc.option(fc.constant("s3cret"), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(policyArb, webhookArb, async (policy, w) => {
        const raw = hook(Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)));
        const plain = await f.harness.check("Webhook", raw);
        const withPolicy = await f.harness.check("Webhook", { ...raw, policy });
        assert.deepEqual(withPolicy, plain);
      }),
      FUZZ,
    );
  });
});

describe("the shared policy file (bitbucket:policy, BITBUCKET_POLICY)", () => {
  let f: Fixture | undefined;
  afterEach(async () => f?.close());

  it("holds a webhook built in code, with no manifest, to the file stack config names (relative to the program's directory), even when its URL is a secret", async () => {
    const file = policyFile(ALLOWED_HOSTS);
    f = await fixture(DEFAULT_SEED, {
      cwd: path.dirname(file),
      config: { "bitbucket:policy": "org-policy.yaml" },
    });
    const engine = new Engine(f.harness);
    const { error } = await engine.up(() => [
      new Webhook("collector", {
        workspace: "acme",
        repository: "api",
        url: pulumi.secret("https://collector.example.org/in?token=hunter2"),
        events: ["repo:push"],
      }),
    ]);
    assert.equal(
      error?.message,
      "Webhook collector: url: webhooks.allowedHosts: host collector.example.org is not one of the allowed hosts (*.example.test); deliver to an allowed host, or have the policy allow this one (ask #security for another host) [policy file org-policy.yaml]",
    );
    assert.deepEqual(writes(f), [], "nothing was written");
    assert.equal(f.emulator.store.allHooks().length, 0);
    // An allowed host passes.
    const ok = await engine.up(() => [
      new Webhook("ci", {
        workspace: "acme",
        repository: "api",
        url: "https://ci.example.test/h",
        events: ["repo:push"],
      }),
    ]);
    assert.equal(ok.error, undefined, ok.error?.message);
  });

  it("reads the file BITBUCKET_POLICY names, and a layer cannot loosen another: the resource's own policy does not switch the file's rule off", async () => {
    const file = policyFile(ALLOWED_HOSTS);
    f = await fixture(DEFAULT_SEED, { env: { BITBUCKET_POLICY: file } });
    const { failures } = await f.harness.check("Webhook", {
      ...hook({ url: "https://collector.example.org/x" }),
      policy: { webhooks: { allowedHosts: { enforcement: "off", hosts: ["*"] } } },
    });
    assert.deepEqual(
      failures.map((x) => [x.property, x.reason.replace(/ \(.*/, "")]),
      [["url", "webhooks.allowedHosts: host collector.example.org is not one of the allowed hosts"]],
    );
    assert.match(failures[0]!.reason, /\[.*org-policy\.yaml\]$/);
  });

  it("fails check with the file and every problem at file:line:col when the file cannot be used", async () => {
    const dir = projectDir();
    fs.writeFileSync(
      path.join(dir, "broken.yaml"),
      "version: 1\npolicy:\n  webhooks:\n    https: { enforcement: sometimes }\n  keys:\n    minRsaBits: {}\n",
    );
    f = await fixture(DEFAULT_SEED, { cwd: dir, env: { BITBUCKET_POLICY: "missing.yaml" } });
    const missing = await f.harness.check("Webhook", hook());
    assert.deepEqual(
      missing.failures.map((x) => x.property),
      [""],
    );
    assert.equal(
      missing.failures[0]?.reason,
      `the policy file bitbucket:policy / BITBUCKET_POLICY names ("missing.yaml", from ${fs.realpathSync(dir)}) cannot be applied; fix the file, or set the setting to the right one:\nmissing.yaml:1:1 (file): cannot read the policy file: no such file (give the policy file's path)`,
    );
    await f.harness.restart({ BITBUCKET_POLICY: "broken.yaml" });
    const broken = (await f.harness.check("Webhook", hook())).failures;
    assert.equal(broken.length, 1);
    assert.match(
      broken[0]!.reason,
      /^the policy file bitbucket:policy \/ BITBUCKET_POLICY names \("broken\.yaml", /,
    );
    assert.match(broken[0]!.reason, /\nbroken\.yaml:4:\d+ policy\.webhooks\.https\.enforcement: /);
    assert.match(broken[0]!.reason, /\nbroken\.yaml:6:\d+ policy\.keys\.minRsaBits: /);
  });
});

describe("the policy in the provider's check (Data Center)", () => {
  let f: Fixture;
  before(async () => (f = await dcFixture()));
  after(async () => f.close());

  it("fails an access token that never expires under accessTokens.maxExpiryDays, at expiryDays", async () => {
    const policy = { accessTokens: { maxExpiryDays: { days: 90 } } };
    const token = { project: "PROJ", repository: "api", name: "ci", permissions: ["REPO_READ"], policy };
    assert.deepEqual((await f.harness.check("AccessToken", token)).failures, [
      {
        property: "expiryDays",
        reason:
          "accessTokens.maxExpiryDays: the token never expires; give it expiryDays: 90 or fewer [policy of the manifest]",
      },
    ]);
    assert.deepEqual(
      (await f.harness.check("AccessToken", { ...token, expiryDays: 120 })).failures.length,
      1,
    );
    assert.deepEqual((await f.harness.check("AccessToken", { ...token, expiryDays: 90 })).failures, []);
  });

  it("fails an access key with REPO_WRITE under keys.readOnly, at permission", async () => {
    const key = { project: "PROJ", repository: "api", key: ed25519("policy").publicLine, label: "ci" };
    const policy = { keys: { readOnly: { message: "writes go through CI" } } };
    assert.deepEqual(
      (await f.harness.check("DeployKey", { ...key, permission: "REPO_WRITE", policy })).failures,
      [
        {
          property: "permission",
          reason:
            "keys.readOnly: the key has REPO_WRITE: it can push; give it REPO_READ, and a separate reviewed path for writes (writes go through CI) [policy of the manifest]",
        },
      ],
    );
    assert.deepEqual(
      (await f.harness.check("DeployKey", { ...key, policy })).failures,
      [],
      "REPO_READ by default",
    );
  });

  it("holds an integration's children to the policy given to the integration: its token is refused before anything is written", async () => {
    const engine = new Engine(f.harness);
    const program = (policy?: Policy) => () => {
      pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": "https://bitbucket.example.com" });
      return new Integration("puppet", {
        preset: "puppet-pipelines",
        project: "PROJ",
        options: { username: "ci-bot" },
        ...(policy && { policy }),
      });
    };
    f.emulator.resetLog();
    const { error } = await engine.up(program({ accessTokens: { maxExpiryDays: { days: 30 } } }));
    assert.equal(
      error?.message,
      "AccessToken puppet-token: expiryDays: accessTokens.maxExpiryDays: the token never expires; give it expiryDays: 30 or fewer [policy of the manifest]",
    );
    assert.deepEqual(writes(f), []);
    assert.deepEqual(f.emulator.store.dc.users.get("ci-bot")!.tokens, []);
    const fine = await engine.up(program());
    assert.equal(fine.error, undefined, fine.error?.message);
    await engine.destroy();
  });
});
