// Platform.sh's Bitbucket guide, walked as a checklist against the `platformsh` preset on each
// flavor: the consumer (Cloud) or token (Server) it asks for, the exact `platform` commands it
// gives, and the operator's remaining steps in `instructions`, in the guide's order and words.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { Integration, OAuthConsumer } from "../../provider";
import { checkboxOf, closure } from "../../provider/scopes";
import {
  ANSWERS,
  argv,
  assertSecretsReferenced,
  cli,
  guideCli,
  quotedInComments,
  reveal,
  secretValue,
  walk,
  walkManifest,
  walkSteps,
  type Step,
} from "./walk";

// ---- the guide, quoted -------------------------------------------------------------------------
// shared/guides/platformsh.md (https://docs.platform.sh/integrations/source/bitbucket.html)

/** "## Bitbucket Cloud" > "### 1. Set up an OAuth consumer", step 4. */
const CLOUD_CONSUMER = {
  callbackUrl: "It is sufficient to set this value to `http://localhost`.",
  private: 'At the bottom of the "Details" section, select the "This is a private consumer" checkbox.',
  /** "**Permissions:**": type, then its accesses. */
  permissions: [
    ["Account", ["Email", "Read"]],
    ["Repositories", ["Read", "Write"]],
    ["Pull requests", ["Read"]],
    ["Webhooks", ["Read and write"]],
  ] as Array<[string, string[]]>,
};

/** Each of the guide's permissions as the scope whose checkbox it is in the consumer form. */
const SCOPE_OF: Record<string, string> = {
  "Account/Email": "email",
  "Account/Read": "account",
  "Repositories/Read": "repository",
  "Repositories/Write": "repository:write",
  "Pull requests/Read": "pullrequest",
  "Webhooks/Read and write": "webhook",
};

/** "### 2. Enable the Cloud integration": the command, with the guide's leading space. */
const CLOUD_COMMAND =
  " platform integration:add --type=bitbucket --project <PLATFORMSH_PROJECT_ID> --key <CONSUMER_KEY> --secret <CONSUMER_SECRET> --repository <USER>/<REPOSITORY>";

/** "## Bitbucket Server" > "### 1. Generate a token". */
const SERVER_TOKEN = "give it at least read access to projects and admin access to repositories";
/** Those words as Bitbucket Server's permission names (a personal token: one project and one repository permission). */
const SERVER_PERMISSIONS = ["PROJECT_READ", "REPO_ADMIN"];

/** "### 2. Enable the Server integration". */
const SERVER_COMMAND =
  "platform integration:add --type=bitbucket_server --project <PLATFORMSH_PROJECT_ID> --base-url=<BASE_URL> --username=<USERNAME> --token=<TOKEN> --repository=<REPOSITORY>";

/** "## Validate the integration". */
const VALIDATE_COMMAND = "platform integration:validate";

/** "## Optional parameters": "They can be changed using the `platform integration:update` command." */
const UPDATE_SUBCOMMAND = "integration:update";
const OPTIONAL_PARAMETERS: Array<[flag: string, byDefault: boolean]> = [
  ["--fetch-branches", true],
  ["--prune-branches", true],
  ["--build-pull-requests", true],
  ["--build-pull-requests-post-merge", false],
];
/** The note: "The `--prune-branches` option depends on `--fetch-branches` being enabled." */
const PRUNE_NEEDS_FETCH = "The `--prune-branches` option depends on `--fetch-branches` being enabled.";

/** The section headings, in the guide's order (the steps the instructions walk). */
/** "In both cases, you need to [install the Platform.sh CLI](...), if you haven't already done so". */
const INSTALL_CLI = "if you haven't already done so";

const HEADINGS = {
  consumer: "1. Set up an OAuth consumer",
  cloud: "2. Enable the Cloud integration",
  token: "1. Generate a token",
  server: "2. Enable the Server integration",
  validate: "Validate the integration",
  optional: "Optional parameters",
};

// ---- the setup under test ----------------------------------------------------------------------

const PROJECT = "abcdefgh1234";
const KEY = "ck-Key+123";
/** A secret a shell would split or expand unquoted. */
const SECRET = "cs $ecret 'x'";
const CONSUMER_NAME = "Platform.sh consumer";

/** The guide's permissions as scopes, without those another one implies (Repositories Read: Write implies it). */
const guideScopes = () => {
  const all = CLOUD_CONSUMER.permissions.flatMap(([type, accesses]) =>
    accesses.map((a) => SCOPE_OF[`${type}/${a}`] ?? assert.fail(`no scope for ${type}/${a}`)),
  );
  return all.filter((s) => !all.some((t) => t !== s && closure([t]).has(s))).sort();
};

/** The option each optional parameter is in a manifest: --fetch-branches is fetchBranches. */
const optionOf = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const consumer = (over: Record<string, unknown> = {}) =>
  new OAuthConsumer("psh-consumer", {
    workspace: "acme",
    name: CONSUMER_NAME,
    callbackUrl: "http://localhost",
    scopes: guideScopes(),
    key: KEY,
    secret: SECRET,
    ...over,
  });

const cloud = (options: Record<string, unknown> = {}, consumerOver: Record<string, unknown> = {}) =>
  walk(
    () =>
      new Integration("psh", {
        preset: "platformsh",
        workspace: "acme",
        repositories: ["api"],
        consumer: consumer(consumerOver),
        options: { project: PROJECT, ...options },
        reveal: reveal("psh"),
      }),
  );

const SERVER_URL = "https://bitbucket.example.com:8443/bitbucket";
const server = (options: Record<string, unknown> = {}) =>
  walk(
    () =>
      new Integration("psh", {
        preset: "platformsh",
        flavor: "datacenter",
        project: "PROJ",
        repositories: ["api"],
        options: { project: PROJECT, username: "ci-bot", url: `${SERVER_URL}/`, ...options },
        reveal: reveal("psh"),
      }),
  );

/** The CLI words of a command output (its environment variables set as given). */
const read = (command: unknown, env: Record<string, string> = {}) => cli(argv(command as string, env));

/** The Cloud section's steps, the optional parameters' update when there is one, then validate. */
const cloudSteps = (update?: string): Step[] => [
  { guide: INSTALL_CLI, words: ["Install the Platform.sh CLI", INSTALL_CLI] },
  {
    guide: HEADINGS.consumer,
    words: [
      "Set up an OAuth consumer",
      `"${CONSUMER_NAME}"`,
      "private",
      "callback URL",
      ...CLOUD_CONSUMER.permissions.map(([type]) => type),
    ],
  },
  {
    guide: HEADINGS.cloud,
    words: [
      "Enable the Cloud integration",
      reveal("psh")("platformCommand"),
      "platform integration:add",
      `--project=${PROJECT}`,
      "--repository=acme/api",
      "Key",
      "Secret",
    ],
  },
  ...(update ? [{ guide: HEADINGS.optional, words: ["platform integration:update", update] }] : []),
  { guide: HEADINGS.validate, words: [HEADINGS.validate, VALIDATE_COMMAND, `--project=${PROJECT}`] },
];

const SEED = Number(process.env.FUZZ_SEED ?? 25);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

describe("guide: Platform.sh on Bitbucket Cloud", () => {
  it("walks the guide's steps in order: the consumer, the integration:add command, validate", async () => {
    const w = await cloud();
    walkSteps(w.outputs.instructions, cloudSteps());
  });

  it("outputs the guide's command with its leading space: exactly its subcommand and flags, the consumer's key and secret filled in", async () => {
    const w = await cloud();
    const expected = guideCli(CLOUD_COMMAND, {
      "<PLATFORMSH_PROJECT_ID>": PROJECT,
      "<CONSUMER_KEY>": KEY,
      "<CONSUMER_SECRET>": SECRET,
      "<USER>": "acme",
      "<REPOSITORY>": "api",
    });
    const command = w.outputs.platformCommand as string;
    assert.ok(CLOUD_COMMAND.startsWith(" platform "), "the guide's command starts with a space");
    assert.ok(
      command.startsWith(" platform "),
      `starts with one space, as the guide's: ${JSON.stringify(command)}`,
    );
    assert.deepEqual(read(command), expected);
    assert.equal(w.secret.platformCommand, true, "the command holds the secret: a secret output");
    // The template: the same command, the credentials from the operator's environment.
    const template = w.outputs.platformCommandTemplate as string;
    assert.ok(template.startsWith(" platform "), "the template keeps the leading space too");
    assert.deepEqual(read(template, { PLATFORMSH_KEY: KEY, PLATFORMSH_SECRET: SECRET }), expected);
  });

  it("sets the guide's optional parameters with integration:update, only those the manifest sets, never on integration:add", async () => {
    const none = await cloud();
    assert.equal(none.outputs.updateCommand, undefined, "no branch option set: the guide's defaults stand");
    const flags = OPTIONAL_PARAMETERS.map(([f]) => f);
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries(flags.map((f) => [optionOf(f), fc.boolean()])), { requiredKeys: [] }),
        async (set) => {
          if (set.fetchBranches === false && set.pruneBranches === true) {
            await assert.rejects(cloud(set), /pruneBranches: needs fetchBranches: true/, PRUNE_NEEDS_FETCH);
            return;
          }
          const w = await cloud(set);
          assert.deepEqual(
            read(w.outputs.platformCommand).flags.map(([n]) => n),
            ["type", "project", "key", "secret", "repository"],
          );
          const given = flags.filter((f) => set[optionOf(f)] !== undefined);
          if (given.length === 0) {
            assert.equal(w.outputs.updateCommand, undefined);
            return;
          }
          const update = read(w.outputs.updateCommand, { INTEGRATION_ID: "bbq7zy" });
          assert.deepEqual(
            { program: update.program, subcommand: update.subcommand, args: update.args },
            { program: "platform", subcommand: UPDATE_SUBCOMMAND, args: ["bbq7zy"] },
          );
          assert.deepEqual(update.flags, [
            ["project", PROJECT],
            ...given.map((f): [string, string] => [f.slice(2), String(set[optionOf(f)])]),
          ]);
          walkSteps(w.outputs.instructions, cloudSteps(w.outputs.updateCommand as string));
        },
      ),
      { seed: SEED, numRuns: Math.max(8, Math.round(RUNS / 10)) },
    );
  });

  it("suggests platform integration:validate for the project", async () => {
    const v = read((await cloud()).outputs.validateCommand);
    assert.deepEqual(v, {
      program: "platform",
      subcommand: VALIDATE_COMMAND.split(" ")[1],
      args: [],
      flags: [["project", PROJECT]],
    });
  });

  it("never inlines the consumer's key or secret: the instructions reveal the command that holds them", async () => {
    const w = await cloud();
    assert.deepEqual(assertSecretsReferenced(w, "psh", [KEY, SECRET]), ["platformCommand"]);
  });

  describe("least privilege: the consumer the guide describes, no more", () => {
    it("requires exactly the guide's permissions as scopes: Account Email and Read, Repositories Write (implies Read), Pull requests Read, Webhooks", async () => {
      assert.deepEqual(guideScopes(), ["account", "email", "pullrequest", "repository:write", "webhook"]);
      const i = (await cloud()).integration!;
      assert.deepEqual([...i.requiredScopes].sort(), guideScopes());
    });

    it("accepts a consumer with the guide's checkboxes as Bitbucket ticks them (Repositories Read and Write)", async () => {
      const all = Object.values(SCOPE_OF);
      const w = await cloud({}, { scopes: all });
      assert.ok(typeof w.outputs.platformCommand === "string");
    });

    it("refuses a consumer that lacks one of the guide's permissions, naming its checkbox", async () => {
      for (const scope of guideScopes()) {
        await assert.rejects(
          cloud({}, { scopes: guideScopes().filter((s) => s !== scope) }),
          (e: Error) =>
            e.message.includes(`does not declare ${scope};`) &&
            e.message.includes(`tick "${checkboxOf(scope)}"`),
          scope,
        );
      }
    });

    it('refuses a public consumer: the guide says to select "This is a private consumer"', async () => {
      await assert.rejects(
        cloud({}, { private: false }),
        /requires a private consumer: tick "This is a private consumer"/,
      );
    });

    it("refuses a consumer without a callback URL, and accepts the guide's http://localhost or any other", async () => {
      assert.match(CLOUD_CONSUMER.callbackUrl, /http:\/\/localhost/);
      await assert.rejects(
        cloud({}, { callbackUrl: undefined }),
        /guide requires a callback URL \("http:\/\/localhost" is enough\)/,
      );
      await cloud({}, { callbackUrl: "https://example.test/cb" });
    });

    it("creates nothing in Bitbucket beside the consumer: Platform.sh registers its own webhook", async () => {
      const w = await cloud();
      assert.deepEqual(
        w.declared.map((d) => d.type),
        ["OAuthConsumer"],
      );
    });
  });

  it("follows the guide through the manifest: examples/platformsh, instructions revealing with the stack output command", async () => {
    const file = path.resolve(__dirname, "../../examples/platformsh/bitbucket.yaml");
    const w = await walkManifest(file, "platformsh");
    const key = secretValue({ fromConfig: "platformshKey" });
    const secret = secretValue({ fromConfig: "platformshSecret" });
    assert.deepEqual(assertSecretsReferenced(w, "platformsh", [key, secret]), ["platformCommand"]);
    assert.ok(
      (w.outputs.instructions as string[]).some((l) =>
        l.includes(
          "`pulumi stack output --show-secrets --json integrations | jq -r '.[\"platformsh\"].platformCommand'`",
        ),
      ),
    );
    assert.deepEqual(
      read(w.outputs.platformCommand),
      guideCli(CLOUD_COMMAND, {
        "<PLATFORMSH_PROJECT_ID>": PROJECT,
        "<CONSUMER_KEY>": key,
        "<CONSUMER_SECRET>": secret,
        "<USER>": "acme",
        "<REPOSITORY>": "api",
      }),
    );
  });

  it("the example quotes only the guide's own words", () => {
    const file = path.resolve(__dirname, "../../examples/platformsh/bitbucket.yaml");
    const guide = [
      CLOUD_CONSUMER.callbackUrl,
      CLOUD_CONSUMER.private,
      CLOUD_COMMAND,
      SERVER_TOKEN,
      SERVER_COMMAND,
      PRUNE_NEEDS_FETCH,
      ...Object.values(HEADINGS),
    ].join("\n");
    for (const q of quotedInComments(fs.readFileSync(file, "utf8"))) {
      assert.ok(guide.includes(q), `the example quotes words the guide does not say: "${q}"`);
    }
  });
});

describe("guide: Platform.sh on Bitbucket Server", () => {
  it("walks the guide's steps in order: the token, the integration:add command, validate", async () => {
    const w = await server();
    walkSteps(w.outputs.instructions, [
      { guide: INSTALL_CLI, words: ["Install the Platform.sh CLI", INSTALL_CLI] },
      {
        guide: HEADINGS.token,
        words: [
          "Generate a token",
          `"platformsh-psh"`,
          "ci-bot",
          "read access to projects and admin access to repositories",
        ],
      },
      {
        guide: HEADINGS.server,
        words: [
          "Enable the Server integration",
          reveal("psh")("platformCommand"),
          "platform integration:add",
          "--type=bitbucket_server",
          `--base-url=${SERVER_URL}`,
          "--username=ci-bot",
          "--repository=PROJ/api",
        ],
      },
      { guide: HEADINGS.validate, words: [HEADINGS.validate, VALIDATE_COMMAND] },
    ]);
  });

  it("outputs the guide's command: exactly its subcommand and flags, --base-url keeping the server's port and path", async () => {
    const w = await server();
    const expected = guideCli(SERVER_COMMAND, {
      "<PLATFORMSH_PROJECT_ID>": PROJECT,
      "<BASE_URL>": SERVER_URL,
      "<USERNAME>": "ci-bot",
      "<TOKEN>": ANSWERS.token,
      "<REPOSITORY>": "PROJ/api",
    });
    assert.deepEqual(read(w.outputs.platformCommand), expected);
    assert.deepEqual(read(w.outputs.platformCommandTemplate, { PLATFORMSH_TOKEN: ANSWERS.token }), expected);
    assert.equal(w.secret.platformCommand, true);
  });

  it("takes the base URL from bitbucket:apiUrl when the url option is not set", async () => {
    const saved = process.env.BITBUCKET_API_URL;
    process.env.BITBUCKET_API_URL = "http://bitbucket.internal:7990";
    try {
      const w = await server({ url: undefined });
      assert.deepEqual(
        read(w.outputs.platformCommand).flags.find(([n]) => n === "base-url"),
        ["base-url", "http://bitbucket.internal:7990"],
      );
    } finally {
      if (saved === undefined) delete process.env.BITBUCKET_API_URL;
      else process.env.BITBUCKET_API_URL = saved;
    }
  });

  it("sets the optional parameters with integration:update and suggests integration:validate", async () => {
    const w = await server({ fetchBranches: false, pruneBranches: false });
    assert.deepEqual(
      read(w.outputs.platformCommand).flags.map(([n]) => n),
      ["type", "project", "base-url", "username", "token", "repository"],
    );
    const update = read(w.outputs.updateCommand, { INTEGRATION_ID: "bbq7zy" });
    assert.equal(update.subcommand, UPDATE_SUBCOMMAND);
    assert.deepEqual(update.flags, [
      ["project", PROJECT],
      ["fetch-branches", "false"],
      ["prune-branches", "false"],
    ]);
    assert.deepEqual(read(w.outputs.validateCommand).flags, [["project", PROJECT]]);
    assert.equal(read(w.outputs.validateCommand).subcommand, "integration:validate");
  });

  it("never inlines the token: the instructions reveal the command that holds it", async () => {
    const w = await server();
    assert.deepEqual(assertSecretsReferenced(w, "psh", [ANSWERS.token]), ["platformCommand"]);
  });

  describe("least privilege: the token the guide describes, no more", () => {
    it(`makes one personal HTTP access token of username with ${SERVER_PERMISSIONS.join(" and ")} ("${SERVER_TOKEN}"), and nothing else`, async () => {
      const w = await server();
      assert.deepEqual(
        w.declared.map((d) => d.type),
        ["AccessToken"],
      );
      const token = w.declared[0]!.inputs;
      assert.deepEqual([...(token.permissions as string[])].sort(), SERVER_PERMISSIONS);
      assert.equal(token.user, "ci-bot");
      assert.equal(token.project, undefined, "a personal token, not a project's");
      assert.equal(token.repository, undefined, "a personal token, not a repository's");
      assert.deepEqual(w.integration!.requiredScopes, [], "no OAuth scope: Server has no consumer");
    });

    it("refuses an OAuth consumer: the Server guide has none", () => {
      assert.throws(
        () =>
          new Integration("psh", {
            preset: "platformsh",
            flavor: "datacenter",
            project: "PROJ",
            repositories: ["api"],
            consumer: consumer(),
            options: { project: PROJECT, username: "ci-bot", url: SERVER_URL },
          }),
        /does not use an OAuth consumer/,
      );
    });
  });

  it("follows the guide through the manifest: examples/datacenter", async () => {
    const file = path.resolve(__dirname, "../../examples/datacenter/bitbucket.yaml");
    const w = await walkManifest(file, "platformsh", {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: SERVER_URL,
    });
    assert.deepEqual(assertSecretsReferenced(w, "platformsh", [ANSWERS.token]), ["platformCommand"]);
    assert.deepEqual(
      read(w.outputs.platformCommand),
      guideCli(SERVER_COMMAND, {
        "<PLATFORMSH_PROJECT_ID>": "abcdefgh1234567",
        "<BASE_URL>": SERVER_URL,
        "<USERNAME>": "ci-bot",
        "<TOKEN>": ANSWERS.token,
        "<REPOSITORY>": "PROJ/api",
      }),
    );
  });
});
