import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { AMPERSAND_CALLBACK, Integration, OAuthConsumer } from "../../provider";
import { Engine } from "../harness/deploy";
import { DC_SEED, dcFixture, DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

const KEY = "integration-key-1";
const SECRET = "integration-secret-2";
const PSH = ["account", "email", "repository:write", "pullrequest", "webhook"];
const PUPPET = [
  "account:write",
  "team",
  "repository:write",
  "pullrequest:write",
  "issue",
  "snippet",
  "wiki",
  "webhook",
];

const value = <T>(o: pulumi.Output<T>) => (o as unknown as { promise(): Promise<T> }).promise();
/** Every output of an integration, resolved. */
const all = async (i: Integration) =>
  Object.fromEntries(
    await Promise.all(Object.entries(i.outputs).map(async ([k, o]) => [k, await value(o)] as const)),
  ) as Record<string, unknown>;
const isSecret = (o: pulumi.Output<unknown> | undefined) =>
  (o as unknown as { isSecret: Promise<boolean> }).isSecret;
/** No output that is not marked secret holds any of `secrets`. */
async function assertPlainOutputsClean(i: Integration, secrets: string[]) {
  for (const [k, o] of Object.entries(i.outputs)) {
    if (await isSecret(o)) continue;
    const text = JSON.stringify(await value(o));
    for (const s of secrets) assert.ok(!text.includes(s), `plain output ${k} holds a secret`);
  }
}
const writes = (f: Fixture) =>
  f.emulator.log().filter((l) => !l.startsWith("GET") && !l.includes("/site/oauth2/"));

describe("Integration", () => {
  let f: Fixture;
  let engine: Engine;
  const setup = async (granted: string[], extra: Partial<{ private: boolean }> = {}) => {
    f = await fixture({
      ...DEFAULT_SEED,
      consumers: [{ key: KEY, secret: SECRET, scopes: granted, private: extra.private ?? true }],
    });
    engine = new Engine(f.harness);
  };
  afterEach(async () => f?.close());

  const consumer = (scopes: string[], over: Record<string, unknown> = {}) =>
    new OAuthConsumer("consumer", {
      workspace: "acme",
      name: "Platform",
      scopes,
      key: KEY,
      secret: SECRET,
      ...over,
    });

  describe("every preset with a consumer, the whole lifecycle", () => {
    const k = ed25519("lifecycle");
    const CASES = [
      {
        preset: "platformsh",
        scopes: PSH,
        repositories: ["api"],
        options: { project: "p1" },
        callbackUrl: undefined,
      },
      {
        preset: "puppet-pipelines",
        scopes: PUPPET,
        repositories: ["api", "web"],
        options: { sshPublicKey: k.publicLine, webhookUrl: "https://pipelines.example.test/hook" },
        callbackUrl: undefined,
      },
      {
        preset: "ampersand",
        scopes: ["repository", "issue:write"],
        repositories: [],
        options: { read: ["repository"], write: ["issue"] },
        callbackUrl: AMPERSAND_CALLBACK,
      },
    ] as const;

    for (const c of CASES) {
      it(`${c.preset}: creates, changes nothing on a second pass, reports a removed scope, and deletes its children`, async () => {
        await setup([...c.scopes]);
        const program = () => {
          const consumerRes = consumer([...c.scopes], c.callbackUrl ? { callbackUrl: c.callbackUrl } : {});
          const i = new Integration("it", {
            preset: c.preset,
            workspace: "acme",
            repositories: [...c.repositories],
            consumer: consumerRes,
            options: { ...c.options },
          });
          return [consumerRes, i];
        };
        const first = await engine.up(program);
        assert.equal(first.error, undefined, first.error?.message);
        const created = first.steps.length;
        assert.ok(first.steps.every((s) => s.op === "create"));
        assert.deepEqual(
          (await engine.up(program)).steps.map((s) => s.op),
          Array(created).fill("same"),
        );
        const removed = c.scopes[c.scopes.length - 1]!;
        f.emulator.store.consumers.get(KEY)!.scopes = c.scopes.filter((s) => s !== removed);
        const refreshed = await engine.refresh();
        assert.deepEqual(refreshed.find((r) => r.type === "OAuthConsumer")?.props.missingScopes, [removed]);
        f.emulator.store.consumers.get(KEY)!.scopes = [...c.scopes];
        const steps = await engine.destroy();
        assert.equal(steps.length, created);
        assert.equal(steps.at(-1)?.type, "OAuthConsumer");
        assert.equal(f.emulator.store.allHooks().length, 0);
        assert.equal([...f.emulator.store.accounts.values()].flatMap((a) => a.sshKeys).length, 0);
        await f.harness.expectStderr(/OAuth consumer "Platform" is no longer managed, but it still exists/);
      });
    }
  });

  describe("platformsh", () => {
    let integration: Integration | undefined;
    const program =
      (opts: Record<string, unknown> = { project: "abc123xyz" }) =>
      () => {
        const c = consumer(PSH);
        integration = new Integration("psh", {
          preset: "platformsh",
          workspace: "acme",
          repositories: ["api"],
          consumer: c,
          options: opts,
        });
        return [c, integration];
      };

    it("verifies the consumer and prints the platform command, secret parts kept secret", async () => {
      await setup(PSH);
      const first = await engine.up(program());
      assert.equal(first.error, undefined);
      assert.deepEqual(first.steps, [{ op: "create", type: "OAuthConsumer", name: "consumer" }]);
      assert.deepEqual(
        writes(f),
        [],
        "Platform.sh registers its own webhook: nothing is written to Bitbucket",
      );
      const outs = await all(integration!);
      assert.equal(
        outs.platformCommand,
        `platform integration:add --project=abc123xyz --type=bitbucket --repository=acme/api --key=${KEY} --secret=${SECRET} --fetch-branches=true --prune-branches=true --build-pull-requests=true --build-pull-requests-post-merge=false`,
      );
      assert.equal(await isSecret(integration!.outputs.platformCommand), true);
      await assertPlainOutputsClean(integration!, [KEY, SECRET]);
      assert.equal(await isSecret(integration!.outputs.platformCommandTemplate), false);
      assert.ok(!String(outs.platformCommandTemplate).includes(SECRET));
      assert.match(
        String(outs.platformCommandTemplate),
        /--key="\$BITBUCKET_KEY" --secret="\$BITBUCKET_SECRET"/,
      );
      const second = await engine.up(program());
      assert.deepEqual(
        second.steps.map((s) => s.op),
        ["same"],
      );
    });

    it("reports a scope removed from the consumer on refresh, and deletes leaving the consumer in settings", async () => {
      await setup(PSH);
      await engine.up(program());
      f.emulator.store.consumers.get(KEY)!.scopes = PSH.filter((s) => s !== "webhook");
      const [refreshed] = await engine.refresh();
      assert.deepEqual(refreshed?.props.missingScopes, ["webhook"]);
      const again = await engine.up(program());
      assert.match(
        String(again.error?.message),
        /integration psh \(platformsh\): OAuth consumer "Platform" was not granted webhook|lacks webhook: tick "Webhooks"/,
      );
      assert.deepEqual(await engine.destroy(), [{ op: "delete", type: "OAuthConsumer", name: "consumer" }]);
      await f.harness.expectStderr(/OAuth consumer "Platform" is no longer managed, but it still exists/);
    });

    it("refuses pruneBranches without fetchBranches, and a missing project, before anything runs", async () => {
      await setup(PSH);
      const { error } = await engine.up(program({ fetchBranches: false }));
      assert.equal(
        error?.message,
        "integration psh (platformsh):\n  project: required\n  pruneBranches: needs fetchBranches: true (Platform.sh prunes only branches it fetches); set pruneBranches: false",
      );
      assert.deepEqual(writes(f), []);
    });
  });

  describe("puppet-pipelines", () => {
    const platformKey = ed25519("puppet-pipelines");
    let integration: Integration | undefined;
    const program =
      (scopes = PUPPET) =>
      () => {
        const c = consumer(scopes);
        integration = new Integration("puppet", {
          preset: "puppet-pipelines",
          workspace: "acme",
          repositories: ["api", "web"],
          consumer: c,
          options: {
            sshPublicKey: platformKey.publicLine,
            webhookUrl: "https://pipelines.example.test/hooks/bitbucket",
          },
        });
        return [c, integration];
      };

    it("adds the platform's SSH key to the account and a webhook per repository, then nothing on a second pass", async () => {
      await setup(PUPPET);
      const first = await engine.up(program());
      assert.equal(first.error, undefined, first.error?.message);
      assert.deepEqual(first.steps.map((s) => `${s.op} ${s.type} ${s.name}`).sort(), [
        "create OAuthConsumer consumer",
        "create SshKey puppet-ssh-key",
        "create Webhook puppet-hook-api",
        "create Webhook puppet-hook-web",
      ]);
      const hooks = f.emulator.store.allHooks();
      assert.equal(hooks.length, 2);
      assert.ok(
        hooks.every(
          (h) => h.url === "https://pipelines.example.test/hooks/bitbucket" && h.secret?.length === 64,
        ),
      );
      const outs = await all(integration!);
      assert.deepEqual(Object.keys(outs.webhooks as object).sort(), ["api", "web"]);
      assert.equal(
        (outs.webhookSecrets as Record<string, string>).api,
        hooks.find((h) => h.uuid === (outs.webhooks as Record<string, string>).api)?.secret,
      );
      assert.equal(await isSecret(integration!.outputs.webhookSecrets), true);
      await assertPlainOutputsClean(integration!, [KEY, SECRET, ...hooks.map((h) => h.secret!)]);
      assert.match(String(outs.sshKeyFingerprint), /^SHA256:/);
      const second = await engine.up(program());
      assert.deepEqual(
        second.steps.map((s) => s.op),
        ["same", "same", "same", "same"],
      );
    });

    it("removes every child on delete and leaves the consumer in settings", async () => {
      await setup(PUPPET);
      await engine.up(program());
      const steps = await engine.destroy();
      assert.equal(steps.at(-1)?.type, "OAuthConsumer", "the consumer goes last: its children depend on it");
      assert.equal(f.emulator.store.allHooks().length, 0);
      assert.equal([...f.emulator.store.accounts.values()].flatMap((a) => a.sshKeys).length, 0);
      await f.harness.expectStderr(/still exists: delete it in Workspace settings > OAuth consumers/);
    });

    it("fails before any Bitbucket write when the consumer was not granted what the preset needs", async () => {
      await setup(PUPPET.filter((s) => s !== "wiki" && s !== "team"));
      const { error } = await engine.up(program());
      assert.match(
        String(error?.message),
        /OAuth consumer "Platform" of workspace acme lacks team, wiki: tick "Workspace membership: Read", "Wikis"/,
      );
      assert.deepEqual(writes(f), [], "no webhook, no key: nothing was written");
    });

    it("fails before any Bitbucket write when the consumer does not declare what the preset needs", async () => {
      await setup(PUPPET);
      const { error } = await engine.up(program(PUPPET.filter((s) => s !== "snippet")));
      assert.match(
        String(error?.message),
        /integration puppet \(puppet-pipelines\): OAuth consumer "Platform" does not declare snippet; add them to its scopes and tick "Snippets: Read" in Bitbucket/,
      );
      assert.deepEqual(writes(f), []);
    });
  });

  describe("shippable", () => {
    it("exports the environment Shippable jobs receive, the token secret, and its webhooks", async () => {
      await setup([]);
      let integration: Integration | undefined;
      const program = () => {
        integration = new Integration("ship", {
          preset: "shippable",
          workspace: "acme",
          repositories: ["api"],
          options: {
            integrationName: "bb-cloud",
            token: pulumi.secret("shippable-token-77"),
            webhookUrl: "https://api.shippable.example.test/hooks",
          },
        });
        return [integration];
      };
      const first = await engine.up(program);
      assert.equal(first.error, undefined, first.error?.message);
      const outs = await all(integration!);
      assert.deepEqual(outs.environment, {
        BB_CLOUD_INTEGRATION_URL: "https://api.bitbucket.org",
        BB_CLOUD_INTEGRATION_TOKEN: "shippable-token-77",
      });
      assert.deepEqual(outs.environmentNames, ["BB_CLOUD_INTEGRATION_URL", "BB_CLOUD_INTEGRATION_TOKEN"]);
      assert.equal(await isSecret(integration!.outputs.environment), true);
      await assertPlainOutputsClean(integration!, ["shippable-token-77"]);
      assert.equal(f.emulator.store.allHooks().length, 1);
      assert.deepEqual(
        (await engine.up(program)).steps.map((s) => s.op),
        ["same"],
      );
      await engine.destroy();
      assert.equal(f.emulator.store.allHooks().length, 0);
    });
  });

  describe("ampersand", () => {
    it("checks the consumer's callback URL and exports client id and callback", async () => {
      const scopes = ["repository", "pullrequest:write"];
      await setup(scopes);
      let integration: Integration | undefined;
      const program = (callbackUrl: string) => () => {
        const c = consumer(scopes, { callbackUrl });
        integration = new Integration("amp", {
          preset: "ampersand",
          workspace: "acme",
          consumer: c,
          options: { read: ["repository"], write: ["pullrequest"] },
        });
        return [c, integration];
      };
      const wrong = await engine.up(program("https://example.test/callback"));
      assert.match(
        String(wrong.error?.message),
        /OAuth consumer "Platform" must have callback URL https:\/\/api.withampersand.com\/callbacks\/v1\/oauth \(declared: https:\/\/example.test\/callback\)/,
      );
      const right = await engine.up(program(AMPERSAND_CALLBACK));
      assert.equal(right.error, undefined, right.error?.message);
      const outs = await all(integration!);
      assert.deepEqual(
        [outs.clientId, outs.clientSecret, outs.callbackUrl],
        [KEY, SECRET, AMPERSAND_CALLBACK],
      );
      assert.deepEqual(
        await Promise.all(
          ["clientId", "clientSecret", "callbackUrl"].map((k) => isSecret(integration!.outputs[k])),
        ),
        [true, true, false],
      );
      assert.deepEqual(integration!.requiredScopes, ["repository", "pullrequest:write"]);
    });
  });

  describe("generic", () => {
    it("fans webhooks, deploy keys and variables out over the repositories", async () => {
      await setup([]);
      const k = ed25519("generic");
      const program = () => [
        new Integration("gen", {
          preset: "generic",
          workspace: "acme",
          repositories: ["api", "web"],
          options: {
            webhooks: [{ url: "https://ci.example.test/hook", events: ["repo:push"] }],
            deployKeys: [{ key: k.publicLine, label: "ci" }],
            variables: [
              { key: "CI_TOKEN", value: pulumi.secret("t") },
              { key: "REGION", value: "eu", secured: false },
            ],
          },
        }),
      ];
      const first = await engine.up(program);
      assert.equal(first.error, undefined, first.error?.message);
      assert.equal(first.steps.length, 8);
      const repo = (r: string) => f.emulator.store.workspaces.get("acme")!.repos.get(r)!;
      for (const r of ["api", "web"]) {
        assert.equal(repo(r).hooks.length, 1);
        assert.equal(repo(r).deployKeys.length, 1);
        assert.deepEqual(
          repo(r)
            .variables.map((v) => [v.key, v.secured])
            .sort(),
          [
            ["CI_TOKEN", true],
            ["REGION", false],
          ],
        );
      }
      assert.deepEqual(
        (await engine.up(program)).steps.map((s) => s.op),
        Array(8).fill("same"),
      );
      await engine.destroy();
      assert.equal(repo("api").variables.length + repo("web").deployKeys.length, 0);
    });
  });
});

describe("Integration on Data Center (library use)", () => {
  let f: Fixture;
  let engine: Engine;
  beforeEach(async () => {
    f = await dcFixture(DC_SEED);
    engine = new Engine(f.harness);
  });
  afterEach(async () => f.close());
  const key = ed25519("pipelines@puppet");

  it("puppet-pipelines: the key on the user's account, a webhook per repository, host/user/port out; a second pass writes nothing", async () => {
    let puppet: Integration | undefined;
    const program = () => {
      pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": "https://bitbucket.example.com" });
      puppet = new Integration("puppet", {
        preset: "puppet-pipelines",
        project: "PROJ",
        repositories: ["api", "web"],
        options: {
          username: "ci-bot",
          sshPublicKey: key.publicLine,
          webhookUrl: "https://pipelines.example.test/hook",
          sshPort: 7999,
        },
      });
      return puppet;
    };
    const first = await engine.up(program);
    assert.equal(first.error, undefined, first.error?.message);
    assert.deepEqual(writes(f).sort(), [
      "POST /rest/api/latest/projects/PROJ/repos/api/webhooks",
      "POST /rest/api/latest/projects/PROJ/repos/web/webhooks",
      "POST /rest/ssh/latest/keys",
    ]);
    const keys = [...f.emulator.store.dc.keys.values()];
    assert.deepEqual(
      keys.map((k) => [k.user, k.label]),
      [["ci-bot", "Puppet Pipelines"]],
    );
    const out = await all(puppet!);
    assert.deepEqual([out.host, out.username, out.sshPort], ["bitbucket.example.com", "ci-bot", 7999]);
    assert.deepEqual(Object.keys(out.webhooks as object), ["api", "web"]);
    assert.ok(await isSecret(puppet!.outputs.webhookSecrets));
    f.emulator.resetLog();
    const second = await engine.up(program);
    assert.equal(second.error, undefined, second.error?.message);
    assert.deepEqual(writes(f), []);
    await engine.destroy();
  });

  it("refuses a Cloud-only preset, a missing project and an unknown server URL before anything runs", async () => {
    const attempt = async (args: Partial<ConstructorParameters<typeof Integration>[1]>) =>
      (
        await engine.up(() => {
          pulumi.runtime.setAllConfig({});
          return new Integration("x", { preset: "platformsh", ...args });
        })
      ).error?.message;
    const saved = process.env.BITBUCKET_API_URL;
    delete process.env.BITBUCKET_API_URL;
    try {
      assert.equal(
        await attempt({ preset: "shippable", project: "PROJ" }),
        'integration x: preset "shippable" is for Bitbucket Cloud only (Data Center presets: platformsh, puppet-pipelines)',
      );
      assert.equal(
        await attempt({
          flavor: "datacenter",
          repositories: ["api"],
          options: { project: "p", username: "u" },
        }),
        "integration x (platformsh):\n  project: the project key of the repositories, e.g. PROJ\n  url: the server's base URL as the platform reaches it, e.g. https://bitbucket.example.com (bitbucket:apiUrl is not set to default it)",
      );
    } finally {
      if (saved !== undefined) process.env.BITBUCKET_API_URL = saved;
    }
    assert.deepEqual(writes(f), []);
  });
});
