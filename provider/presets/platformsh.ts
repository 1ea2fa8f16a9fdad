// Platform.sh, from its Bitbucket guide (https://docs.platform.sh/integrations/source/bitbucket.html):
//
// Cloud   1. an OAuth consumer: callback URL (`http://localhost` is enough), "This is a private
//            consumer", Account Email + Read, Repositories Read + Write, Pull requests Read,
//            Webhooks Read and write; Platform.sh registers its own webhook with it.
//         2. ` platform integration:add --type=bitbucket --project ... --key ... --secret ...
//            --repository <USER>/<REPOSITORY>` (the guide's leading space keeps it out of history).
// Server  1. an HTTP access token with "at least read access to projects and admin access to
//            repositories" (made here: a personal token of `username`).
//         2. `platform integration:add --type=bitbucket_server --project ... --base-url=...
//            --username=... --token=... --repository=...`.
// Both    `platform integration:validate`; the branch options are set with
//         `platform integration:update` (true, true, true, false by default).

import * as pulumi from "../pulumi";
import { checkboxOf } from "../scopes";
import {
  BASE_URL,
  bool,
  instructions,
  misformatted,
  PLATFORMSH_PROJECT,
  platformCommand,
  problemsOf,
  unknownOptions,
  USER_SLUG,
  type BuildContext,
  type CommandValue,
  type Options,
  type Preset,
  type Rule,
} from "./common";
import { serverToken, tokenChild, TOKEN_RULES } from "./server-token";

export const PLATFORMSH_GUIDE = "https://docs.platform.sh/integrations/source/bitbucket.html";

/** The consumer's permissions, as the guide lists them: Account Email + Read, Repositories Read + Write, Pull requests Read, Webhooks. */
export const PLATFORMSH_SCOPES = ["account", "email", "repository:write", "pullrequest", "webhook"];

/** The token Platform.sh's Server integration needs (its guide: project read and repository admin). */
export const PLATFORMSH_SERVER_PERMISSIONS = ["PROJECT_READ", "REPO_ADMIN"];

/** The branch options and their `integration:update` flags, with the guide's defaults. */
const BRANCH_OPTIONS: Array<[option: string, flag: string, dflt: boolean]> = [
  ["fetchBranches", "fetch-branches", true],
  ["pruneBranches", "prune-branches", true],
  ["buildPullRequests", "build-pull-requests", true],
  ["buildPullRequestsPostMerge", "build-pull-requests-post-merge", false],
];

function problems(o: Options, own: Rule[]): string[] {
  const found = [
    ...unknownOptions(o, [...own.map(([k]) => k), ...BRANCH_OPTIONS.map(([k]) => k)]),
    ...problemsOf(o, [...own, ...BRANCH_OPTIONS.map(([k]): Rule => [k, "boolean", false])]),
  ];
  // The guide: "If --fetch-branches is disabled, --prune-branches is automatically set to false,
  // even if specifically set to true": an explicit true would not do what it says.
  if (o.pruneBranches === true && !bool(o, "fetchBranches", true)) {
    found.push(
      "pruneBranches: needs fetchBranches: true (Platform.sh prunes only branches it fetches, and sets pruneBranches to false without it); remove pruneBranches or set it to false",
    );
  }
  return found;
}

/**
 * The commands after `integration:add`: `integration:update` with the branch options the manifest
 * sets (none: the guide's defaults stand), and `integration:validate`.
 */
function followUps(o: Options) {
  const project = String(o.project);
  const given = BRANCH_OPTIONS.filter(([k]) => typeof o[k] === "boolean");
  const update = given.length
    ? platformCommand(
        [["project", project], ...given.map(([k, flag]): [string, string] => [flag, String(o[k])])],
        "integration:update",
        [{ env: "INTEGRATION_ID" }],
      )
    : undefined;
  const check = platformCommand([["project", project]], "integration:validate");
  return { update, check };
}

/** The steps after the integration is added: its ID for the branch options, then validate. */
const laterSteps = (project: string, update: string | undefined, check: string) => [
  update &&
    `Set the branch options with \`platform integration:update\`: \`platform integration:list --project=${project}\` shows the new integration's ID; run \`export INTEGRATION_ID=<that ID>\`, then \`${update}\`.`,
  `Validate the integration: \`${check}\`.`,
];

/** The guide's first words: "In both cases, you need to install the Platform.sh CLI, if you haven't already done so". */
const INSTALL_CLI =
  "Install the Platform.sh CLI, if you haven't already done so: the steps below run `platform`.";

/** `add` as the guide writes it: with a leading space, so shells that ignore such lines keep the secret out of history. */
const add = (flags: Array<[string, CommandValue]>) => ` ${platformCommand(flags)}`;

const FORMATS = { project: PLATFORMSH_PROJECT };

export const PLATFORMSH: Preset = {
  title: "Platform.sh",
  guide: PLATFORMSH_GUIDE,
  consumer: "required",
  consumerNeeds: { private: true, callbackUrl: { url: "http://localhost", exact: false } },
  repositories: "one",
  requiredScopes: () => PLATFORMSH_SCOPES,
  validate: (o) => [...problems(o, [["project", "string", true]]), ...misformatted(o, FORMATS)],
  formats: FORMATS,
  // Platform.sh registers its own webhook with the consumer: nothing to create in Bitbucket.
  children: () => [],
  build: (ctx) => {
    const project = String(ctx.options.project);
    const repository = `${ctx.workspace}/${ctx.repositories[0]}`;
    const flags = (key: CommandValue, secret: CommandValue): Array<[string, CommandValue]> => [
      ["type", "bitbucket"],
      ["project", project],
      ["key", key],
      ["secret", secret],
      ["repository", repository],
    ];
    const consumer = ctx.consumer!;
    const template = add(flags({ env: "PLATFORMSH_KEY" }, { env: "PLATFORMSH_SECRET" }));
    const { update, check } = followUps(ctx.options);
    return {
      platformCommand: pulumi.secret(
        pulumi
          .all([ctx.gate(consumer.key), consumer.secret])
          .apply(([key, secret]) => add(flags(key, secret))),
      ),
      platformCommandTemplate: pulumi.output(template),
      ...(update !== undefined && { updateCommand: pulumi.output(update) }),
      validateCommand: pulumi.output(check),
      instructions: instructions([consumer.name], (name) => [
        INSTALL_CLI,
        `Set up an OAuth consumer: done by you in Bitbucket and verified by this stack ("${name}": private, with a callback URL, and ${PLATFORMSH_SCOPES.map(checkboxOf).join(", ")}).`,
        `Enable the Cloud integration: run the command that ${ctx.reveal("platformCommand")} prints, \`${template.trim()}\` with the consumer's Key and Secret filled in (its leading space keeps it out of your shell history).`,
        ...laterSteps(project, update, check),
      ]),
    };
  },
};

const SERVER_FORMATS = { project: PLATFORMSH_PROJECT, username: USER_SLUG, url: BASE_URL };

export const PLATFORMSH_SERVER: Preset = {
  title: "Platform.sh (Bitbucket Server)",
  guide: `${PLATFORMSH_GUIDE} (Bitbucket Server)`,
  consumer: "none",
  noConsumer: "its Bitbucket Server integration signs in with an HTTP access token, made here",
  repositories: "one",
  requiredScopes: () => [],
  validate: (o) => [
    ...problems(o, [
      ["project", "string", true],
      ["username", "string", true],
      ["url", "string", false],
      ...TOKEN_RULES,
    ]),
    ...misformatted(o, SERVER_FORMATS),
  ],
  formats: SERVER_FORMATS,
  children: tokenChild("platformsh"),
  // A personal token of `username`: Platform.sh signs in as that user with it (its form asks for both).
  build: (ctx: BuildContext) => {
    const o = ctx.options;
    const project = String(o.project);
    const token = serverToken(ctx, "platformsh", PLATFORMSH_SERVER_PERMISSIONS);
    const flags = (t: CommandValue): Array<[string, CommandValue]> => [
      ["type", "bitbucket_server"],
      ["project", project],
      ["base-url", ctx.serverUrl ?? ""],
      ["username", String(o.username)],
      ["token", t],
      ["repository", `${ctx.project}/${ctx.repositories[0]}`],
    ];
    const template = add(flags({ env: "PLATFORMSH_TOKEN" }));
    const { update, check } = followUps(o);
    return {
      platformCommand: pulumi.secret(token.token.apply((t) => add(flags(t)))),
      platformCommandTemplate: pulumi.output(template),
      ...(update !== undefined && { updateCommand: pulumi.output(update) }),
      validateCommand: pulumi.output(check),
      tokenId: token.tokenId,
      instructions: instructions([token.name], (name) => [
        INSTALL_CLI,
        `Generate a token: done by this stack (personal HTTP access token "${name}" of ${String(o.username)}, with read access to projects and admin access to repositories: ${PLATFORMSH_SERVER_PERMISSIONS.join(", ")}).`,
        `Enable the Server integration: run the command that ${ctx.reveal("platformCommand")} prints, \`${template.trim()}\` with the token filled in (its leading space keeps it out of your shell history).`,
        ...laterSteps(project, update, check),
      ]),
    };
  },
};
