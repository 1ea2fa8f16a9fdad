// Issue 8: sequences that used to take over, rewrite or delete real Bitbucket objects. Each runs
// through the program engine (mocks -> the real dynamic-provider host -> the emulator), one host
// process per run as `pulumi` has, and checks that nothing is lost.

import * as assert from "node:assert/strict";
import {
  Integration,
  PipelineKnownHost,
  PipelineSshKeyPair,
  PipelineVariable,
  Webhook,
  type WebhookArgs,
} from "../../provider";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine, type Step } from "../harness/deploy";
import { DEFAULT_SEED, fixture, TOKEN, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

const URL_A = "https://hooks.example.test/a";
const ops = (steps: Step[]) => steps.map((s) => `${s.op} ${s.type} ${s.name}`);
const writes = (f: Fixture) => f.emulator.log().filter((l) => !l.startsWith("GET"));

describe("issue 8: ownership safety", () => {
  let f: Fixture;
  let engine: Engine;
  const start = async (seed = DEFAULT_SEED) => {
    f = await fixture(seed);
    engine = new Engine(f.harness);
  };
  afterEach(async () => f?.close());

  describe("8.1 a replace never deletes the object its replacement adopted", () => {
    const key = ed25519();
    const declare =
      (workspace: string, repository = "api") =>
      () => [
        new Webhook("ci", { workspace, repository, url: URL_A, events: ["repo:push"] }),
        new PipelineKnownHost("host", {
          workspace,
          repository,
          hostname: "deploy.example.test",
          publicKey: key.publicLine,
        }),
        new PipelineSshKeyPair("pair", {
          workspace,
          repository,
          privateKey: key.privatePem,
          publicKey: key.publicLine,
        }),
      ];

    it("treats the workspace's {uuid} and another case of a slug as the same place: no replace, nothing deleted", async () => {
      await start();
      assert.equal((await engine.up(declare("acme"))).error, undefined);
      const uuid = f.emulator.store.workspaces.get("acme")!.uuid;
      for (const [ws, repo] of [
        [uuid, "api"],
        ["ACME", "API"],
      ] as const) {
        f.emulator.resetLog();
        const run = await engine.up(declare(ws, repo));
        assert.equal(run.error, undefined);
        assert.deepEqual(ops(run.steps).sort(), [
          "same PipelineKnownHost host",
          "same PipelineSshKeyPair pair",
          "same Webhook ci",
        ]);
        assert.deepEqual(writes(f), [], "no write at all");
      }
      const repo = f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
      assert.deepEqual(
        repo.hooks.map((h) => h.url),
        [URL_A],
      );
      assert.deepEqual(
        repo.knownHosts.map((h) => `${h.hostname} ${h.key_type} ${h.key}`),
        [`deploy.example.test ${key.normalized}`],
      );
      assert.equal(repo.keyPair?.public_key, key.normalized, "the declared key pair is still there");
    });

    it("keeps the object when an alias cannot be resolved and the engine replaces: the replacement adopts it, the old delete is skipped", async () => {
      // A token that may manage hooks for issue events but not read the repository: the alias
      // lookup fails, so the diff says replace.
      await start({ ...DEFAULT_SEED, tokens: { [TOKEN]: { scopes: ["webhook", "issue"] } } });
      const hook = (workspace: string) => () => [
        new Webhook("ci", { workspace, repository: "api", url: URL_A, events: ["issue:created"] }),
      ];
      assert.equal((await engine.up(hook("acme"))).error, undefined);
      const [before] = f.emulator.store.allHooks();
      const uuid = f.emulator.store.workspaces.get("acme")!.uuid;
      const run = await engine.up(hook(uuid));
      assert.equal(run.error, undefined);
      assert.deepEqual(ops(run.steps), ["replace Webhook ci"]);
      assert.deepEqual(f.emulator.store.allHooks(), [before], "the one hook is still there");
      assert.equal(engine.entry("Webhook", "ci")?.outs.uuid, before!.uuid);
      await f.harness.expectStderr(
        /not deleting webhook https:\/\/hooks\.example\.test\/a on acme\/api: "ci" adopted it in this run/,
      );
      assert.deepEqual(ops((await engine.up(hook(uuid))).steps), ["same Webhook ci"]);
    });

    it("fails the second of two resources that declare one object, naming both, and creates it once", async () => {
      await start();
      const args: WebhookArgs = { workspace: "acme", repository: "api", url: URL_A, events: ["repo:push"] };
      const run = await engine.up(() => [new Webhook("first", args), new Webhook("second", { ...args })]);
      assert.match(
        String(run.error?.message),
        /webhook https:\/\/hooks\.example\.test\/a on acme\/api is declared by two resources of this stack, "(first|second)" and "(first|second)": they would overwrite each other/,
      );
      assert.equal(f.emulator.store.allHooks().length, 1);
      assert.equal(writes(f).length, 1, "one POST");
    });
  });

  describe("8.2 adoption never takes over someone else's object silently", () => {
    it("leaves a platform's hook (other events, a secret) untouched: the run fails with zero writes, and destroy deletes nothing", async () => {
      await start();
      const platform = f.emulator.store.addHook("acme", "api", {
        url: URL_A,
        events: ["repo:push", "pullrequest:created"],
        secret: "platform-secret",
      });
      const run = await engine.up(() => [
        new Webhook("ci", { workspace: "acme", repository: "api", url: URL_A, events: ["repo:push"] }),
      ]);
      // Issue 21.1: the entry declares no secret, so the one Bitbucket holds is compared for sure
      // (adopting would remove it), no longer "write-only, cannot be compared".
      assert.match(
        String(run.error?.message),
        /already exists in Bitbucket and differs from this declaration \(events: \["pullrequest:created", "repo:push"\] in Bitbucket; secret: set in Bitbucket\)\. Nothing was changed\. .*adopt: true/,
      );
      assert.deepEqual(writes(f), []);
      await engine.destroy();
      assert.deepEqual(writes(f), []);
      assert.deepEqual(f.emulator.store.allHooks(), [platform]);
      assert.equal(platform.secret, "platform-secret");
    });

    it("refuses an existing secured variable; adopt: true takes it over (adopted: true), and retainOnDelete keeps it on destroy", async () => {
      await start();
      const repo = f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
      repo.variables.push({
        uuid: "{77777777-0000-0000-0000-000000000000}",
        key: "TOKEN",
        value: "theirs",
        secured: true,
      });
      const variable = (adopt: boolean) => () => [
        new PipelineVariable(
          "token",
          { workspace: "acme", repository: "api", key: "TOKEN", value: "ours", adopt },
          { retainOnDelete: true },
        ),
      ];
      const refused = await engine.up(variable(false));
      assert.match(
        String(refused.error?.message),
        /create variable TOKEN on acme\/api: it already exists in Bitbucket and differs from this declaration \(value \(secured\): set in Bitbucket, write-only, cannot be compared\)/,
      );
      assert.equal(repo.variables[0]?.value, "theirs");
      const adopted = await engine.up(variable(true));
      assert.equal(adopted.error, undefined);
      assert.equal(engine.entry("PipelineVariable", "token")?.outs.adopted, true);
      assert.equal(repo.variables[0]?.value, "ours");
      await f.harness.expectStderr(
        /adopted the existing variable TOKEN on acme\/api .*changing value \(secured\)/,
      );
      assert.deepEqual(ops(await engine.destroy()), ["retain PipelineVariable token"]);
      assert.equal(repo.variables.length, 1, "retained in Bitbucket");
    });
  });

  describe("8.3 preset children are named by natural key", () => {
    it("inserting a generic webhook before the others changes none of them", async () => {
      await start();
      const generic = (urls: string[]) => () => [
        new Integration("gen", {
          preset: "generic",
          workspace: "acme",
          repositories: ["api"],
          options: { webhooks: urls.map((url) => ({ url, events: ["repo:push"] })) },
        }),
      ];
      await engine.up(generic([`${URL_A}1`, `${URL_A}2`]));
      const before = f.emulator.store.allHooks().map((h) => [h.uuid, h.url]);
      const run = await engine.up(generic([`${URL_A}0`, `${URL_A}1`, `${URL_A}2`]));
      assert.equal(run.error, undefined);
      assert.deepEqual(ops(run.steps).sort(), [
        "create Webhook gen-hook-api-hooks.example.test/a0",
        "same Webhook gen-hook-api-hooks.example.test/a1",
        "same Webhook gen-hook-api-hooks.example.test/a2",
      ]);
      const after = f.emulator.store.allHooks().map((h) => [h.uuid, h.url]);
      assert.deepEqual(after.slice(0, 2), before);
      assert.equal(after.length, 3);
      const ids = [...engine.state.values()].map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, "no two state entries hold one hook");
    });

    it("moves a stack made with index names over without a replace (the old names are aliases)", async () => {
      await start();
      await engine.up(() => [
        new Webhook("gen-hook-api-0", {
          workspace: "acme",
          repository: "api",
          url: URL_A,
          events: ["repo:push"],
          generateSecret: true,
        }),
      ]);
      const run = await engine.up(() => [
        new Integration("gen", {
          preset: "generic",
          workspace: "acme",
          repositories: ["api"],
          options: { webhooks: [{ url: URL_A, events: ["repo:push"] }] },
        }),
      ]);
      assert.equal(run.error, undefined);
      assert.deepEqual(ops(run.steps), [
        "rename Webhook gen-hook-api-hooks.example.test/a",
        "same Webhook gen-hook-api-hooks.example.test/a",
      ]);
      assert.equal(f.emulator.store.allHooks().length, 1);
    });
  });

  describe("8.5 and 8.6 through the manifest", () => {
    const manifest = (text: string) =>
      parseManifest(`version: 1\nworkspace: acme\n${text}`, "bitbucket.yaml");
    const deploy = (text: string) => async () =>
      Object.values((await deployManifest(manifest(text), () => [{ slug: "api" }])).resources);

    it("keeps a URL's token out of names, state keys and messages; a named webhook changes its URL in place", async () => {
      await start();
      const hook = (url: string) =>
        `webhooks:\n  - repositories: [api]\n    name: ci\n    url: ${url}\n    events: [repo:push]\n`;
      const first = await engine.up(deploy(hook(`${URL_A}?token=t0ken-in-url`)));
      assert.equal(first.error, undefined);
      assert.deepEqual(ops(first.steps), ["create Webhook webhook/acme/api/ci"]);
      const next = await engine.up(deploy(hook(`${URL_A}/v2?token=t0ken-in-url`)));
      assert.deepEqual(ops(next.steps), ["update Webhook webhook/acme/api/ci"]);
      assert.equal(f.emulator.store.allHooks().length, 1);
      const unnamed = manifest(
        `webhooks:\n  - repositories: [api]\n    url: ${URL_A}?token=t0ken-in-url\n    events: [repo:push]\n`,
      );
      const { expand } = await import("../../provider/manifest/expand");
      assert.deepEqual(
        expand(unnamed, () => undefined).map((s) => s.name),
        ["webhook/acme/api/hooks.example.test/a"],
      );
      assert.ok(![...engine.state.keys()].some((k) => k.includes("t0ken")));
      assert.ok(!f.harness.stderr.includes("t0ken"));
    });

    it("says in preview that replacing a webhook with a generated secret rotates it", async () => {
      await start();
      const hook = (repository: string) => () => [
        new Webhook("ci", {
          workspace: "acme",
          repository,
          url: URL_A,
          events: ["repo:push"],
          generateSecret: true,
        }),
      ];
      await engine.up(hook("api"));
      const replaced = await engine.up(hook("web"));
      assert.equal(replaced.error, undefined);
      assert.deepEqual(ops(replaced.steps), ["replace Webhook ci"]);
      await f.harness.expectStderr(
        /replacing webhook https:\/\/hooks\.example\.test\/a \(repository changed\) generates a new secret/,
      );
    });

    it("resolves secret references inside a generic preset's options, at any depth", async () => {
      await start();
      process.env.GEN_HOOK_SECRET = "from-env-hook-secret";
      process.env.GEN_VAR_VALUE = "from-env-variable";
      try {
        const run = await engine.up(
          deploy(`integrations:
  - id: gen
    preset: generic
    repositories: [api]
    options:
      webhooks:
        - url: ${URL_A}
          events: [repo:push]
          secret: { fromEnv: GEN_HOOK_SECRET }
      variables:
        - key: DEPLOY_TOKEN
          value: { fromEnv: GEN_VAR_VALUE }
`),
        );
        assert.equal(run.error, undefined);
        const repo = f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
        assert.equal(repo.hooks[0]?.secret, "from-env-hook-secret");
        assert.deepEqual([repo.variables[0]?.value, repo.variables[0]?.secured], ["from-env-variable", true]);
        const state = JSON.stringify([...engine.state.values()].map((e) => e.outs));
        assert.ok(!state.includes("from-env-hook-secret") && !state.includes("from-env-variable"));
      } finally {
        delete process.env.GEN_HOOK_SECRET;
        delete process.env.GEN_VAR_VALUE;
      }
    });

    it("creates an http webhook declared with allowHttp (an internal Jenkins)", async () => {
      await start();
      const run = await engine.up(
        deploy(
          `webhooks:\n  - repositories: [api]\n    url: http://jenkins.internal.example/bitbucket-hook/\n    allowHttp: true\n    events: [repo:push]\n`,
        ),
      );
      assert.equal(run.error, undefined);
      assert.equal(f.emulator.store.allHooks()[0]?.url, "http://jenkins.internal.example/bitbucket-hook/");
    });
  });
});
