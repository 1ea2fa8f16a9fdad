// Issue 19, case 2: `export` wrote different secrets under one config key (`my.repo` and
// `my-repo` both became `variable-my-repo-DEPLOY_TOKEN`), so after `pulumi up` one repository
// held the other's secret; and it dropped a repository entry equal to a workspace entry. Here a
// workspace with hostile names goes through the command line (export, validate, plan) and then
// through the program engine (mocks -> the real dynamic-provider host -> the emulator), as a user
// who sets every printed config key to its original value and runs `pulumi up` would.

import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "yaml";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { byHand, run, useEmulator, workdir } from "../cli/run";
import { braced, ALL_SCOPES } from "../emulator/store";
import { Engine } from "../harness/deploy";
import { fixture, TOKEN, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

/** Repository slugs Bitbucket allows that the old config keys folded together. */
const REPOS = ["my.repo", "my-repo", "my_repo", "my", "workspace"];
/** Environments added by hand (every repository has Test, Staging and Production). */
const EXTRA_ENVIRONMENTS: Array<[string, string]> = [
  ["my", "repo"],
  ["my-repo", "Produção"],
];

type Where = { repo?: string; env?: string };
/** Secured variables: [where, key, value]. */
const SECURED: Array<[Where, string, string]> = [
  [{ repo: "my.repo" }, "DEPLOY_TOKEN", "prod-secret-A"],
  [{ repo: "my-repo" }, "DEPLOY_TOKEN", "staging-secret-B"],
  [{ repo: "my_repo" }, "DEPLOY_TOKEN", "underscore-secret-C"],
  [{ repo: "workspace" }, "DEPLOY_TOKEN", "repo-named-workspace-D"],
  [{}, "DEPLOY_TOKEN", "workspace-secret-E"],
  [{ repo: "my-repo" }, "API", "upper-secret-F"],
  [{ repo: "my-repo" }, "api", "lower-secret-G"],
  [{ repo: "my.repo" }, "UNICODE_SECRET", "sécret ✓ 🔑 日本"],
  [{ repo: "my.repo", env: "Staging" }, "DEPLOY_TOKEN", "env-staging-H"],
  [{ repo: "my.repo", env: "Production" }, "DEPLOY_TOKEN", "env-production-I"],
  [{ repo: "my", env: "repo" }, "DEPLOY_TOKEN", "env-named-repo-J"],
  [{ repo: "my-repo", env: "Produção" }, "DEPLOY_TOKEN", "env-unicode-K"],
];
/** Plain variables: [where, key, value]; the second equals the first but for its scope. */
const PLAIN: Array<[Where, string, string]> = [
  [{}, "ORG", "acme"],
  [{ repo: "my-repo" }, "ORG", "acme"],
  [{ repo: "my.repo" }, "GREETING", "grüße ✓ 日本語 🚀"],
  [{ repo: "my.repo", env: "Production" }, "REGION", "eu-west-1"],
];
const CI = "https://ci.example.test/hook";
const AUDIT = "https://audit.example.test/events";
/** Webhooks: [repository (none: the workspace), url, secret]; equal URLs on purpose. */
const HOOKS: Array<[string | undefined, string, string | undefined]> = [
  [undefined, CI, "whsec-W1"],
  [undefined, AUDIT, undefined],
  ["workspace", CI, "whsec-R2"],
  ["my.repo", CI, "whsec-D3"],
  ["my-repo", CI, "whsec-H4"],
  ["my-repo", AUDIT, undefined],
];
const PAIRS = Object.fromEntries(["my.repo", "my-repo"].map((r) => [r, ed25519()]));
const DEPLOY_KEY = ed25519("ci@example.test");
const HOST = ed25519();
const ON_BOTH = ["my.repo", "my-repo"];

const scopeOf = (w: Where) => `${w.repo ?? "(workspace)"}${w.env !== undefined ? `/${w.env}` : ""}`;

async function seed(f: Fixture): Promise<void> {
  const ws = f.emulator.store.workspaces.get("acme")!;
  for (const [repo, name] of EXTRA_ENVIRONMENTS) {
    ws.repos.get(repo)!.environments.push({ uuid: braced(), name, variables: [] });
  }
  const post = (p: string, b: unknown, method = "POST") => byHand(f.emulator, method, p, b);
  const repoPath = (r: string) => `/repositories/acme/${encodeURIComponent(r)}`;
  const variables = async (w: Where) => {
    if (w.repo === undefined) return "/workspaces/acme/pipelines-config/variables";
    if (w.env === undefined) return `${repoPath(w.repo)}/pipelines_config/variables`;
    const envs = (await byHand(f.emulator, "GET", `${repoPath(w.repo)}/environments`)) as {
      values: Array<{ uuid: string; name: string }>;
    };
    const env = envs.values.find((e) => e.name === w.env)!;
    return `${repoPath(w.repo)}/deployments_config/environments/${encodeURIComponent(env.uuid)}/variables`;
  };
  for (const [w, key, value] of SECURED) await post(await variables(w), { key, value, secured: true });
  for (const [w, key, value] of PLAIN) await post(await variables(w), { key, value, secured: false });
  for (const [repo, url, secret] of HOOKS) {
    await post(repo === undefined ? "/workspaces/acme/hooks" : `${repoPath(repo)}/hooks`, {
      url,
      events: ["repo:push"],
      ...(secret !== undefined && { secret }),
    });
  }
  for (const [repo, pair] of Object.entries(PAIRS)) {
    await post(
      `${repoPath(repo)}/pipelines_config/ssh/key_pair`,
      { private_key: pair.privatePem, public_key: pair.publicLine },
      "PUT",
    );
  }
  const [key_type, key] = HOST.normalized.split(" ");
  for (const repo of ON_BOTH) {
    await post(`${repoPath(repo)}/deploy-keys`, { key: DEPLOY_KEY.publicLine, label: "CI clone" });
    await post(`${repoPath(repo)}/pipelines_config/ssh/known_hosts`, {
      hostname: "deploy.example.test",
      public_key: { key_type, key },
    });
  }
}

/** The original secret of each scope, keyed as `refsOf` names them. */
const ORIGINALS = new Map<string, string>([
  ...SECURED.map(([w, key, value]): [string, string] => [`variable ${scopeOf(w)} ${key}`, value]),
  ...HOOKS.flatMap(([repo, url, secret]): Array<[string, string]> =>
    secret === undefined ? [] : [[`webhook ${repo ?? "(workspace)"} ${url}`, secret]],
  ),
  ...Object.entries(PAIRS).map(([repo, pair]): [string, string] => [`key pair ${repo}`, pair.privatePem]),
]);

type Entry = Record<string, unknown> & { repositories?: string[] };
const fromConfig = (v: unknown) =>
  typeof v === "object" && v !== null && "fromConfig" in v ? String(v.fromConfig) : undefined;

/** Every object the exported manifest declares, one line each, and its secret's config key. */
function objectsOf(text: string): { objects: string[]; refs: Array<[string, string]> } {
  const m = yaml.parse(text) as Record<string, Entry[] | undefined>;
  const objects: string[] = [];
  const refs: Array<[string, string]> = [];
  const each = (kind: string, scopes: (e: Entry) => string[], id: (e: Entry, scope: string) => string) => {
    for (const e of m[kind] ?? []) {
      for (const scope of scopes(e)) {
        const object = id(e, scope);
        objects.push(object);
        const ref = fromConfig(e.value) ?? fromConfig(e.secret) ?? fromConfig(e.privateKey);
        if (ref !== undefined) refs.push([object, ref]);
      }
    }
  };
  const repos = (e: Entry) => e.repositories ?? ["(workspace)"];
  each("webhooks", repos, (e, s) => `webhook ${s} ${String(e.url)}`);
  each(
    "pipelineVariables",
    (e) => repos(e).map((r) => scopeOf({ repo: r, env: e.environment as string | undefined })),
    (e, s) => `variable ${s} ${String(e.key)}`,
  );
  each("pipelineSshKeyPairs", repos, (_e, s) => `key pair ${s}`);
  each("deployKeys", repos, (e, s) => `deploy key ${s} ${String(e.key).split(" ")[1]}`);
  each("knownHosts", repos, (e, s) => `known host ${s} ${String(e.hostname)}`);
  each(
    "sshKeys",
    () => ["(account)"],
    (e, s) => `ssh key ${s} ${String(e.key).split(" ")[1]}`,
  );
  return { objects: objects.sort(), refs };
}

const EXPECTED_OBJECTS = [
  ...HOOKS.map(([repo, url]) => `webhook ${repo ?? "(workspace)"} ${url}`),
  ...[...SECURED, ...PLAIN].map(([w, key]) => `variable ${scopeOf(w)} ${key}`),
  ...Object.keys(PAIRS).map((r) => `key pair ${r}`),
  ...ON_BOTH.map((r) => `deploy key ${r} ${DEPLOY_KEY.normalized.split(" ")[1]}`),
  ...ON_BOTH.map((r) => `known host ${r} deploy.example.test`),
  `ssh key (account) ${HOST.normalized.split(" ")[1]}`,
].sort();

describe("issue 19.2: export cannot collide or drop", function () {
  this.timeout(120_000);
  let f: Fixture;
  let restore: () => void;
  let dir: string;
  let exported: { code: number; out: string; err: string };
  let text: string;

  before(async () => {
    f = await fixture({
      workspaces: { acme: REPOS },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(f.emulator);
    await seed(f);
    // The account's own SSH key (the host key's public half serves as one).
    const me = (await byHand(f.emulator, "GET", "/user")) as { uuid: string };
    await byHand(f.emulator, "POST", `/users/${encodeURIComponent(me.uuid)}/ssh-keys`, {
      key: HOST.publicLine,
      label: "laptop",
    });
    dir = workdir({});
    exported = await run(["export", "--workspace", "acme", "-o", "exported.yaml"], dir);
    text = fs.readFileSync(path.join(dir, "exported.yaml"), "utf8");
  });
  after(async () => {
    pulumi.runtime.setAllConfig({});
    restore?.();
    await f?.close();
  });

  it("writes every object once, at its own scope, each secret under its own config key: the keys printed are the keys in the file", () => {
    assert.equal(exported.code, 0, exported.err);
    assert.match(
      exported.err,
      /^bitbucket-iac export: 6 webhooks, 2 deployKeys, 1 sshKeys, 16 pipelineVariables, 2 pipelineSshKeyPairs, 2 knownHosts written to exported\.yaml$/m,
    );
    const { objects, refs } = objectsOf(text);
    assert.deepEqual(objects, EXPECTED_OBJECTS, "the file holds what stderr counts, each object once");
    assert.deepEqual(refs.map(([o]) => o).sort(), [...ORIGINALS.keys()].sort(), "every write-only value");
    const keys = refs.map(([, k]) => k);
    const shared = keys.filter((k, i) => keys.indexOf(k) !== i);
    assert.deepEqual(shared, [], "no config key holds two secrets");
    const lower = new Set(keys.map((k) => k.toLowerCase()));
    assert.equal(lower.size, keys.length, "no two config keys differ only in case");
    for (const k of keys) assert.match(k, /^[A-Za-z][A-Za-z0-9_-]*$/, "a Pulumi config key, safe in a shell");
    // What the user is told to set, on stderr and in the file's header: exactly these keys, once each.
    const printed = (s: string) =>
      [...s.matchAll(/pulumi config set --secret (\S+) <value>/g)].map((x) => x[1]);
    assert.deepEqual(printed(exported.err).sort(), [...keys].sort());
    assert.deepEqual(printed(text).sort(), [...keys].sort());
    // Readable: a key names its repository and variable; the workspace's are apart from a repository named "workspace".
    const keyOf = (object: string) => refs.find(([o]) => o === object)![1];
    assert.match(keyOf("variable my-repo DEPLOY_TOKEN"), /my-repo.*DEPLOY_TOKEN/);
    assert.match(keyOf("variable my.repo DEPLOY_TOKEN"), /my-repo.*DEPLOY_TOKEN/);
    assert.match(keyOf("variable my.repo/Production DEPLOY_TOKEN"), /my-repo.*Production.*DEPLOY_TOKEN/);
    assert.notEqual(keyOf("variable (workspace) DEPLOY_TOKEN"), keyOf("variable workspace DEPLOY_TOKEN"));
    for (const secret of ORIGINALS.values()) assert.ok(!text.includes(secret), "no secret in the file");
  });

  it("plans no changes, and `pulumi up` with each printed key set to its original value puts every secret back where it was", async () => {
    const { refs } = objectsOf(text);
    const config: Record<string, string> = {};
    for (const [object, key] of refs) config[`bitbucket-iac:${key}`] = ORIGINALS.get(object)!;
    pulumi.runtime.setAllConfig(config, Object.keys(config));

    const valid = await run(["validate", "exported.yaml"], dir);
    assert.equal(valid.code, 0, valid.err);
    const planned = await run(["plan", "exported.yaml"], dir);
    assert.equal(planned.code, 0, planned.out + planned.err);
    assert.match(planned.out, /^No changes\./m);

    const engine = new Engine(f.harness);
    const up = await engine.up(async () =>
      Object.values((await deployManifest(parseManifest(text, "exported.yaml"))).resources),
    );

    const ws = f.emulator.store.workspaces.get("acme")!;
    const repo = (r: string) => ws.repos.get(r)!;
    const varsAt = (w: Where) =>
      w.repo === undefined
        ? ws.variables
        : w.env === undefined
          ? repo(w.repo).variables
          : repo(w.repo).environments.find((e) => e.name === w.env)!.variables;
    // Each secret first (what a user would lose), then the run's own result.
    for (const [w, key, value] of [...SECURED, ...PLAIN]) {
      const held = varsAt(w).filter((v) => v.key === key);
      assert.equal(held.length, 1, `one ${key} on ${scopeOf(w)}`);
      assert.equal(held[0]!.value, value, `${key} on ${scopeOf(w)} holds its own value`);
    }
    for (const [r, url, secret] of HOOKS) {
      const held = (r === undefined ? ws.hooks : repo(r).hooks).filter((h) => h.url === url);
      assert.equal(held.length, 1, `one hook ${url} on ${r ?? "the workspace"}`);
      assert.equal(held[0]!.secret, secret, `the hook ${url} on ${r ?? "the workspace"} keeps its secret`);
    }
    for (const [r, pair] of Object.entries(PAIRS)) {
      assert.equal(
        repo(r).keyPair?.private_key,
        pair.privatePem,
        `the key pair of ${r} keeps its private key`,
      );
    }
    assert.equal(up.error, undefined, up.error?.message);
    // Every object was planned and taken over, none left out.
    assert.match(planned.out, /^No changes\. .*\b29 adopted as they are/m);
    assert.equal(up.steps.length, 29);
  });

  it("says which object it left out when two are identical in one place, and counts what the file holds", async () => {
    // Bitbucket refuses such twins (409); an older setup or a race may still hold them.
    const ws = f.emulator.store.workspaces.get("acme")!;
    const host = ws.repos.get("my.repo")!.knownHosts[0]!;
    ws.repos.get("my.repo")!.knownHosts.push({ ...host, uuid: braced() });
    ws.variables.push({ ...ws.variables.find((v) => v.key === "ORG")!, uuid: braced() });
    const again = await run(["export", "--workspace", "acme"], dir);
    assert.equal(again.code, 0, again.err);
    assert.match(
      again.err,
      /^bitbucket-iac export: 6 webhooks, 2 deployKeys, 1 sshKeys, 16 pipelineVariables, 2 pipelineSshKeyPairs, 2 knownHosts$/m,
    );
    assert.match(
      again.err,
      /^ {2}not exported: pipelineVariables on workspace acme: a second identical object \(one entry manages one; delete the duplicate\)$/m,
    );
    assert.match(
      again.err,
      /^ {2}not exported: knownHosts on acme\/my\.repo: a second identical object \(one entry manages one; delete the duplicate\)$/m,
    );
    assert.deepEqual(objectsOf(again.out).objects, EXPECTED_OBJECTS);
  });

  it("keeps a webhook secret's config key when a hook listed before it is deleted by hand (keys do not follow list order)", async () => {
    const LATER = "https://later.example.test/hook";
    await byHand(f.emulator, "POST", "/repositories/acme/my.repo/hooks", {
      url: LATER,
      events: ["repo:push"],
      secret: "whsec-L5",
    });
    const keyOf = (out: string, url: string) =>
      objectsOf(out).refs.find(([object]) => object === `webhook my.repo ${url}`)?.[1];
    const before = await run(["export", "--workspace", "acme"], dir);
    const key = keyOf(before.out, LATER);
    assert.match(String(key), /^webhook-secret-my-repo-later-example-test-hook--[0-9a-f]{6}$/);
    const repo = f.emulator.store.workspaces.get("acme")!.repos.get("my.repo")!;
    repo.hooks.splice(
      repo.hooks.findIndex((h) => h.url === CI),
      1,
    );
    const after = await run(["export", "--workspace", "acme"], dir);
    assert.equal(keyOf(after.out, LATER), key, "the same key still names whsec-L5's hook");
    assert.equal(keyOf(after.out, CI), undefined);
  });
});
