// Integration presets: one table per platform, from each platform's own Bitbucket setup guide.
// A preset says which OAuth consumer the platform needs (and with which scopes), which
// repositories it works on, what it creates in Bitbucket (webhooks, keys, variables) and what
// the platform side needs back (a CLI command, environment variables, a client id).
// Adding a platform is adding a row here and a test. Data Center has its own table (the platforms'
// Server setups differ: an HTTP access token or an SSH key where Cloud has an OAuth consumer).

import * as pulumi from "@pulumi/pulumi";
import { quote } from "shell-quote";
import { AccessToken } from "./resources/access-token";
import { DeployKey } from "./resources/deploy-key";
import type { OAuthConsumer } from "./resources/oauth-consumer";
import { PipelineVariable } from "./resources/pipeline-variable";
import { SshKey } from "./resources/ssh-key";
import type { Flavor } from "./resources/validate";
import { Webhook } from "./resources/webhook";
import { keyNamePart, urlForName } from "./names";

export type Options = Record<string, unknown>;

/** What a preset's `build` gets: where to create children, and a gate every child input goes through. */
export interface BuildContext {
  /** The integration's name, prefix of every child's name. */
  name: string;
  flavor: Flavor;
  /** Cloud: the workspace ("" on Data Center). */
  workspace: string;
  /** Data Center: the project of the repositories. */
  project?: string;
  /** Data Center: the server's base URL as the platform reaches it (option `url`, else bitbucket:apiUrl). */
  serverUrl?: string;
  repositories: string[];
  options: Options;
  consumer?: OAuthConsumer;
  /** Child resource options: parent, a dependency on the consumer, and retainOnDelete. */
  opts: pulumi.CustomResourceOptions;
  /** Whether children may take over existing objects that differ (the integration's `adopt`). */
  adopt: boolean;
  /** Holds a value back until the consumer is verified to cover the preset's scopes. */
  gate: <T>(v: pulumi.Input<T>) => pulumi.Output<T>;
}

export interface Preset {
  title: string;
  /** The platform's own setup guide the preset follows (a URL where one was confirmed). */
  guide: string;
  consumer: "required" | "optional" | "none";
  /** The exact callback URL the consumer must have, where the platform requires one. */
  callbackUrl?: string;
  repositories: "none" | "one" | "many";
  /** Scopes the platform needs the consumer to have. */
  requiredScopes(options: Options): string[];
  /** Problems with the options, each "option: what to do". Program-time, no network. */
  validate(options: Options): string[];
  /**
   * The format each text option must have where the platform defines one (its value goes into a
   * command the operator runs). validate() refuses a value outside it; so does the manifest loader,
   * at the option's line and column.
   */
  formats?: Record<string, OptionFormat>;
  /** The objects the options make on each repository (or the account), for the manifest's collision checks. */
  children(options: Options, name: string): PresetChild[];
  /** Declares the children and returns what the platform side needs (secret parts as secret outputs). */
  build(ctx: BuildContext): Record<string, pulumi.Output<unknown>>;
}

/** One object a preset creates: a webhook URL, a key, a variable name; `path` is its option. */
export interface PresetChild {
  kind: "webhook" | "deployKey" | "variable" | "sshKey" | "accessToken";
  /** The URL, key, variable name or token name. */
  value: string;
  path: string;
  /** The user an SSH key or access token belongs to (Data Center presets; Cloud: the credentials' account). */
  owner?: string;
}

/** A format an option's value must have, and what to write instead (the value is never echoed: a URL may carry a token). */
export interface OptionFormat {
  test(value: string): boolean;
  what: string;
}

const str = (v: unknown): v is string => typeof v === "string";
const listOf = <T>(o: Options, k: string): T[] => (Array.isArray(o[k]) ? (o[k] as T[]) : []);

// ---- option helpers ---------------------------------------------------------------------------

const bool = (o: Options, k: string, dflt: boolean): boolean =>
  typeof o[k] === "boolean" ? (o[k] as boolean) : dflt;
const problemsOf = (
  o: Options,
  rules: Array<[string, "string" | "boolean" | "string[]" | "number", boolean]>,
): string[] =>
  rules.flatMap(([k, type, required]) => {
    const v = o[k];
    if (v === undefined) return required ? [`${k}: required`] : [];
    if (pulumi.Output.isInstance(v)) return []; // a secret or computed value: checked by the resource that takes it
    if (type === "string[]")
      return Array.isArray(v) && v.every((x) => typeof x === "string")
        ? []
        : [`${k}: must be a list of text`];
    if (type === "number")
      return Number.isInteger(v) && (v as number) > 0 ? [] : [`${k}: must be a whole number above 0`];
    return typeof v === type ? [] : [`${k}: must be ${type === "boolean" ? "true or false" : "text"}`];
  });
const unknownOptions = (o: Options, known: string[]): string[] =>
  Object.keys(o)
    .filter((k) => !known.includes(k))
    .map((k) => `${k}: not an option of this preset (options: ${known.join(", ") || "none"})`);

// ---- option formats ---------------------------------------------------------------------------

/** A Platform.sh project id as `platform project:list` prints it: lowercase letters and digits. */
const PLATFORMSH_PROJECT: OptionFormat = {
  test: (v) => /^[a-z0-9]{1,64}$/.test(v),
  what: "must be a Platform.sh project id: lowercase letters and digits, as `platform project:list` prints it (e.g. abcdefgh1234567)",
};

/** A Bitbucket user slug, as the manifest's `accessTokens[].user` takes it. */
const USER_SLUG: OptionFormat = {
  test: (v) => /^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$/.test(v),
  what: "must be a Bitbucket user slug: letters, digits, '.', '_', '@' and '-', starting with a letter or digit (e.g. ci-bot)",
};

/**
 * A server's base URL: http(s)://host[:port][/path] and nothing a base URL does not need (no
 * credentials, query or fragment), in characters that need no escaping; anything else %-encoded.
 */
const BASE_URL: OptionFormat = {
  test: (v) => {
    if (!/^https?:\/\/[A-Za-z0-9.:[\]%-]+(\/[A-Za-z0-9._~%/-]*)?$/i.test(v)) return false;
    try {
      return new URL(v).hostname !== "";
    } catch {
      return false;
    }
  },
  what: "must be an http(s) base URL such as https://bitbucket.example.com: no spaces, user:password@, ?query or #fragment (other characters %-encoded)",
};

/** "option: what to write" for each text option outside its format. */
const misformatted = (o: Options, formats: Record<string, OptionFormat>): string[] =>
  Object.entries(formats).flatMap(([k, f]) =>
    typeof o[k] === "string" && !f.test(o[k]) ? [`${k}: ${f.what}`] : [],
  );

// ---- commands the platform side runs ------------------------------------------------------------

/** A flag's value, or an environment variable the operator's shell expands (written `"$NAME"`). */
export type CommandValue = string | { env: string };

/** Characters every POSIX shell reads as themselves inside a word (Python's shlex.quote leaves the same set bare). */
const SHELL_SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;

/**
 * `platform integration:add --name=value ...` as shell text. Each value is one shell word that the
 * shell reads back as exactly that value: bare when every character is safe (so commands read as
 * the platform's guide writes them), else quoted by shell-quote. A value can never end the
 * command, start another, or comment out the flags after it.
 */
export function platformCommand(flags: Array<[name: string, value: CommandValue]>): string {
  const word = (v: CommandValue | undefined) => {
    if (typeof v === "object") return `"$${v.env}"`;
    const s = v ?? ""; // an output not known yet: a preview, or `plan` offline
    return SHELL_SAFE.test(s) ? s : quote([s]);
  };
  return ["platform", "integration:add", ...flags.map(([name, v]) => `--${name}=${word(v)}`)].join(" ");
}

/** One webhook per repository, with a generated secret unless one is given. */
function webhooks(ctx: BuildContext, url: pulumi.Input<string>, events: string[], description: string) {
  const place =
    ctx.flavor === "datacenter"
      ? { flavor: "datacenter" as const, project: ctx.gate(ctx.project ?? ""), name: description }
      : { workspace: ctx.gate(ctx.workspace), description };
  return ctx.repositories.map(
    (repository) =>
      new Webhook(
        `${ctx.name}-hook-${repository}`,
        {
          ...place,
          repository,
          url,
          events,
          adopt: ctx.adopt,
          ...(ctx.options.webhookSecret !== undefined
            ? { secret: ctx.options.webhookSecret as pulumi.Input<string> }
            : { generateSecret: true }),
        },
        ctx.opts,
      ),
  );
}

/** `{repository: output}` from per-repository children. */
const byRepository = <T>(repos: string[], values: pulumi.Output<T>[]) =>
  pulumi.all(values).apply((vs) => Object.fromEntries(repos.map((r, i) => [r, vs[i]])));

/** A preset's webhooks by repository (Cloud: uuid, Data Center: id), and their generated secrets (secret). */
const hookOutputs = (ctx: BuildContext, hooks: Webhook[]) => ({
  webhooks: byRepository(
    ctx.repositories,
    hooks.map((h) => (ctx.flavor === "cloud" ? h.uuid : h.hookId)),
  ),
  webhookSecrets: pulumi.secret(
    byRepository(
      ctx.repositories,
      hooks.map((h) => h.generatedSecret),
    ),
  ),
});

// ---- the presets ------------------------------------------------------------------------------

/** Platform.sh's options about branches and pull requests: the same on Cloud and Server. */
const PLATFORMSH_BRANCH_OPTIONS = [
  "fetchBranches",
  "pruneBranches",
  "buildPullRequests",
  "buildPullRequestsPostMerge",
] as const;

function platformshProblems(o: Options, own: Array<[string, "string" | "number", boolean]>): string[] {
  const problems = [
    ...unknownOptions(o, [...own.map(([k]) => k), ...PLATFORMSH_BRANCH_OPTIONS]),
    ...problemsOf(o, [
      ...own,
      ...PLATFORMSH_BRANCH_OPTIONS.map((k) => [k, "boolean", false] as [string, "boolean", boolean]),
    ]),
  ];
  if (bool(o, "pruneBranches", true) && !bool(o, "fetchBranches", true)) {
    problems.push(
      "pruneBranches: needs fetchBranches: true (Platform.sh prunes only branches it fetches); set pruneBranches: false",
    );
  }
  return problems;
}

const platformshFlags = (o: Options): Array<[string, string]> => [
  ["fetch-branches", String(bool(o, "fetchBranches", true))],
  ["prune-branches", String(bool(o, "pruneBranches", true))],
  ["build-pull-requests", String(bool(o, "buildPullRequests", true))],
  ["build-pull-requests-post-merge", String(bool(o, "buildPullRequestsPostMerge", false))],
];

const PLATFORMSH_FORMATS = { project: PLATFORMSH_PROJECT };

const PLATFORMSH: Preset = {
  title: "Platform.sh",
  guide: "https://docs.platform.sh/integrations/source/bitbucket.html",
  consumer: "required",
  repositories: "one",
  // Platform.sh's guide: Account Email + Read, Repositories Read + Write, Pull requests Read, Webhooks Read + Write.
  requiredScopes: () => ["account", "email", "repository:write", "pullrequest", "webhook"],
  validate: (o) => [
    ...platformshProblems(o, [["project", "string", true]]),
    ...misformatted(o, PLATFORMSH_FORMATS),
  ],
  formats: PLATFORMSH_FORMATS,
  // Platform.sh registers its own webhook with the consumer: nothing to create in Bitbucket.
  children: () => [],
  build: (ctx) => {
    const place: Array<[string, string]> = [
      ["project", String(ctx.options.project)],
      ["type", "bitbucket"],
      ["repository", `${ctx.workspace}/${ctx.repositories[0]}`],
    ];
    const flags = platformshFlags(ctx.options);
    const consumer = ctx.consumer!;
    return {
      platformCommand: pulumi.secret(
        pulumi
          .all([ctx.gate(consumer.key), consumer.secret])
          .apply(([key, secret]) => platformCommand([...place, ["key", key], ["secret", secret], ...flags])),
      ),
      platformCommandTemplate: pulumi.output(
        platformCommand([
          ...place,
          ["key", { env: "BITBUCKET_KEY" }],
          ["secret", { env: "BITBUCKET_SECRET" }],
          ...flags,
        ]),
      ),
    };
  },
};

const PUPPET_PIPELINES: Preset = {
  title: "Puppet Pipelines",
  guide:
    "Puppet Pipelines for Applications: integrate with Bitbucket Cloud (OAuth consumer, account SSH key)",
  consumer: "required",
  repositories: "many",
  requiredScopes: () => [
    "account:write",
    "team",
    "repository:write",
    "pullrequest:write",
    "issue",
    "snippet",
    "wiki",
    "webhook",
  ],
  validate: (o) => [
    ...unknownOptions(o, ["sshPublicKey", "webhookUrl", "events", "webhookSecret", "sshKeyLabel"]),
    ...problemsOf(o, [
      ["sshPublicKey", "string", true],
      ["webhookUrl", "string", true],
      ["events", "string[]", false],
      ["sshKeyLabel", "string", false],
    ]),
  ],
  children: (o) => [
    ...(str(o.sshPublicKey)
      ? [{ kind: "sshKey" as const, value: o.sshPublicKey, path: "options.sshPublicKey" }]
      : []),
    ...(str(o.webhookUrl)
      ? [{ kind: "webhook" as const, value: o.webhookUrl, path: "options.webhookUrl" }]
      : []),
  ],
  build: (ctx) => {
    const key = new SshKey(
      `${ctx.name}-ssh-key`,
      {
        key: ctx.gate(ctx.options.sshPublicKey as string),
        label: (ctx.options.sshKeyLabel as string) ?? "Puppet Pipelines",
        adopt: ctx.adopt,
      },
      ctx.opts,
    );
    const events = (ctx.options.events as string[]) ?? [
      "repo:push",
      "pullrequest:created",
      "pullrequest:updated",
    ];
    const hooks = webhooks(ctx, ctx.options.webhookUrl as string, events, "Puppet Pipelines");
    return {
      sshKeyFingerprint: key.fingerprint,
      ...hookOutputs(ctx, hooks),
    };
  },
};

/** Shippable names an integration's environment variables after it: `<NAME>_INTEGRATION_URL`. */
export const envPrefix = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

const SHIPPABLE_FORMATS = { url: BASE_URL };

const SHIPPABLE: Preset = {
  title: "Shippable",
  guide: "Shippable docs: Bitbucket integration (URL + API token; jobs get <NAME>_INTEGRATION_URL/_TOKEN)",
  consumer: "none",
  repositories: "many",
  requiredScopes: () => [],
  validate: (o) => {
    const problems = [
      ...unknownOptions(o, ["integrationName", "token", "url", "webhookUrl", "events", "webhookSecret"]),
      ...problemsOf(o, [
        ["integrationName", "string", true],
        ["url", "string", false],
        ["webhookUrl", "string", false],
        ["events", "string[]", false],
      ]),
      ...misformatted(o, SHIPPABLE_FORMATS),
    ];
    if (o.token === undefined)
      problems.push("token: required: the Bitbucket API token Shippable uses (a secret from config)");
    if (typeof o.integrationName === "string" && !/^[A-Za-z][A-Za-z0-9_-]*$/.test(o.integrationName)) {
      problems.push(
        "integrationName: letters, digits, - and _, starting with a letter (it names environment variables)",
      );
    }
    return problems;
  },
  formats: SHIPPABLE_FORMATS,
  children: (o) =>
    str(o.webhookUrl) ? [{ kind: "webhook" as const, value: o.webhookUrl, path: "options.webhookUrl" }] : [],
  build: (ctx) => {
    const prefix = envPrefix(ctx.options.integrationName as string);
    const url = (ctx.options.url as string) ?? "https://api.bitbucket.org";
    const out: Record<string, pulumi.Output<unknown>> = {
      environment: pulumi.secret(
        pulumi.output(ctx.options.token as pulumi.Input<string>).apply((token) => ({
          [`${prefix}_INTEGRATION_URL`]: url,
          [`${prefix}_INTEGRATION_TOKEN`]: token,
        })),
      ),
      environmentNames: pulumi.output([`${prefix}_INTEGRATION_URL`, `${prefix}_INTEGRATION_TOKEN`]),
    };
    if (typeof ctx.options.webhookUrl === "string") {
      const events = (ctx.options.events as string[]) ?? [
        "repo:push",
        "pullrequest:created",
        "pullrequest:updated",
      ];
      const hooks = webhooks(ctx, ctx.options.webhookUrl, events, "Shippable");
      out.webhooks = byRepository(
        ctx.repositories,
        hooks.map((h) => h.uuid),
      );
    }
    return out;
  },
};

export const AMPERSAND_CALLBACK = "https://api.withampersand.com/callbacks/v1/oauth";

/** Ampersand objects -> the scope reading and writing each needs. */
const AMPERSAND_OBJECTS: Record<string, { read: string; write: string }> = {
  account: { read: "account", write: "account:write" },
  repository: { read: "repository", write: "repository:write" },
  pullrequest: { read: "pullrequest", write: "pullrequest:write" },
  issue: { read: "issue", write: "issue:write" },
  project: { read: "project", write: "project:admin" },
  pipeline: { read: "pipeline", write: "pipeline:write" },
  snippet: { read: "snippet", write: "snippet:write" },
  webhook: { read: "webhook", write: "webhook" },
  wiki: { read: "wiki", write: "wiki" },
};

const AMPERSAND: Preset = {
  title: "Ampersand",
  guide: "Ampersand provider guide for Bitbucket (OAuth consumer with its callback URL)",
  consumer: "required",
  callbackUrl: AMPERSAND_CALLBACK,
  repositories: "none",
  requiredScopes: (o) => [
    ...listOf<unknown>(o, "read")
      .filter(str)
      .map((x) => AMPERSAND_OBJECTS[x]?.read ?? x),
    ...listOf<unknown>(o, "write")
      .filter(str)
      .map((x) => AMPERSAND_OBJECTS[x]?.write ?? x),
  ],
  validate: (o) => {
    const problems = [
      ...unknownOptions(o, ["read", "write"]),
      ...problemsOf(o, [
        ["read", "string[]", false],
        ["write", "string[]", false],
      ]),
    ];
    const objects = [...listOf<unknown>(o, "read"), ...listOf<unknown>(o, "write")].filter(str);
    if (objects.length === 0)
      problems.push(
        "read: list the objects Ampersand reads (and write: those it writes), e.g. read: [repository, pullrequest]",
      );
    for (const x of objects) {
      if (!AMPERSAND_OBJECTS[x])
        problems.push(
          `read/write: unknown object "${x}" (objects: ${Object.keys(AMPERSAND_OBJECTS).join(", ")})`,
        );
    }
    return problems;
  },
  children: () => [],
  build: (ctx) => ({
    clientId: pulumi.secret(ctx.gate(ctx.consumer!.key)),
    clientSecret: pulumi.secret(ctx.consumer!.secret),
    callbackUrl: pulumi.output(AMPERSAND_CALLBACK),
  }),
};

interface GenericWebhook {
  url: string;
  events: string[];
  description?: string;
  /** A resolved secret reference, or { generate: true }. */
  secret?: pulumi.Input<string> | { generate: true };
}
interface GenericKey {
  key: string;
  label?: string;
}
interface GenericVariable {
  key: string;
  value: pulumi.Input<string>;
  secured?: boolean;
}

const generates = (s: GenericWebhook["secret"]): s is { generate: true } =>
  typeof s === "object" && s !== null && !pulumi.Output.isInstance(s) && "generate" in s;

const GENERIC: Preset = {
  title: "Generic",
  guide: "README.md#integrations",
  consumer: "optional",
  repositories: "many",
  requiredScopes: (o) => (o.scopes as string[]) ?? [],
  validate: (o) => [
    ...unknownOptions(o, ["scopes", "webhooks", "deployKeys", "variables"]),
    ...problemsOf(o, [["scopes", "string[]", false]]),
    ...(["webhooks", "deployKeys", "variables"] as const).flatMap((k) =>
      o[k] === undefined || Array.isArray(o[k]) ? [] : [`${k}: must be a list`],
    ),
  ],
  children: (o) => [
    ...listOf<GenericWebhook>(o, "webhooks").map((w, i) => ({
      kind: "webhook" as const,
      value: w.url,
      path: `options.webhooks[${i}]`,
    })),
    ...listOf<GenericKey>(o, "deployKeys").map((k, i) => ({
      kind: "deployKey" as const,
      value: k.key,
      path: `options.deployKeys[${i}]`,
    })),
    ...listOf<GenericVariable>(o, "variables").map((v, i) => ({
      kind: "variable" as const,
      value: v.key,
      path: `options.variables[${i}]`,
    })),
  ],
  // Children are named by natural key (URL, key fingerprint, variable name), never by list
  // position: inserting an entry must not re-target the others. Names of earlier versions
  // (`-hook-<repo>-<index>`) are aliases, so existing stacks move over without a replace.
  build: (ctx) => {
    const o = ctx.options;
    const hookIds: pulumi.Output<string>[] = [];
    const keyIds: pulumi.Output<number>[] = [];
    const varIds: pulumi.Output<string>[] = [];
    const was = (name: string) => ({ ...ctx.opts, aliases: [{ name }] });
    for (const repository of ctx.repositories) {
      const where = { workspace: ctx.gate(ctx.workspace), repository, adopt: ctx.adopt };
      listOf<GenericWebhook>(o, "webhooks").forEach((w, i) => {
        const secret =
          w.secret === undefined || generates(w.secret) ? { generateSecret: true } : { secret: w.secret };
        const hook = new Webhook(
          `${ctx.name}-hook-${repository}-${urlForName(w.url)}`,
          { ...where, url: w.url, events: w.events, description: w.description, ...secret },
          was(`${ctx.name}-hook-${repository}-${i}`),
        );
        // State written before hookId existed has only the uuid until the hook next changes.
        hookIds.push(pulumi.all([hook.hookId, hook.uuid]).apply(([id, uuid]) => id ?? uuid ?? ""));
      });
      listOf<GenericKey>(o, "deployKeys").forEach((k, i) => {
        keyIds.push(
          new DeployKey(
            `${ctx.name}-key-${repository}-${keyNamePart(k.key) ?? i}`,
            { ...where, key: k.key, label: k.label },
            was(`${ctx.name}-key-${repository}-${i}`),
          ).keyId,
        );
      });
      listOf<GenericVariable>(o, "variables").forEach((v) => {
        varIds.push(
          new PipelineVariable(
            `${ctx.name}-var-${repository}-${v.key}`,
            { ...where, key: v.key, value: v.value, secured: v.secured },
            ctx.opts,
          ).uuid,
        );
      });
    }
    return { webhooks: pulumi.all(hookIds), deployKeys: pulumi.all(keyIds), variables: pulumi.all(varIds) };
  },
};

// ---- Data Center (Bitbucket Server) --------------------------------------------------------

/** The token Platform.sh's Server integration needs (its guide: project read and repository admin). */
export const PLATFORMSH_SERVER_PERMISSIONS = ["PROJECT_READ", "REPO_ADMIN"];

const tokenNameOf = (ctx: { name: string; options: Options }) =>
  (ctx.options.tokenName as string | undefined) ?? `platformsh-${ctx.name}`;

const PLATFORMSH_SERVER_FORMATS = { project: PLATFORMSH_PROJECT, username: USER_SLUG, url: BASE_URL };

const PLATFORMSH_SERVER: Preset = {
  title: "Platform.sh (Bitbucket Server)",
  guide:
    "https://docs.platform.sh/integrations/source/bitbucket.html (Bitbucket Server: an HTTP access token with project read and repository admin)",
  consumer: "none",
  repositories: "one",
  requiredScopes: () => [],
  validate: (o) => [
    ...platformshProblems(o, [
      ["project", "string", true],
      ["username", "string", true],
      ["url", "string", false],
      ["tokenName", "string", false],
      ["expiryDays", "number", false],
      ["rotate", "string", false],
    ]),
    ...misformatted(o, PLATFORMSH_SERVER_FORMATS),
  ],
  formats: PLATFORMSH_SERVER_FORMATS,
  children: (o, name) =>
    str(o.username)
      ? [
          {
            kind: "accessToken",
            value: tokenNameOf({ name, options: o }),
            path: "options.username",
            owner: o.username,
          },
        ]
      : [],
  // A personal token of `username`: Platform.sh signs in as that user with it (its form asks for both).
  build: (ctx) => {
    const o = ctx.options;
    const token = new AccessToken(
      `${ctx.name}-token`,
      {
        flavor: "datacenter",
        user: ctx.gate(o.username as string),
        name: tokenNameOf(ctx),
        permissions: PLATFORMSH_SERVER_PERMISSIONS,
        ...(o.expiryDays !== undefined && { expiryDays: o.expiryDays as number }),
        ...(o.rotate !== undefined && { rotate: o.rotate as string }),
        adopt: ctx.adopt,
      },
      ctx.opts,
    );
    const place: Array<[string, string]> = [
      ["project", String(o.project)],
      ["type", "bitbucket_server"],
      ["url", ctx.serverUrl ?? ""],
      ["username", String(o.username)],
      ["repository", `${ctx.project}/${ctx.repositories[0]}`],
    ];
    const flags = platformshFlags(o);
    return {
      platformCommand: pulumi.secret(
        token.token.apply((t) => platformCommand([...place, ["token", t], ...flags])),
      ),
      platformCommandTemplate: pulumi.output(
        platformCommand([...place, ["token", { env: "BITBUCKET_TOKEN" }], ...flags]),
      ),
      tokenId: token.tokenId,
    };
  },
};

const PUPPET_PIPELINES_SERVER_FORMATS = { username: USER_SLUG, url: BASE_URL };

const PUPPET_PIPELINES_SERVER: Preset = {
  title: "Puppet Pipelines (Bitbucket Server)",
  guide:
    "Puppet Pipelines for Applications: integrate with Bitbucket Server (host, username, SSH port; the platform's SSH key on that user)",
  consumer: "none",
  repositories: "many",
  requiredScopes: () => [],
  validate: (o) => {
    const problems = [
      ...unknownOptions(o, ["username", "sshPublicKey", "sshKeyLabel", "webhookUrl", "events", "webhookSecret", "url", "host", "sshPort"]),
      ...problemsOf(o, [
        ["username", "string", true],
        ["sshPublicKey", "string", true],
        ["webhookUrl", "string", true],
        ["events", "string[]", false],
        ["sshKeyLabel", "string", false],
        ["url", "string", false],
        ["host", "string", false],
        ["sshPort", "number", false],
      ]),
      ...misformatted(o, PUPPET_PIPELINES_SERVER_FORMATS),
    ];
    if (typeof o.sshPort === "number" && o.sshPort > 65535) problems.push("sshPort: must be a port, 1 to 65535");
    return problems;
  }, // prettier-ignore
  formats: PUPPET_PIPELINES_SERVER_FORMATS,
  children: (o) => [
    ...(str(o.sshPublicKey)
      ? [{ kind: "sshKey" as const, value: o.sshPublicKey, path: "options.sshPublicKey", ...(str(o.username) && { owner: o.username }) }]
      : []),
    ...(str(o.webhookUrl) ? [{ kind: "webhook" as const, value: o.webhookUrl, path: "options.webhookUrl" }] : []),
  ], // prettier-ignore
  build: (ctx) => {
    const o = ctx.options;
    const key = new SshKey(
      `${ctx.name}-ssh-key`,
      {
        flavor: "datacenter",
        user: ctx.gate(o.username as string),
        key: o.sshPublicKey as string,
        label: (o.sshKeyLabel as string) ?? "Puppet Pipelines",
        adopt: ctx.adopt,
      },
      ctx.opts,
    );
    const events = (o.events as string[]) ?? ["repo:refs_changed", "pr:opened", "pr:from_ref_updated"];
    const hooks = webhooks(ctx, o.webhookUrl as string, events, "Puppet Pipelines");
    return {
      host: pulumi.output((o.host as string) ?? new URL(ctx.serverUrl ?? "").hostname),
      username: pulumi.output(o.username as string),
      sshPort: pulumi.output((o.sshPort as number) ?? 22),
      sshKeyFingerprint: key.fingerprint,
      ...hookOutputs(ctx, hooks),
    };
  },
};

export const PRESETS = {
  platformsh: PLATFORMSH,
  "puppet-pipelines": PUPPET_PIPELINES,
  shippable: SHIPPABLE,
  ampersand: AMPERSAND,
  generic: GENERIC,
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

/** The presets a Data Center integration can use: the platforms that document a Server setup. */
export const DATACENTER_PRESETS: Partial<Record<PresetName, Preset>> = {
  platformsh: PLATFORMSH_SERVER,
  "puppet-pipelines": PUPPET_PIPELINES_SERVER,
};

/** The preset of that name for that flavor; undefined when the platform has no setup for it. */
export const presetFor = (name: PresetName, flavor: Flavor): Preset | undefined =>
  flavor === "datacenter" ? DATACENTER_PRESETS[name] : PRESETS[name];
