// Issue 25: every preset does what its platform's guide says, and hands the operator the rest.
// What only a real run shows, through the engine harness against the emulator: which calls a
// preset makes (none, for a platform that creates its own objects), what it creates and with which
// permissions, the commands and form fields it outputs with the values the run produced, and the
// options it refuses before any call. One `describe` per item of the issue; the guides' words
// each test relies on are quoted beside it.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "shell-quote";
import { AMPERSAND_CALLBACK, Integration, OAuthConsumer } from "../../provider";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { DC_SEED, dcFixture, DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";
import { workdir } from "../cli/run";

const KEY = "guide-key-25";
const SECRET = "guide-secret-25";
/** Platform.sh's guide: Account Email + Read, Repositories Read + Write, Pull requests Read, Webhooks Read and write. */
const PSH = ["account", "email", "repository:write", "pullrequest", "webhook"];
/** Platform.sh's guide: "It is sufficient to set this value to `http://localhost`". */
const LOCALHOST = "http://localhost";
const ROOT = path.resolve(__dirname, "../..");

const value = <T>(o: pulumi.Output<T> | undefined) => (o as unknown as { promise(): Promise<T> }).promise();
const isSecret = (o: pulumi.Output<unknown> | undefined) =>
  (o as unknown as { isSecret: Promise<boolean> }).isSecret;
/** Every output of an integration, resolved. */
const all = async (i: Integration) =>
  Object.fromEntries(
    await Promise.all(Object.entries(i.outputs).map(async ([k, o]) => [k, await value(o)] as const)),
  ) as Record<string, unknown>;
/** The argv a shell reads from a command line (environment variables expanded from `env`); fails on any operator. */
function argv(command: unknown, env: Record<string, string> = {}): string[] {
  return parse(String(command), (k) => env[k] ?? "").map((t) => {
    assert.equal(typeof t, "string", `an operator in ${String(command)}`);
    return t as string;
  });
}
/** Requests that change something in Bitbucket (not reads, not the consumer's token grant). */
const writes = (f: Fixture) =>
  f.emulator.log().filter((l) => !l.startsWith("GET") && !l.includes("/site/oauth2/"));

describe("issue 25: every preset follows its platform's guide", function () {
  this.timeout(60_000);
  let f: Fixture | undefined;
  // The stack config set here must not reach the next file's programs.
  after(() => pulumi.runtime.setAllConfig({}, []));
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  /** A Cloud emulator whose one OAuth consumer has `scopes` and is private or not. */
  async function cloud(consumer?: { scopes: string[]; private: boolean }): Promise<Engine> {
    f = await fixture({
      ...DEFAULT_SEED,
      consumers: consumer ? [{ key: KEY, secret: SECRET, ...consumer }] : [],
    });
    return new Engine(f.harness);
  }
  async function dataCenter(): Promise<Engine> {
    f = await dcFixture(DC_SEED);
    return new Engine(f.harness);
  }
  const consumer = (over: Partial<ConstructorParameters<typeof OAuthConsumer>[1]> = {}) =>
    new OAuthConsumer("consumer", {
      workspace: "acme",
      name: "Platform",
      scopes: PSH,
      key: KEY,
      secret: SECRET,
      ...over,
    });

  describe("1. Platform.sh on Bitbucket Server", () => {
    // Guide: platform integration:add --type=bitbucket_server --project <PLATFORMSH_PROJECT_ID>
    //   --base-url=<BASE_URL> --username=<USERNAME> --token=<TOKEN> --repository=<REPOSITORY>
    it("prints --base-url=<the server's URL> and no --url, with a token that signs in", async () => {
      const engine = await dataCenter();
      const server = f!.emulator.dcUrl;
      let psh: Integration | undefined;
      const { error } = await engine.up(() => {
        pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": server });
        psh = new Integration("psh", {
          preset: "platformsh",
          project: "PROJ",
          repositories: ["api"],
          options: { project: "abcdefgh1234567", username: "ci-bot" },
        });
        return psh;
      });
      assert.equal(error, undefined, error?.message);
      const words = argv(await value(psh!.outputs.platformCommand));
      const token = f!.emulator.store.dc.users.get("ci-bot")!.tokens[0]?.raw ?? "<none>";
      assert.deepEqual(words, [
        "platform",
        "integration:add",
        "--type=bitbucket_server",
        "--project=abcdefgh1234567",
        `--base-url=${server}`,
        "--username=ci-bot",
        `--token=${token}`,
        "--repository=PROJ/api",
      ]);
      assert.ok(!words.some((w) => w.startsWith("--url")), "no --url: it belongs to other integration types");
      assert.ok(f!.emulator.store.tokens.has(token), "the token in the command authenticates");
      assert.deepEqual(
        argv(await value(psh!.outputs.platformCommandTemplate), { PLATFORMSH_TOKEN: token }),
        words,
      );
    });
  });

  describe("2. Puppet Pipelines on Bitbucket Cloud", () => {
    // Guide: Integrations > Connect Bitbucket > Grant access (Pipelines' own OAuth app); then copy
    // Pipelines' SSH key and add it to your Bitbucket account. Pipelines posts its own webhooks.
    const pipelinesKey = ed25519("pipelines@puppet");

    it("with only the SSH key, adds it to the credentials' account and makes no other call: no consumer check, no webhook", async () => {
      const engine = await cloud();
      const { steps, error } = await engine.up(() => [
        new Integration("puppet", {
          preset: "puppet-pipelines",
          workspace: "acme",
          options: { sshPublicKey: pipelinesKey.publicLine },
        }),
      ]);
      assert.equal(error, undefined, error?.message);
      assert.deepEqual(steps, [{ op: "create", type: "SshKey", name: "puppet-ssh-key" }]);
      const me = [...f!.emulator.store.accounts.values()][0]!;
      assert.deepEqual(f!.emulator.log(), [
        "GET /2.0/user",
        `GET /2.0/users/${encodeURIComponent(me.uuid)}/ssh-keys`,
        `POST /2.0/users/${encodeURIComponent(me.uuid)}/ssh-keys`,
      ]);
      assert.deepEqual(
        me.sshKeys.map((k) => k.label),
        ["Puppet Pipelines"],
      );
      assert.equal(f!.emulator.store.allHooks().length, 0);
    });

    it("refuses a consumer or a webhookUrl before any call, saying what to do instead (library use)", async () => {
      const engine = await cloud({ scopes: PSH, private: true });
      const attempt = async (args: Partial<ConstructorParameters<typeof Integration>[1]>) =>
        (
          await engine.up(() => [
            new Integration("puppet", {
              preset: "puppet-pipelines",
              workspace: "acme",
              ...args,
              options: { sshPublicKey: pipelinesKey.publicLine, ...args.options },
            }),
          ])
        ).error?.message;
      assert.equal(
        await attempt({ consumer: consumer() }),
        "integration puppet (puppet-pipelines):\n  consumer: Puppet Pipelines does not use an OAuth consumer (Pipelines connects with its own OAuth app: Integrations > Connect Bitbucket > Grant access); remove it",
      );
      assert.equal(
        await attempt({ options: { webhookUrl: "https://pipelines.example.test/hooks/bitbucket" } }),
        "integration puppet (puppet-pipelines):\n  webhookUrl: Puppet Pipelines posts its own webhooks with the access it is granted (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)",
      );
      // The consumer given above was never verified: the run stopped before it.
      assert.deepEqual(f!.emulator.log(), []);
    });

    it("refuses a consumer and a webhookUrl in a manifest at their lines, before any call", async () => {
      const engine = await cloud({ scopes: PSH, private: true });
      const dir = workdir({
        "bitbucket.yaml": [
          "version: 1",
          "workspace: acme",
          "oauthConsumers:",
          "  - id: puppet",
          "    name: Puppet Pipelines",
          "    scopes: [account, email, repository:write, pullrequest, webhook]",
          "    key: { fromConfig: puppetKey }",
          "    secret: { fromConfig: puppetSecret }",
          "integrations:",
          "  - id: puppet",
          "    preset: puppet-pipelines",
          "    consumer: puppet",
          "    options:",
          "      webhookUrl: https://pipelines.example.test/hooks/bitbucket",
          "",
        ].join("\n"),
      });
      try {
        const { error } = await engine.up(async () => {
          pulumi.runtime.setAllConfig(
            { "bitbucket-iac:puppetKey": KEY, "bitbucket-iac:puppetSecret": SECRET },
            ["bitbucket-iac:puppetKey", "bitbucket-iac:puppetSecret"],
          );
          return Object.values(
            (await deployManifest(loadManifest(path.join(dir, "bitbucket.yaml")))).resources,
          );
        });
        const lines = String(error?.message)
          .split("\n")
          .filter((l) => l.includes("bitbucket.yaml:"))
          .map((l) => l.replace(/^.*bitbucket\.yaml:/, ""));
        assert.deepEqual(lines, [
          "12:15 integrations[0].consumer: Puppet Pipelines does not use an OAuth consumer (Pipelines connects with its own OAuth app: Integrations > Connect Bitbucket > Grant access); remove consumer (and the consumer's entry, if nothing else uses it)",
          "14:19 integrations[0].options.webhookUrl: Puppet Pipelines: webhookUrl: Puppet Pipelines posts its own webhooks with the access it is granted (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)",
        ]);
        assert.deepEqual(f!.emulator.log(), []);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("3. Puppet Pipelines on Bitbucket Server", () => {
    // Guide: Host, Username, Password, SSH Port (22 by default); Add Credentials.
    it("makes a personal token of the user with exactly PROJECT_READ and REPO_ADMIN, outputs it as the secret password and the host with its port and path; no key, no hook; a second up changes nothing; destroy deletes the token", async () => {
      const engine = await dataCenter();
      let puppet: Integration | undefined;
      const program = () => {
        pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": f!.emulator.dcUrl });
        puppet = new Integration("puppet", {
          preset: "puppet-pipelines",
          project: "PROJ",
          options: { username: "ci-bot", url: "https://bitbucket.example.com:8443/bitbucket" },
        });
        return puppet;
      };
      const first = await engine.up(program);
      assert.equal(first.error, undefined, first.error?.message);
      assert.deepEqual(first.steps, [{ op: "create", type: "AccessToken", name: "puppet-token" }]);
      assert.deepEqual(writes(f!), ["PUT /rest/access-tokens/latest/users/ci-bot"]);
      const dc = f!.emulator.store.dc;
      const tokens = dc.users.get("ci-bot")!.tokens;
      assert.deepEqual(
        tokens.map((t) => [t.name, t.permissions]),
        [["puppet-pipelines-puppet", ["PROJECT_READ", "REPO_ADMIN"]]],
      );
      const out = await all(puppet!);
      assert.equal(out.password, tokens[0]!.raw);
      assert.equal(await isSecret(puppet!.outputs.password), true);
      assert.ok(f!.emulator.store.tokens.has(String(out.password)), "the password signs in");
      assert.deepEqual(
        [out.host, out.username, out.sshPort],
        ["https://bitbucket.example.com:8443/bitbucket", "ci-bot", 22],
      );
      assert.deepEqual([...dc.keys.values()], [], "no SSH key: the Server guide adds none");
      const project = dc.projects.get("PROJ")!;
      assert.deepEqual(
        [project.hooks, ...[...project.repos.values()].map((r) => r.hooks)],
        [[], [], []],
        "no webhook: Pipelines posts its own",
      );

      f!.emulator.resetLog();
      const second = await engine.up(program);
      assert.equal(second.error, undefined, second.error?.message);
      assert.deepEqual(second.steps, [{ op: "same", type: "AccessToken", name: "puppet-token" }]);
      assert.deepEqual(writes(f!), []);

      await engine.destroy();
      assert.deepEqual(dc.users.get("ci-bot")!.tokens, []);
      assert.ok(!f!.emulator.store.tokens.has(String(out.password)), "the password no longer signs in");
    });

    it("gives the host as bitbucket:apiUrl has it when no url is set, port and context path kept", async () => {
      const engine = await dataCenter();
      let puppet: Integration | undefined;
      const { error } = await engine.up(() => {
        pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": `${f!.emulator.dcUrl}/bitbucket/` });
        puppet = new Integration("puppet", {
          preset: "puppet-pipelines",
          project: "PROJ",
          options: { username: "ci-bot", sshPort: 7999 },
        });
        return puppet;
      });
      assert.equal(error, undefined, error?.message);
      assert.deepEqual(
        [await value(puppet!.outputs.host), await value(puppet!.outputs.sshPort)],
        [`${f!.emulator.dcUrl}/bitbucket`, 7999],
      );
      assert.match(f!.emulator.dcUrl, /:\d+$/, "the emulator listens on a port other than 80/443");
    });
  });

  describe("4. Ampersand and Platform.sh consumers", () => {
    it("Ampersand: a public consumer (the guide does not ask for a private one) completes up", async () => {
      const scopes = ["repository", "pipeline:variable"];
      const engine = await cloud({ scopes, private: false });
      let amp: Integration | undefined;
      const { steps, error } = await engine.up(() => {
        const c = consumer({ scopes, private: false, callbackUrl: AMPERSAND_CALLBACK });
        amp = new Integration("amp", {
          preset: "ampersand",
          workspace: "acme",
          consumer: c,
          options: { read: ["repositories"], write: ["pipelines-config/variables"] },
        });
        return [c, amp];
      });
      assert.equal(error, undefined, error?.message);
      assert.deepEqual(steps, [{ op: "create", type: "OAuthConsumer", name: "consumer" }]);
      assert.deepEqual(
        [await value(amp!.outputs.clientId), await value(amp!.outputs.callbackUrl)],
        [KEY, AMPERSAND_CALLBACK],
      );
    });

    it("Ampersand: writing pipelines-config/variables needs pipeline:variable (pipeline:write is not it)", async () => {
      const engine = await cloud({ scopes: ["pipeline", "pipeline:write"], private: true });
      let amp: Integration | undefined;
      const { error } = await engine.up(() => {
        const c = consumer({ scopes: ["pipeline", "pipeline:write"], callbackUrl: AMPERSAND_CALLBACK });
        amp = new Integration("amp", {
          preset: "ampersand",
          workspace: "acme",
          consumer: c,
          options: { write: ["pipelines-config/variables"] },
        });
        return [c, amp];
      });
      assert.match(
        String(error?.message),
        /^error serializing property "outputs": integration amp \(ampersand\): OAuth consumer "Platform" does not declare pipeline:variable; add them to its scopes and tick "[^"]+" in Bitbucket$/,
      );
      assert.deepEqual(amp?.requiredScopes, ["pipeline:variable"]);
    });

    it("Platform.sh: a public consumer fails before anything is made, naming the private checkbox", async () => {
      const engine = await cloud({ scopes: PSH, private: false });
      const { error } = await engine.up(() => {
        const c = consumer({ private: false, callbackUrl: LOCALHOST });
        return [
          c,
          new Integration("psh", {
            preset: "platformsh",
            workspace: "acme",
            repositories: ["api"],
            consumer: c,
            options: { project: "abcdefgh1234" },
          }),
        ];
      });
      assert.match(
        String(error?.message),
        /integration psh \(platformsh\): OAuth consumer "Platform" is declared private: false: Platform\.sh's guide requires a private consumer: tick "This is a private consumer" in Bitbucket and remove private: false$/,
      );
      assert.deepEqual(writes(f!), []);
    });

    it("Platform.sh: a consumer without a callback URL fails before anything is made, naming the callback URL", async () => {
      const engine = await cloud({ scopes: PSH, private: true });
      const { error } = await engine.up(() => {
        const c = consumer();
        return [
          c,
          new Integration("psh", {
            preset: "platformsh",
            workspace: "acme",
            repositories: ["api"],
            consumer: c,
            options: { project: "abcdefgh1234" },
          }),
        ];
      });
      assert.match(
        String(error?.message),
        /integration psh \(platformsh\): OAuth consumer "Platform" declares no callback URL: Platform\.sh's guide requires a callback URL \("http:\/\/localhost" is enough\): set callbackUrl: http:\/\/localhost here and in Bitbucket$/,
      );
      assert.deepEqual(writes(f!), []);
    });
  });

  describe("5. Shippable", () => {
    // Guide: jobs receive <NAME>_INTEGRATION_URL and <NAME>_INTEGRATION_TOKEN, <NAME> being
    // "the friendly name of the Resource"; Shippable sets its own webhooks with the token.
    it("makes not one Bitbucket call during up, and names the variables after the Resources", async () => {
      const engine = await cloud();
      let ship: Integration | undefined;
      const { steps, error } = await engine.up(() => {
        ship = new Integration("ship", {
          preset: "shippable",
          workspace: "acme",
          options: {
            integrationName: "bitbucket_cloud",
            token: pulumi.secret("shippable-token-25"),
            resources: ["api_repo", "web-ci"],
          },
        });
        return [ship];
      });
      assert.equal(error, undefined, error?.message);
      assert.deepEqual(steps, []);
      assert.deepEqual(f!.emulator.log(), []);
      assert.deepEqual(await value(ship!.outputs.environmentNames), [
        "API_REPO_INTEGRATION_URL",
        "API_REPO_INTEGRATION_TOKEN",
        "WEB_CI_INTEGRATION_URL",
        "WEB_CI_INTEGRATION_TOKEN",
      ]);
      assert.equal(await value(ship!.outputs.integrationName), "bitbucket_cloud");
    });
  });

  describe("6. Platform.sh on Bitbucket Cloud", () => {
    // Guide: " platform integration:add --type=bitbucket --project <PLATFORMSH_PROJECT_ID> --key
    // <CONSUMER_KEY> --secret <CONSUMER_SECRET> --repository <USER>/<REPOSITORY>" (leading space),
    // then `platform integration:update` for the branch options, and `platform integration:validate`.
    it("starts the command with a space, sets branch options only with integration:update, and suggests integration:validate", async () => {
      const engine = await cloud({ scopes: PSH, private: true });
      let psh: Integration | undefined;
      const { error } = await engine.up(() => {
        const c = consumer({ callbackUrl: LOCALHOST });
        psh = new Integration("psh", {
          preset: "platformsh",
          workspace: "acme",
          repositories: ["api"],
          consumer: c,
          options: { project: "abcdefgh1234", fetchBranches: true, buildPullRequestsPostMerge: true },
        });
        return [c, psh];
      });
      assert.equal(error, undefined, error?.message);
      const out = await all(psh!);
      assert.equal(
        out.platformCommand,
        ` platform integration:add --type=bitbucket --project=abcdefgh1234 --key=${KEY} --secret=${SECRET} --repository=acme/api`,
      );
      assert.ok(String(out.platformCommandTemplate).startsWith(" platform integration:add "));
      assert.equal(
        out.updateCommand,
        'platform integration:update "$INTEGRATION_ID" --project=abcdefgh1234 --fetch-branches=true --build-pull-requests-post-merge=true',
      );
      assert.equal(out.validateCommand, "platform integration:validate --project=abcdefgh1234");
      for (const k of ["platformCommand", "platformCommandTemplate"])
        assert.doesNotMatch(String(out[k]), /branches|pull-requests/, `${k} carries no branch option`);
    });
  });

  describe("every preset outputs the guide's remaining steps", () => {
    /** Numbered steps that never hold `secrets`; a secret output is named by the command that reveals it. */
    function assertSteps(id: string, steps: unknown, secrets: string[]): string {
      assert.ok(Array.isArray(steps) && steps.length > 0, `${id}: instructions`);
      (steps as string[]).forEach((s, n) => {
        assert.ok(s.startsWith(`${n + 1}. `), `${id} step ${n + 1}: ${s}`);
        for (const secret of secrets) assert.ok(!s.includes(secret), `${id} step ${n + 1} holds a secret`);
      });
      return (steps as string[]).join("\n");
    }

    it("on Cloud: Platform.sh, Puppet Pipelines, Shippable, Ampersand and generic", async () => {
      const engine = await cloud({ scopes: [...PSH, "pipeline:variable"], private: true });
      const made: Record<string, Integration> = {};
      const { error } = await engine.up(() => {
        const c = consumer({ scopes: [...PSH, "pipeline:variable"], callbackUrl: LOCALHOST });
        const a = consumer({ scopes: ["pipeline:variable"], callbackUrl: AMPERSAND_CALLBACK });
        const at = { workspace: "acme" };
        made.platformsh = new Integration("psh", { preset: "platformsh", ...at, repositories: ["api"], consumer: c, options: { project: "abcdefgh1234" } }); // prettier-ignore
        made.puppet = new Integration("puppet", { preset: "puppet-pipelines", ...at });
        made.shippable = new Integration("ship", { preset: "shippable", ...at, options: { integrationName: "bb", token: pulumi.secret("shippable-token-25") } }); // prettier-ignore
        made.ampersand = new Integration("amp", { preset: "ampersand", ...at, consumer: a, options: { write: ["pipelines-config/variables"] } }); // prettier-ignore
        made.generic = new Integration("gen", {
          preset: "generic",
          ...at,
          repositories: ["api"],
          options: {},
        });
        return [c, ...Object.values(made)];
      });
      assert.equal(error, undefined, error?.message);
      const secrets = [KEY, SECRET, "shippable-token-25"];
      for (const [id, i] of Object.entries(made)) {
        const text = assertSteps(id, await value(i.outputs.instructions), secrets);
        if (id !== "generic" && id !== "puppet")
          assert.match(text, /pulumi stack output --show-secrets/, `${id} says how to reveal its secret`);
      }
    });

    it("on Data Center: Platform.sh and Puppet Pipelines", async () => {
      const engine = await dataCenter();
      const made: Record<string, Integration> = {};
      const { error } = await engine.up(() => {
        pulumi.runtime.setAllConfig({ "bitbucket:apiUrl": f!.emulator.dcUrl });
        made.platformsh = new Integration("psh", { preset: "platformsh", project: "PROJ", repositories: ["api"], options: { project: "abcdefgh1234", username: "ci-bot" } }); // prettier-ignore
        made.puppet = new Integration("puppet", { preset: "puppet-pipelines", project: "PROJ", options: { username: "ci-bot" } }); // prettier-ignore
        return Object.values(made);
      });
      assert.equal(error, undefined, error?.message);
      const secrets = f!.emulator.store.dc.users.get("ci-bot")!.tokens.map((t) => t.raw!);
      assert.equal(secrets.length, 2);
      for (const [id, i] of Object.entries(made)) {
        const text = assertSteps(id, await value(i.outputs.instructions), secrets);
        assert.match(text, /pulumi stack output --show-secrets/, `${id} says how to reveal its token`);
      }
    });
  });

  describe("the manifest path: the built `bitbucket-iac validate`", () => {
    it("reports each option the guides have no place for at its file:line:column, with what to do", () => {
      const dir = workdir({
        "bitbucket.yaml": [
          "version: 1",
          "workspace: acme",
          "oauthConsumers:",
          "  - id: psh",
          "    name: Platform.sh",
          "    private: false",
          "    scopes: [account, email, repository:write, pullrequest, webhook]",
          "    key: { fromConfig: pshKey }",
          "    secret: { fromConfig: pshSecret }",
          "  - id: amp",
          "    name: Ampersand",
          `    callbackUrl: ${AMPERSAND_CALLBACK}`,
          "    scopes: [repository]",
          "    key: { fromConfig: ampKey }",
          "    secret: { fromConfig: ampSecret }",
          "integrations:",
          "  - id: psh",
          "    preset: platformsh",
          "    consumer: psh",
          "    repositories: [api]",
          "    options: { project: abcdefgh1234 }",
          "  - id: puppet",
          "    preset: puppet-pipelines",
          "    repositories: [api]",
          "    options:",
          "      webhookUrl: https://pipelines.example.com/hook",
          "  - id: ship",
          "    preset: shippable",
          "    options:",
          "      integrationName: bb",
          "      token: { fromConfig: shipToken }",
          "      url: https://api.bitbucket.org",
          "  - id: amp",
          "    preset: ampersand",
          "    consumer: amp",
          "    options: { read: [repository] }",
          "",
        ].join("\n"),
      });
      try {
        const cli = path.join(ROOT, "dist/provider/cli/main.js");
        // Run from `dir`, as a user's shell would (npm's INIT_CWD, which the CLI honours, says so too).
        const r = spawnSync(process.execPath, [cli, "validate", "bitbucket.yaml"], {
          cwd: dir,
          env: { ...process.env, INIT_CWD: dir },
          encoding: "utf8",
          timeout: 20_000,
        });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.deepEqual(
          r.stderr.split("\n").filter((l) => l.startsWith("bitbucket.yaml:")),
          [
            `bitbucket.yaml:4:5 oauthConsumers[0]: Platform.sh's guide requires a callback URL ("http://localhost" is enough): set callbackUrl: http://localhost here and in Bitbucket`,
            `bitbucket.yaml:6:14 oauthConsumers[0].private: Platform.sh's guide requires a private consumer: tick "This is a private consumer" in Bitbucket and remove private: false`,
            "bitbucket.yaml:24:19 integrations[1].repositories: Pipelines reaches every repository the account that grants access can (through that account's SSH key); remove repositories",
            "bitbucket.yaml:26:19 integrations[1].options.webhookUrl: Puppet Pipelines: webhookUrl: Puppet Pipelines posts its own webhooks with the access it is granted (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)",
            "bitbucket.yaml:32:12 integrations[2].options.url: Shippable: url: Shippable sets <NAME>_INTEGRATION_URL itself (its form has no URL field); remove it",
            `bitbucket.yaml:36:22 integrations[3].options.read: Ampersand: read: unknown object "repository"; Ampersand's guide calls it repositories (objects Ampersand reads: addon/linkers, pipelines-config/variables, repositories, user/emails, hook_events, hooks, members, projects)`,
          ],
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
