// Issue 25, the review's fixes: least privilege and no credential leaks, as a user meets them.
// a) `bitbucket-iac validate` (the built CLI) refuses an OAuth consumer that declares more than the
//    integrations using it need, at its `scopes`, and checks only what it can know.
// b) On Data Center the connection's URL (bitbucket:apiUrl / BITBUCKET_API_URL) is handed to the
//    platform only as a plain base URL: with credentials, a query or a fragment the presets ask for
//    `url` and echo none of it; Puppet's `host` is held to the same.
// c) Puppet Pipelines on Data Center passes on the user's own password (a secret) and makes no token.
// d) Puppet Pipelines on Cloud: `validate` checks the pasted SSH key at its line.
// e) A personal token is made by its user signed in with a password: the error says so when the
//    connection signs in with a token (through the engine harness against the Data Center emulator).

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AccessToken, AMPERSAND_CALLBACK, Integration } from "../../provider";
import { setProviderConfig } from "../../provider/api/auth";
import { mockRegistrations } from "../../provider/cli/declared";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { DC_SEED, dcFixture, TOKEN, type Fixture } from "../harness/fixture";
import { workdir } from "../cli/run";

const ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "dist/provider/cli/main.js");

const value = <T>(o: pulumi.Output<T> | unknown) => (o as { promise(): Promise<T> }).promise();
const isSecret = (o: pulumi.Output<unknown> | unknown) => (o as { isSecret: Promise<boolean> }).isSecret;

/** The built `bitbucket-iac validate` on a manifest, run from its directory: exit status and problem lines. */
function validate(lines: string[]): { status: number | null; problems: string[]; out: string } {
  const dir = workdir({ "bitbucket.yaml": [...lines, ""].join("\n") });
  try {
    const r = spawnSync(process.execPath, [CLI, "validate", "bitbucket.yaml"], {
      cwd: dir,
      env: { ...process.env, INIT_CWD: dir },
      encoding: "utf8",
      timeout: 20_000,
    });
    return {
      status: r.status,
      problems: r.stderr.split("\n").filter((l) => l.startsWith("bitbucket.yaml:")),
      out: r.stdout + r.stderr,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Platform.sh's guide: Account Email + Read, Repositories Read + Write, Pull requests Read, Webhooks Read and write. */
const PSH = "account, email, repository:write, pullrequest, webhook";

/** The program's own registrations, under mocks: every custom resource with its inputs. */
type Registered = Array<{ type: string; name: string; inputs: Record<string, unknown> }>;
async function underMocks(token = "made-token-25"): Promise<Registered> {
  const registered: Registered = [];
  await mockRegistrations("test", async (type, name, inputs) => {
    registered.push({ type, name, inputs: inputs as Record<string, unknown> });
    return {
      id: `${name}-id`,
      state: {
        ...(inputs as Record<string, unknown>),
        ...(type === "AccessToken" && { token, tokenId: "1" }),
      },
    };
  });
  return registered;
}

/** Every output of an integration, resolved (secret ones too). */
const outputsOf = async (i: Integration) =>
  Object.fromEntries(
    await Promise.all(Object.entries(i.outputs).map(async ([k, o]) => [k, await value(o)] as const)),
  ) as Record<string, unknown>;

/** The error a constructor throws (or fails the test). */
function thrown(make: () => unknown): string {
  try {
    make();
  } catch (e) {
    return String((e as Error).message);
  }
  assert.fail("expected the integration to be refused");
}

/** Clears the stack config this file sets, in the runtime and in the provider's process-wide copy. */
function clearConfig() {
  pulumi.runtime.setAllConfig({}, []);
  setProviderConfig(() => undefined);
}

describe("issue 25: least privilege, and no credential leaks", function () {
  this.timeout(60_000);
  after(clearConfig);

  describe("a) an OAuth consumer declares no more than the integrations using it need (bitbucket-iac validate)", () => {
    it("refuses a Platform.sh consumer with repository:admin and repository:delete at its scopes, naming them and their checkboxes", () => {
      const r = validate([
        "version: 1",
        "workspace: acme",
        "oauthConsumers:",
        "  - id: psh",
        "    name: Platform.sh",
        "    callbackUrl: http://localhost",
        `    scopes: [${PSH}, repository:admin, repository:delete]`,
        "    key: { fromConfig: pshKey }",
        "    secret: { fromConfig: pshSecret }",
        "integrations:",
        "  - id: psh",
        "    preset: platformsh",
        "    consumer: psh",
        "    repositories: [api]",
        "    options: { project: abcdefgh1234 }",
      ]);
      assert.equal(r.status, 1, r.out);
      assert.deepEqual(r.problems, [
        `bitbucket.yaml:7:13 oauthConsumers[0].scopes: repository:admin, repository:delete: more than Platform.sh (integration psh) needs; untick "Repositories: Admin", "Repositories: Delete" in Bitbucket and remove them here (the platform gets every permission the consumer has)`,
      ]);
    });

    // Platform.sh needs account, email, repository:write, pullrequest, webhook; Ampersand writing
    // pipelines-config/variables needs pipeline:variable. Bitbucket's form ticks the read level
    // beside each higher one (Repositories: Read with Write, Pipelines: Read with Edit variables).
    const shared = (scopes: string) => [
      "version: 1",
      "workspace: acme",
      "oauthConsumers:",
      "  - id: shared",
      "    name: Shared",
      `    callbackUrl: ${AMPERSAND_CALLBACK}`,
      `    scopes: [${scopes}]`,
      "    key: { fromConfig: sharedKey }",
      "    secret: { fromConfig: sharedSecret }",
      "integrations:",
      "  - id: psh",
      "    preset: platformsh",
      "    consumer: shared",
      "    repositories: [api]",
      "    options: { project: abcdefgh1234 }",
      "  - id: amp",
      "    preset: ampersand",
      "    consumer: shared",
      "    options: { write: [pipelines-config/variables] }",
    ];

    it("accepts a consumer shared by Platform.sh and Ampersand that declares what both need, with the read levels Bitbucket ticks", () => {
      const r = validate(shared(`${PSH}, repository, pipeline, pipeline:variable`));
      assert.equal(r.status, 0, r.out);
      assert.deepEqual(r.problems, []);
    });

    it("refuses a scope of that shared consumer that neither needs, naming both integrations", () => {
      const r = validate(shared(`${PSH}, repository, pipeline, pipeline:variable, pipeline:write`));
      assert.equal(r.status, 1, r.out);
      assert.deepEqual(r.problems, [
        `bitbucket.yaml:7:13 oauthConsumers[0].scopes: pipeline:write: more than Platform.sh (integration psh), Ampersand (integration amp) needs; untick "Pipelines: Write" in Bitbucket and remove it here (the platform gets every permission the consumer has)`,
      ]);
    });

    const generic = (options: string[]) => [
      "version: 1",
      "workspace: acme",
      "oauthConsumers:",
      "  - id: ci",
      "    name: CI",
      "    scopes: [repository:admin, repository:delete, webhook]",
      "    key: { fromConfig: ciKey }",
      "    secret: { fromConfig: ciSecret }",
      "integrations:",
      "  - id: gen",
      "    preset: generic",
      "    consumer: ci",
      "    repositories: [api]",
      "    options:",
      '      webhooks: [{ url: "https://ci.example.test/hook", events: [repo:push] }]',
      ...options,
    ];

    it("does not check the scopes of a consumer used only by a generic integration without scopes, and checks them once it says its scopes", () => {
      const unsaid = validate(generic([]));
      assert.equal(unsaid.status, 0, unsaid.out);
      assert.deepEqual(unsaid.problems, []);
      const said = validate(generic(["      scopes: [webhook]"]));
      assert.equal(said.status, 1, said.out);
      assert.deepEqual(said.problems, [
        `bitbucket.yaml:6:13 oauthConsumers[0].scopes: repository:admin, repository:delete: more than Generic (integration gen) needs; untick "Repositories: Admin", "Repositories: Delete" in Bitbucket and remove them here (the platform gets every permission the consumer has)`,
      ]);
    });

    it("reports a consumer given to Puppet Pipelines as refused, not its scopes as extra", () => {
      const r = validate([
        "version: 1",
        "workspace: acme",
        "oauthConsumers:",
        "  - id: puppet",
        "    name: Puppet Pipelines",
        "    scopes: [account, email, repository:admin, repository:delete, webhook]",
        "    key: { fromConfig: puppetKey }",
        "    secret: { fromConfig: puppetSecret }",
        "integrations:",
        "  - id: puppet",
        "    preset: puppet-pipelines",
        "    consumer: puppet",
      ]);
      assert.equal(r.status, 1, r.out);
      assert.deepEqual(r.problems, [
        "bitbucket.yaml:12:15 integrations[0].consumer: Puppet Pipelines does not use an OAuth consumer (Pipelines connects with its own OAuth app: Integrations > Connect Bitbucket > Grant access); remove consumer (and the consumer's entry, if nothing else uses it)",
      ]);
    });
  });

  describe("b) on Data Center the connection's URL reaches the platform only as a plain base URL (library use)", () => {
    const PASSWORD = "s3cr3t";
    const QUERY_TOKEN = "QTOKEN";
    const FRAGMENT_TOKEN = "FTOKEN";
    const LEAKS = [PASSWORD, QUERY_TOKEN, FRAGMENT_TOKEN];
    const CONNECTIONS = [
      `https://ci-bot:${PASSWORD}@bb.example.com/?access_token=${QUERY_TOKEN}`,
      `https://ci-bot:${PASSWORD}@bb.example.com`,
      `https://bb.example.com/?access_token=${QUERY_TOKEN}`,
      `https://bb.example.com/#${FRAGMENT_TOKEN}`,
    ];
    const PRESETS = {
      platformsh: { project: "abcdefgh1234567", username: "ci-bot" },
      "puppet-pipelines": { username: "ci-bot" },
    } as const;
    const build = (preset: keyof typeof PRESETS, options: Record<string, unknown> = {}) =>
      new Integration("it", {
        preset,
        project: "PROJ",
        repositories: preset === "platformsh" ? ["api"] : [],
        options: { ...PRESETS[preset], ...options },
      });

    const saved = process.env.BITBUCKET_API_URL;
    afterEach(() => {
      clearConfig();
      if (saved === undefined) delete process.env.BITBUCKET_API_URL;
      else process.env.BITBUCKET_API_URL = saved;
    });
    /** The connection's URL, from stack config or the environment. */
    const connect = (source: "config" | "env", url: string) => {
      clearConfig();
      delete process.env.BITBUCKET_API_URL;
      if (source === "config")
        pulumi.runtime.setAllConfig({ "bitbucket:flavor": "datacenter", "bitbucket:apiUrl": url }, []);
      else process.env.BITBUCKET_API_URL = url;
    };

    for (const source of ["config", "env"] as const)
      it(`refuses to build Platform.sh and Puppet Pipelines without url when ${source === "config" ? "bitbucket:apiUrl" : "BITBUCKET_API_URL"} holds credentials, a query or a fragment, naming url and echoing none of it`, async () => {
        for (const url of CONNECTIONS)
          for (const preset of Object.keys(PRESETS) as Array<keyof typeof PRESETS>) {
            await underMocks();
            connect(source, url);
            const message = thrown(() => build(preset));
            assert.equal(
              message,
              `integration it (${preset}):\n  url: bitbucket:apiUrl is not a plain base URL (it has credentials, a query or a fragment, which would be printed for the platform); set options.url to the address the platform reaches, e.g. https://bitbucket.example.com`,
              `${preset} with ${url}`,
            );
            for (const s of LEAKS) assert.ok(!message.includes(s), `${preset}: the refusal echoes ${s}`);
          }
      });

    it("with url set, builds both presets and no output, instruction or declared input holds the connection's credentials", async () => {
      for (const preset of Object.keys(PRESETS) as Array<keyof typeof PRESETS>) {
        const registered = await underMocks();
        connect("config", CONNECTIONS[0]!);
        const i = build(preset, { url: "https://bitbucket.example.com:8443/bitbucket" });
        const outputs = await outputsOf(i);
        const text = JSON.stringify([outputs, registered]);
        for (const s of [...LEAKS, "ci-bot:"]) assert.ok(!text.includes(s), `${preset} hands on ${s}`);
        assert.ok(
          text.includes("https://bitbucket.example.com:8443/bitbucket"),
          `${preset} hands on the url given`,
        );
        assert.ok((outputs.instructions as string[]).length > 0, `${preset} has instructions`);
        assert.deepEqual(
          registered.map((r) => r.type),
          ["AccessToken"],
        );
      }
    });

    it("refuses Puppet Pipelines' host with user:password@, a ?query or a #fragment, echoing none of it", async () => {
      for (const host of [
        `https://ci-bot:${PASSWORD}@bb.example.com`,
        `ci-bot:${PASSWORD}@bb.example.com:8443`,
        `https://bb.example.com/?access_token=${QUERY_TOKEN}`,
        `bb.example.com/bitbucket#${FRAGMENT_TOKEN}`,
      ]) {
        await underMocks();
        connect("config", "https://bb.example.com");
        const message = thrown(() => build("puppet-pipelines", { host }));
        assert.equal(
          message,
          "integration it (puppet-pipelines):\n  host: must be the server's address, e.g. https://bitbucket.example.com:8443/bitbucket (no spaces, user:password@, ?query or #fragment)",
          host,
        );
        for (const s of LEAKS) assert.ok(!message.includes(s), `the refusal echoes ${s}`);
      }
    });
  });

  describe("c) Puppet Pipelines on Data Center with the user's own password", () => {
    const PASSWORD = "ci-bot-own-password-25";
    afterEach(clearConfig);

    /** The Password step says whose password it is and how to reveal it, and holds no secret. */
    function assertPasswordStep(steps: unknown, reveal: RegExp) {
      const lines = steps as string[];
      const step = lines.find((s) => /^\d+\. Password: /.test(s));
      assert.ok(step, `a Password step in ${JSON.stringify(lines)}`);
      assert.match(step, /^\d+\. Password: ci-bot's password, as given in options\.password; /);
      assert.match(step, reveal);
      assert.doesNotMatch(step, /access token/, "not a token this stack made");
      for (const s of lines) assert.ok(!s.includes(PASSWORD), `a step holds the password: ${s}`);
    }

    it("with password: pulumi.secret(...), declares no access token and outputs the password as given, as a secret", async () => {
      const registered = await underMocks();
      const i = new Integration("puppet", {
        preset: "puppet-pipelines",
        project: "PROJ",
        options: { username: "ci-bot", url: "https://bb.example.com", password: pulumi.secret(PASSWORD) },
      });
      const outputs = await outputsOf(i);
      assert.deepEqual(registered, [], "no AccessToken: the user's own password is passed on");
      assert.equal(outputs.password, PASSWORD);
      assert.equal(await isSecret(i.outputs.password), true);
      assert.equal(outputs.tokenId, undefined);
      assert.deepEqual([outputs.host, outputs.username], ["https://bb.example.com", "ci-bot"]);
      assertPasswordStep(
        outputs.instructions,
        /`pulumi stack output --show-secrets` \(this integration's output password\) prints it\.$/,
      );
    });

    for (const [option, v] of [
      ["tokenName", "puppet-token"],
      ["expiryDays", 30],
      ["rotate", "2026-01"],
    ] as const)
      it(`refuses ${option} together with password, naming both`, async () => {
        await underMocks();
        const message = thrown(
          () =>
            new Integration("puppet", {
              preset: "puppet-pipelines",
              project: "PROJ",
              options: {
                username: "ci-bot",
                url: "https://bb.example.com",
                password: pulumi.secret(PASSWORD),
                [option]: v,
              },
            }),
        );
        assert.equal(
          message,
          `integration puppet (puppet-pipelines):\n  ${option}: only for the token this preset makes, and password is given; remove one`,
        );
        assert.ok(!message.includes(PASSWORD));
      });

    it("with password: { fromConfig: ... } in the manifest, declares no access token and outputs the password from config, as a secret", async () => {
      const dir = workdir({
        "bitbucket.yaml": [
          "version: 1",
          "flavor: datacenter",
          "project: PROJ",
          "integrations:",
          "  - id: puppet",
          "    preset: puppet-pipelines",
          "    options:",
          "      username: ci-bot",
          "      url: https://bb.example.com",
          "      password: { fromConfig: puppetPassword }",
          "",
        ].join("\n"),
      });
      try {
        const registered = await underMocks();
        pulumi.runtime.setAllConfig(
          {
            "bitbucket:flavor": "datacenter",
            "bitbucket:apiUrl": "https://bb.example.com",
            "bitbucket-iac:puppetPassword": PASSWORD,
          },
          ["bitbucket-iac:puppetPassword"],
        );
        const { outputs } = await deployManifest(loadManifest(path.join(dir, "bitbucket.yaml")), () => []);
        const puppet = (outputs.integrations as Record<string, Record<string, pulumi.Output<unknown>>>)
          .puppet!;
        assert.equal(await value(puppet.password), PASSWORD);
        assert.equal(await isSecret(puppet.password), true);
        assert.deepEqual(
          registered.map((r) => r.type),
          [],
          "no AccessToken",
        );
        assertPasswordStep(
          await value(puppet.instructions),
          /`pulumi stack output --show-secrets --json integrations \| jq -r '\.\["puppet"\]\.password'` prints it\.$/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("bitbucket-iac validate accepts password: { fromConfig: ... } and refuses a password written in the manifest at its line", () => {
      const manifest = (password: string) => [
        "version: 1",
        "flavor: datacenter",
        "project: PROJ",
        "integrations:",
        "  - id: puppet",
        "    preset: puppet-pipelines",
        "    options:",
        "      username: ci-bot",
        "      url: https://bb.example.com",
        `      password: ${password}`,
      ];
      const referenced = validate(manifest("{ fromConfig: puppetPassword }"));
      assert.equal(referenced.status, 0, referenced.out);
      const written = validate(manifest(PASSWORD));
      assert.equal(written.status, 1, written.out);
      assert.deepEqual(written.problems, [
        "bitbucket.yaml:10:17 integrations[0].options.password: a secret cannot be written in the manifest: use { fromConfig: <name> } and run `pulumi config set --secret <name> <value>`, or { fromEnv: <NAME> }",
      ]);
      assert.ok(!written.out.includes(PASSWORD), "the refusal does not echo the password");
    });
  });

  describe("d) Puppet Pipelines on Cloud: bitbucket-iac validate checks the SSH key pasted in", () => {
    const puppet = (key: string) => [
      "version: 1",
      "workspace: acme",
      "integrations:",
      "  - id: puppet",
      "    preset: puppet-pipelines",
      "    options:",
      `      sshPublicKey: ${key}`,
    ];

    it("refuses text that is not a public key at sshPublicKey's line", () => {
      const r = validate(puppet("not-a-key"));
      assert.equal(r.status, 1, r.out);
      assert.deepEqual(r.problems, [
        `bitbucket.yaml:7:21 integrations[0].options.sshPublicKey: Puppet Pipelines: sshPublicKey: must start with a key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...), not "not-a-key" (paste the public key Pipelines shows)`,
      ]);
    });

    it("refuses a pasted private key at sshPublicKey's line, without echoing it", () => {
      const body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ";
      const r = validate(puppet(`"-----BEGIN OPENSSH PRIVATE KEY----- ${body}"`));
      assert.equal(r.status, 1, r.out);
      assert.deepEqual(r.problems, [
        "bitbucket.yaml:7:21 integrations[0].options.sshPublicKey: Puppet Pipelines: sshPublicKey: holds a PRIVATE key: paste the public key instead (the .pub file, one line starting with ssh-ed25519 or ssh-rsa); treat the private key as leaked if it was committed (paste the public key Pipelines shows)",
      ]);
      assert.ok(!r.out.includes(body), "the private key is not echoed");
    });
  });

  describe("e) a personal token is made by its user signed in with a password (engine harness, Data Center emulator)", () => {
    let f: Fixture | undefined;
    afterEach(async () => {
      await f?.close();
      f = undefined;
    });
    const PATH = "/rest/access-tokens/latest/users/ci-bot";
    const HINT =
      " (a personal token is made by ci-bot signed in with a password, not with a token: set bitbucket:username ci-bot and its password in bitbucket:apiToken, and unset bitbucket:token)";
    /** Up with one personal token of ci-bot while Bitbucket answers the PUT that makes it with `status`. */
    async function refusedCreate(status: number): Promise<string> {
      const engine = new Engine(f!.harness);
      f!.emulator.fault({ method: "PUT", path: PATH, status });
      const { error } = await engine.up(() => [
        new AccessToken("bot-token", { user: "ci-bot", name: "ci", permissions: ["REPO_READ"] }),
      ]);
      assert.ok(
        f!.emulator.log().includes(`PUT ${PATH}`),
        `the PUT was made: ${f!.emulator.log().join(", ")}`,
      );
      assert.deepEqual(f!.emulator.store.dc.users.get("ci-bot")!.tokens, [], "no token made");
      return String(error?.message);
    }

    for (const status of [401, 403])
      it(`with a token connection (Bearer), a ${status} on making the token says to sign in as ci-bot with a password`, async () => {
        f = await dcFixture(DC_SEED);
        const message = await refusedCreate(status);
        assert.match(message, new RegExp(`\\(${status}\\)`));
        assert.ok(message.endsWith(HINT), message);
        assert.ok(!message.includes(TOKEN), "the connection's token is not in the message");
      });

    it("with a user and password connection (Basic), a 401 on making the token adds no hint about signing in", async () => {
      const password = "ci-bot-password-e";
      f = await dcFixture(
        { ...DC_SEED, users: { [`ci-bot:${password}`]: { scopes: [] } } },
        { config: { "bitbucket:token": "", "bitbucket:username": "ci-bot", "bitbucket:apiToken": password } },
      );
      const message = await refusedCreate(401);
      assert.match(message, /\(401\)/);
      assert.doesNotMatch(message, /signed in with a password|bitbucket:apiToken/);
      assert.ok(!message.includes(password), "the password is not in the message");
    });
  });
});
