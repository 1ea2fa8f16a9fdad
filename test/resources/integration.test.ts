import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { AMPERSAND_CALLBACK, Integration, OAuthConsumer } from "../../provider";
import { Engine } from "../harness/deploy";
import { DC_SEED, dcFixture, DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

const KEY = "integration-key-1";
const SECRET = "integration-secret-2";
const PSH = ["account", "email", "repository:write", "pullrequest", "webhook"];
/** Platform.sh's guide: "It is sufficient to set this value to `http://localhost`". */
const LOCALHOST = "http://localhost";

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
/** `instructions`: numbered steps, 1 to n, none holding any of `secrets`. */
function assertSteps(steps: unknown, secrets: string[] = []): string[] {
  assert.ok(Array.isArray(steps) && steps.length > 0, `instructions: ${JSON.stringify(steps)}`);
  (steps as string[]).forEach((step, n) => {
    assert.ok(step.startsWith(`${n + 1}. `), `step ${n + 1} is numbered: ${step}`);
    for (const secret of secrets) assert.ok(!step.includes(secret), `step ${n + 1} holds a secret`);
  });
  return steps as string[];
}

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
        callbackUrl: LOCALHOST,
      },
      {
        preset: "ampersand",
        scopes: ["repository", "webhook"],
        repositories: [],
        options: { read: ["repositories"], write: ["hooks"] },
        callbackUrl: AMPERSAND_CALLBACK,
      },
      {
        preset: "generic",
        scopes: ["repository", "webhook"],
        repositories: ["api", "web"],
        options: {
          scopes: ["repository", "webhook"],
          webhooks: [{ url: "https://ci.example.test/hook", events: ["repo:push"] }],
          deployKeys: [{ key: k.publicLine, label: "ci" }],
        },
        callbackUrl: undefined,
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
        const repo = (r: string) => f.emulator.store.workspaces.get("acme")!.repos.get(r)!;
        assert.equal(repo("api").deployKeys.length + repo("web").deployKeys.length, 0);
        await f.harness.expectStderr(/OAuth consumer "Platform" is no longer managed, but it still exists/);
      });
    }
  });

  describe("platformsh", () => {
    let integration: Integration | undefined;
    const program =
      (opts: Record<string, unknown> = { project: "abc123xyz" }) =>
      () => {
        const c = consumer(PSH, { callbackUrl: LOCALHOST });
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
        ` platform integration:add --type=bitbucket --project=abc123xyz --key=${KEY} --secret=${SECRET} --repository=acme/api`,
      );
      assert.equal(await isSecret(integration!.outputs.platformCommand), true);
      await assertPlainOutputsClean(integration!, [KEY, SECRET]);
      assert.equal(await isSecret(integration!.outputs.platformCommandTemplate), false);
      assert.equal(
        outs.platformCommandTemplate,
        ' platform integration:add --type=bitbucket --project=abc123xyz --key="$PLATFORMSH_KEY" --secret="$PLATFORMSH_SECRET" --repository=acme/api',
      );
      assert.equal(outs.validateCommand, "platform integration:validate --project=abc123xyz");
      assert.equal(outs.updateCommand, undefined, "no branch option set: the guide's defaults stand");
      const steps = assertSteps(outs.instructions, [KEY, SECRET]);
      assert.equal(steps.length, 4);
      assert.match(steps[0]!, /^1\. Install the Platform\.sh CLI, if you haven't already done so/);
      assert.match(
        steps[2]!,
        /^3\. Enable the Cloud integration: run the command that `pulumi stack output --show-secrets` \(this integration's output platformCommand\) prints/,
      );
      assert.equal(
        steps[3],
        "4. Validate the integration: `platform integration:validate --project=abc123xyz`.",
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
      const { error } = await engine.up(program({ fetchBranches: false, pruneBranches: true }));
      assert.equal(
        error?.message,
        "integration psh (platformsh):\n  project: required\n  pruneBranches: needs fetchBranches: true (Platform.sh prunes only branches it fetches, and sets pruneBranches to false without it); remove pruneBranches or set it to false",
      );
      assert.deepEqual(writes(f), []);
    });
  });

  describe("puppet-pipelines", () => {
    const platformKey = ed25519("puppet-pipelines");
    let integration: Integration | undefined;
    const program =
      (options: Record<string, unknown> = { sshPublicKey: platformKey.publicLine }) =>
      () => {
        integration = new Integration("puppet", { preset: "puppet-pipelines", workspace: "acme", options });
        return [integration];
      };
    const accountKeys = () => [...f.emulator.store.accounts.values()].flatMap((a) => a.sshKeys);

    it("adds the platform's SSH key to the credentials' account and nothing else, then nothing on a second pass", async () => {
      await setup([]);
      const first = await engine.up(program());
      assert.equal(first.error, undefined, first.error?.message);
      assert.deepEqual(first.steps, [{ op: "create", type: "SshKey", name: "puppet-ssh-key" }]);
      assert.deepEqual(
        accountKeys().map((k) => k.label),
        ["Puppet Pipelines"],
      );
      assert.equal(f.emulator.store.allHooks().length, 0, "Pipelines posts its own webhooks");
      const outs = await all(integration!);
      assert.deepEqual(Object.keys(outs).sort(), ["instructions", "sshKeyFingerprint"]);
      assert.match(String(outs.sshKeyFingerprint), /^SHA256:/);
      const steps = assertSteps(outs.instructions);
      assert.deepEqual(
        steps.map((s) => s.split(/[:.,]/, 2)[1]!.trim()),
        [
          "In Puppet Pipelines",
          "Click Connect Bitbucket",
          "Click Grant access",
          "In Pipelines",
          "Copy the SSH key",
          "Add the SSH key to your Bitbucket account",
        ],
      );
      assert.ok(steps[5]!.includes(String(outs.sshKeyFingerprint)), steps[5]);
      const second = await engine.up(program());
      assert.deepEqual(
        second.steps.map((s) => s.op),
        ["same"],
      );
    });

    it("without the key yet, creates nothing and says where to find it and where to put it", async () => {
      await setup([]);
      const { steps, error } = await engine.up(program({}));
      assert.equal(error, undefined, error?.message);
      assert.deepEqual(steps, []);
      assert.deepEqual(writes(f), []);
      const outs = await all(integration!);
      assert.equal(outs.sshKeyFingerprint, undefined);
      assert.equal(
        assertSteps(outs.instructions)[5],
        "6. Add the SSH key to your Bitbucket account: set it as options.sshPublicKey of integration puppet and run `pulumi up` again; this stack then adds it.",
      );
    });

    it("removes the key from the account on delete", async () => {
      await setup([]);
      await engine.up(program());
      assert.equal(accountKeys().length, 1);
      assert.deepEqual(await engine.destroy(), [{ op: "delete", type: "SshKey", name: "puppet-ssh-key" }]);
      assert.equal(accountKeys().length, 0);
    });

    it("refuses a consumer, repositories and webhook options before anything runs, saying what to do", async () => {
      await setup([...PSH]);
      const { error } = await engine.up(() => [
        new Integration("puppet", {
          preset: "puppet-pipelines",
          workspace: "acme",
          repositories: ["api"],
          consumer: consumer(PSH),
          options: {
            sshPublicKey: platformKey.publicLine,
            webhookUrl: "https://pipelines.example.test/hooks/bitbucket",
            events: ["repo:push"],
          },
        }),
      ]);
      const NO_WEBHOOKS =
        "Puppet Pipelines posts its own webhooks with the access it is granted (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)";
      assert.equal(
        error?.message,
        [
          "integration puppet (puppet-pipelines):",
          `  webhookUrl: ${NO_WEBHOOKS}`,
          `  events: ${NO_WEBHOOKS}`,
          "  consumer: Puppet Pipelines does not use an OAuth consumer (Pipelines connects with its own OAuth app: Integrations > Connect Bitbucket > Grant access); remove it",
          "  repositories: Pipelines reaches every repository the account that grants access can (through that account's SSH key); remove repositories",
        ].join("\n"),
      );
      assert.deepEqual(writes(f), [], "no key, no hook: nothing was written");
    });
  });

  describe("shippable", () => {
    it("exports the friendly name, the token as a secret, its scopes and the variables its Resources' jobs receive; creates nothing", async () => {
      await setup([]);
      let integration: Integration | undefined;
      const program = () => {
        integration = new Integration("ship", {
          preset: "shippable",
          workspace: "acme",
          options: {
            integrationName: "bb-cloud",
            token: pulumi.secret("shippable-token-77"),
            resources: ["api_repo", "web-ci"],
          },
        });
        return [integration];
      };
      const first = await engine.up(program);
      assert.equal(first.error, undefined, first.error?.message);
      assert.deepEqual(first.steps, []);
      const outs = await all(integration!);
      assert.deepEqual(Object.keys(outs).sort(), [
        "environmentNames",
        "instructions",
        "integrationName",
        "token",
        "tokenScopes",
      ]);
      assert.equal(outs.integrationName, "bb-cloud");
      assert.equal(outs.token, "shippable-token-77");
      assert.equal(await isSecret(integration!.outputs.token), true);
      assert.deepEqual(outs.tokenScopes, ["repository", "pullrequest", "webhook"]);
      assert.deepEqual(outs.environmentNames, [
        "API_REPO_INTEGRATION_URL",
        "API_REPO_INTEGRATION_TOKEN",
        "WEB_CI_INTEGRATION_URL",
        "WEB_CI_INTEGRATION_TOKEN",
      ]);
      const steps = assertSteps(outs.instructions, ["shippable-token-77"]);
      assert.ok(steps.includes("5. Friendly name for your integration: bb-cloud"), steps.join("\n"));
      await assertPlainOutputsClean(integration!, ["shippable-token-77"]);
      assert.equal(f.emulator.store.allHooks().length, 0);
      assert.deepEqual((await engine.up(program)).steps, []);
    });

    it("refuses repositories, a url and webhook options, naming what Shippable does instead", async () => {
      await setup([]);
      const { error } = await engine.up(() => [
        new Integration("ship", {
          preset: "shippable",
          workspace: "acme",
          repositories: ["api"],
          options: {
            integrationName: "bb",
            token: pulumi.secret("t"),
            url: "https://api.bitbucket.org",
            webhookUrl: "https://api.shippable.example.test/hooks",
          },
        }),
      ]);
      assert.equal(
        error?.message,
        [
          "integration ship (shippable):",
          "  url: Shippable sets <NAME>_INTEGRATION_URL itself (its form has no URL field); remove it",
          "  webhookUrl: Shippable sets its own webhooks with the token (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)",
          "  repositories: Shippable reaches the repositories its token can; remove repositories",
        ].join("\n"),
      );
      assert.deepEqual(f.emulator.log(), []);
    });
  });

  describe("ampersand", () => {
    it("checks the consumer's callback URL and exports client id and callback", async () => {
      const scopes = ["repository", "pipeline:variable"];
      await setup(scopes);
      let integration: Integration | undefined;
      const program = (callbackUrl: string) => () => {
        const c = consumer(scopes, { callbackUrl });
        integration = new Integration("amp", {
          preset: "ampersand",
          workspace: "acme",
          consumer: c,
          options: { read: ["repositories"], write: ["pipelines-config/variables"] },
        });
        return [c, integration];
      };
      const wrong = await engine.up(program("https://example.test/callback"));
      assert.match(
        String(wrong.error?.message),
        /OAuth consumer "Platform" has callback URL https:\/\/example.test\/callback: Ampersand requires callbackUrl: https:\/\/api.withampersand.com\/callbacks\/v1\/oauth$/,
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
      assert.deepEqual(integration!.requiredScopes, ["repository", "pipeline:variable"]);
      const steps = assertSteps(outs.instructions, [KEY, SECRET]);
      assert.match(
        steps[0]!,
        /Callback URL https:\/\/api\.withampersand\.com\/callbacks\/v1\/oauth, permissions /,
      );
      assert.equal(steps.at(-1), `${steps.length}. Click Save Changes.`);
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

    // The gate: a consumer short of the preset's scopes stops the run before any Bitbucket write,
    // whether it does not declare a scope (known in previews) or was not granted it (known once verified).
    for (const [declared, granted, message] of [
      [["webhook"], ["webhook", "repository"], /OAuth consumer "Platform" does not declare repository/],
      [
        ["webhook", "repository"],
        ["webhook"],
        /OAuth consumer "Platform" (was not granted|of workspace acme lacks) repository/,
      ],
    ] as const) {
      it(`writes nothing when the consumer ${message.source.includes("not declare") ? "does not declare" : "was not granted"} a scope the preset needs`, async () => {
        await setup([...granted]);
        const { error } = await engine.up(() => {
          const c = consumer([...declared]);
          return [
            c,
            new Integration("gen", {
              preset: "generic",
              workspace: "acme",
              repositories: ["api"],
              consumer: c,
              options: {
                scopes: ["webhook", "repository"],
                webhooks: [{ url: "https://ci.example.test/hook", events: ["repo:push"] }],
              },
            }),
          ];
        });
        assert.match(String(error?.message), message);
        assert.deepEqual(writes(f), [], "no webhook was written");
        assert.equal(f.emulator.store.allHooks().length, 0);
      });
    }
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

  it("puppet-pipelines: a personal token of the user as the form's password, host/user/port out, no key and no hook; a second pass writes nothing", async () => {
    let puppet: Integration | undefined;
    const program = () => {
      pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": "https://bitbucket.example.com:8443/bitbucket/" });
      puppet = new Integration("puppet", {
        preset: "puppet-pipelines",
        project: "PROJ",
        options: { username: "ci-bot", sshPort: 7999 },
      });
      return puppet;
    };
    const first = await engine.up(program);
    assert.equal(first.error, undefined, first.error?.message);
    assert.deepEqual(writes(f), ["PUT /rest/access-tokens/latest/users/ci-bot"]);
    const [token, ...others] = f.emulator.store.dc.users.get("ci-bot")!.tokens;
    assert.deepEqual(others, []);
    assert.deepEqual(
      [token?.name, token?.permissions],
      ["puppet-pipelines-puppet", ["PROJECT_READ", "REPO_ADMIN"]],
    );
    assert.deepEqual([...f.emulator.store.dc.keys.values()], [], "the Server guide adds no SSH key");
    const out = await all(puppet!);
    assert.deepEqual(
      [out.host, out.username, out.sshPort],
      ["https://bitbucket.example.com:8443/bitbucket", "ci-bot", 7999],
    );
    assert.equal(out.password, token?.raw);
    assert.ok(await isSecret(puppet!.outputs.password));
    await assertPlainOutputsClean(puppet!, [token!.raw!]);
    assert.ok(assertSteps(out.instructions).includes("7. SSH Port: 7999"));
    f.emulator.resetLog();
    const second = await engine.up(program);
    assert.equal(second.error, undefined, second.error?.message);
    assert.deepEqual(writes(f), []);
    await engine.destroy();
    assert.deepEqual(f.emulator.store.dc.users.get("ci-bot")!.tokens, []);
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
