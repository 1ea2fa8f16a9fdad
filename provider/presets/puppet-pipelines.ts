// Puppet Pipelines, from its guide "Integrate Bitbucket" (Cloud, Server, OAuth permissions):
//
// Cloud   1. Integrations  2. Connect Bitbucket (Bitbucket's authorization page)  3. Grant access
//         4. Integrations  5. copy the SSH key  6. add it to your Bitbucket account.
//         Pipelines authorizes its own OAuth app (the guide's permission table is what Bitbucket
//         asks for at "Grant access") and posts its own webhooks: the Bitbucket side here is the
//         SSH key on the account alone.
// Server  gear icon > Integrations > Bitbucket Server; Host, Username, Password, SSH Port (22 by
//         default); Add Credentials. The password: a personal HTTP access token of `username`
//         made here (Bitbucket Server takes one wherever it asks for a password over HTTP), with
//         the least that lets Pipelines read repositories and manage its hooks.

import * as pulumi from "../pulumi";
import { isKeyError, parsePublicKey } from "../ssh";
import {
  BASE_URL,
  HOST,
  instructions,
  misformatted,
  problemsOf,
  str,
  unknownOptions,
  USER_SLUG,
  type Preset,
  type Rule,
} from "./common";
import { serverToken, tokenChild, TOKEN_RULES } from "./server-token";

export const PUPPET_PIPELINES_GUIDE = "Puppet Pipelines for Applications: Integrate Bitbucket";

/** What Bitbucket asks the user to grant Pipelines' own OAuth app (the guide's "Pipelines Bitbucket Permissions"). */
export const PUPPET_PIPELINES_GRANTS =
  "Account: Write, Team membership: Read, Repositories: Write, Pull requests: Write, Issues and Snippets: Read, Wikis: Write, Webhooks: Read and Write";

/**
 * The Server integration's token: Pipelines reads repositories (REPO_READ, implied by REPO_ADMIN)
 * and manages its hooks (repository webhooks need REPO_ADMIN); PROJECT_READ lists the projects.
 */
export const PUPPET_PIPELINES_SERVER_PERMISSIONS = ["PROJECT_READ", "REPO_ADMIN"];

/** Options earlier versions took that the guide has no place for. */
const NO_WEBHOOKS =
  "Puppet Pipelines posts its own webhooks with the access it is granted (its guide gives no webhook URL); remove it (a webhook of your own: declare it under webhooks)";

export const PUPPET_PIPELINES: Preset = {
  title: "Puppet Pipelines",
  guide: `${PUPPET_PIPELINES_GUIDE} (Integrate with Bitbucket)`,
  consumer: "none",
  noConsumer: "Pipelines connects with its own OAuth app: Integrations > Connect Bitbucket > Grant access",
  repositories: "none",
  noRepositories:
    "Pipelines reaches every repository the account that grants access can (through that account's SSH key); remove repositories",
  requiredScopes: () => [],
  validate: (o) => {
    const key = typeof o.sshPublicKey === "string" ? parsePublicKey(o.sshPublicKey) : undefined;
    return [
      ...unknownOptions(o, ["sshPublicKey", "sshKeyLabel"], {
        webhookUrl: NO_WEBHOOKS,
        events: NO_WEBHOOKS,
        webhookSecret: NO_WEBHOOKS,
      }),
      ...problemsOf(o, [
        ["sshPublicKey", "string", false],
        ["sshKeyLabel", "string", false],
      ]),
      ...(key && isKeyError(key)
        ? [`sshPublicKey: ${key.error} (paste the public key Pipelines shows)`]
        : []),
    ];
  },
  children: (o) =>
    str(o.sshPublicKey) ? [{ kind: "sshKey", value: o.sshPublicKey, path: "options.sshPublicKey" }] : [],
  build: (ctx) => {
    const given = typeof ctx.options.sshPublicKey === "string";
    const label = (ctx.options.sshKeyLabel as string | undefined) ?? "Puppet Pipelines";
    const key = given
      ? ctx.declare.sshKey(
          `${ctx.name}-ssh-key`,
          { key: ctx.gate(ctx.options.sshPublicKey as string), label, adopt: ctx.adopt },
          ctx.opts,
        )
      : undefined;
    const fingerprint = key ? key.fingerprint : pulumi.output("");
    return {
      ...(key && { sshKeyFingerprint: key.fingerprint }),
      instructions: instructions([fingerprint], (fp) => [
        "In Puppet Pipelines, click Integrations.",
        "Click Connect Bitbucket: Bitbucket's authorization page opens in a new browser tab.",
        `Click Grant access, signed in to Bitbucket as the account this stack's credentials belong to: its SSH key is the one Pipelines uses. Bitbucket asks for ${PUPPET_PIPELINES_GRANTS}.`,
        "In Pipelines, click Integrations.",
        "Copy the SSH key.",
        key
          ? `Add the SSH key to your Bitbucket account: done by this stack (${fp}, label "${label}", in Personal settings > SSH keys).`
          : `Add the SSH key to your Bitbucket account: set it as options.sshPublicKey of integration ${ctx.name} and run \`pulumi up\` again; this stack then adds it.`,
      ]),
    };
  },
};

/** Options earlier versions took: the Server guide asks for none of them. */
const SERVER_REFUSED = {
  sshPublicKey:
    "the Bitbucket Server guide adds no SSH key (Pipelines signs in with the username and password it is given); remove it",
  sshKeyLabel: "the Bitbucket Server guide adds no SSH key; remove it",
  webhookUrl: NO_WEBHOOKS,
  events: NO_WEBHOOKS,
  webhookSecret: NO_WEBHOOKS,
};

const SERVER_FORMATS = { username: USER_SLUG, url: BASE_URL, host: HOST };

export const PUPPET_PIPELINES_SERVER: Preset = {
  title: "Puppet Pipelines (Bitbucket Server)",
  guide: `${PUPPET_PIPELINES_GUIDE} (Integrate with Bitbucket Server)`,
  consumer: "none",
  repositories: "none",
  noRepositories:
    "Pipelines signs in as username and reaches the repositories that user can; remove repositories",
  requiredScopes: () => [],
  validate: (o) => {
    const rules: Rule[] = [
      ["username", "string", true],
      ["url", "string", false],
      ["host", "string", false],
      ["sshPort", "number", false],
      ["password", "string", false],
      ...TOKEN_RULES,
    ];
    const problems = [
      ...unknownOptions(
        o,
        rules.map(([k]) => k),
        SERVER_REFUSED,
      ),
      ...problemsOf(o, rules),
      ...misformatted(o, SERVER_FORMATS),
    ];
    if (o.password !== undefined)
      for (const [k] of TOKEN_RULES)
        if (o[k] !== undefined)
          problems.push(`${k}: only for the token this preset makes, and password is given; remove one`);
    if (typeof o.sshPort === "number" && o.sshPort > 65535)
      problems.push("sshPort: must be a port, 1 to 65535");
    return problems;
  },
  formats: SERVER_FORMATS,
  children: (o, name) => (o.password === undefined ? tokenChild("puppet-pipelines")(o, name) : []),
  build: (ctx) => {
    const o = ctx.options;
    const username = o.username as string;
    // The user's own password when given (a secret reference), else a token made for it.
    const token =
      o.password === undefined
        ? serverToken(ctx, "puppet-pipelines", PUPPET_PIPELINES_SERVER_PERMISSIONS)
        : undefined;
    // The base URL as the platform reaches it, port and context path included.
    const host = (o.host as string | undefined) ?? ctx.serverUrl ?? "";
    const sshPort = (o.sshPort as number | undefined) ?? 22;
    return {
      host: pulumi.output(host),
      username: pulumi.output(username),
      // Secret here, not only through the token's additionalSecretOutputs (which the engine alone applies: mocks and `plan` see it plain).
      password: pulumi.secret(token ? token.token : (o.password as pulumi.Input<string>)),
      sshPort: pulumi.output(sshPort),
      ...(token && { tokenId: token.tokenId }),
      instructions: instructions([token ? token.name : ""], (name) => [
        "In the Pipelines web UI, click the gear icon at the top right.",
        "Click the Integrations link on the left.",
        "Click the Bitbucket Server button.",
        `Host: ${host}`,
        `Username: ${username}`,
        token
          ? `Password: the HTTP access token "${name}" this stack made for ${username} (${PUPPET_PIPELINES_SERVER_PERMISSIONS.join(", ")}); ${ctx.reveal("password")} prints it.`
          : `Password: ${username}'s password, as given in options.password; ${ctx.reveal("password")} prints it.`,
        o.sshPort === undefined
          ? "SSH Port: 22 (the guide's default; if your server's SSH clone URLs name another port, such as Bitbucket's own default 7999, set options.sshPort and enter that)."
          : `SSH Port: ${sshPort}`,
        "Click the Add Credentials button.",
      ]),
    };
  },
};
