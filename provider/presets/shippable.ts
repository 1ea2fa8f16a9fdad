// Shippable, from its two Bitbucket pages (Platform > Integrations, Reference > Integrations):
//
// Adding a Bitbucket integration: Integrations in the left sidebar menu, the '+' icon in the
// Account Integrations panel, scm as the Integration family, Bitbucket; a friendly name for the
// integration, and a "Bitbucket API token with the right settings" in the Token textbox; Save.
// Resources (gitRepo, ciRepo, syncRepo) refer to the integration by its name; jobs then receive
// `<NAME>_INTEGRATION_URL` and `<NAME>_INTEGRATION_TOKEN`, `<NAME>` being "the friendly name of
// the Resource". Shippable sets its own webhooks with the token: nothing is created in Bitbucket.
//
// The token is one secret in one field (no username), so a Bitbucket access token (workspace,
// project or repository) fits; no API creates one, so it comes from config, and the preset
// says which permissions to tick: the least that lets those resources read the repositories and
// their pull requests and manage Shippable's webhooks.

import * as pulumi from "../pulumi";
import { checkboxOf } from "../scopes";
import {
  FRIENDLY_NAME,
  instructions,
  listOf,
  misformatted,
  problemsOf,
  unknownOptions,
  type Preset,
} from "./common";

export const SHIPPABLE_GUIDE = "Shippable docs: Bitbucket integration (Platform and Reference sections)";

/**
 * The access token's scopes: `repository` (clone, read shippable.yml, post build statuses),
 * `pullrequest` (build pull requests) and `webhook` (Shippable's own hooks on its repositories).
 */
export const SHIPPABLE_TOKEN_SCOPES = ["repository", "pullrequest", "webhook"];

/** Shippable's variable prefix for a Resource: its name in capitals, other characters as `_`. */
export const envPrefix = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

const RESOURCE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

const NO_WEBHOOKS =
  "Shippable sets its own webhooks with the token (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)";

const FORMATS = { integrationName: FRIENDLY_NAME };

export const SHIPPABLE: Preset = {
  title: "Shippable",
  guide: SHIPPABLE_GUIDE,
  consumer: "none",
  noConsumer: "Shippable takes a Bitbucket API token (options.token)",
  repositories: "none",
  noRepositories: "Shippable reaches the repositories its token can; remove repositories",
  requiredScopes: () => [],
  validate: (o) => {
    const problems = [
      ...unknownOptions(o, ["integrationName", "token", "resources"], {
        url: "Shippable sets <NAME>_INTEGRATION_URL itself (its form has no URL field); remove it",
        webhookUrl: NO_WEBHOOKS,
        events: NO_WEBHOOKS,
        webhookSecret: NO_WEBHOOKS,
      }),
      ...problemsOf(o, [
        ["integrationName", "string", true],
        ["resources", "string[]", false],
      ]),
      ...misformatted(o, FORMATS),
    ];
    if (o.token === undefined)
      problems.push("token: required: the Bitbucket API token Shippable uses (a secret from config)");
    for (const r of listOf<unknown>(o, "resources")) {
      if (typeof r === "string" && !RESOURCE_NAME.test(r))
        problems.push(
          `resources: "${r.slice(0, 60)}" is not a Shippable resource name (letters, digits, - and _, starting with a letter)`,
        );
    }
    return problems;
  },
  formats: FORMATS,
  children: () => [],
  build: (ctx) => {
    const name = ctx.options.integrationName as string;
    const resources = listOf<string>(ctx.options, "resources");
    const names = resources.flatMap((r) => [
      `${envPrefix(r)}_INTEGRATION_URL`,
      `${envPrefix(r)}_INTEGRATION_TOKEN`,
    ]);
    const scopes = SHIPPABLE_TOKEN_SCOPES.map(checkboxOf).join(", ");
    return {
      integrationName: pulumi.output(name),
      token: pulumi.secret(ctx.options.token as pulumi.Input<string>),
      tokenScopes: pulumi.output(SHIPPABLE_TOKEN_SCOPES),
      environmentNames: pulumi.output(names),
      instructions: instructions([], () => [
        `Create a Bitbucket API token with the right settings: an access token (Workspace settings > Access tokens, or a project's or repository's) with ${scopes}; done by you, it is this integration's options.token.`,
        "In Shippable, click Integrations in the left sidebar menu, then the '+' icon in the Account Integrations panel.",
        "Select scm as the Integration family.",
        "Choose Bitbucket from the list of integration types.",
        `Friendly name for your integration: ${name}`,
        `Token: paste the token ${ctx.reveal("token")} prints into the Token textbox.`,
        "Click Save.",
        resources.length
          ? `Resources (gitRepo, ciRepo, syncRepo) name it with integration: ${name}; their jobs receive ${names.join(", ")}.`
          : `Resources (gitRepo, ciRepo, syncRepo) name it with integration: ${name}; a Resource's jobs receive <NAME>_INTEGRATION_URL and <NAME>_INTEGRATION_TOKEN, <NAME> being the Resource's name (list them in options.resources to have the names here).`,
      ]),
    };
  },
};
