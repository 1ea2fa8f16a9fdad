// Integration presets: one table per platform, from each platform's own Bitbucket setup guide.
// A preset says which OAuth consumer the platform needs (and with which scopes), which
// repositories it works on, what it creates in Bitbucket (webhooks, keys, variables) and what
// the platform side needs back (a CLI command, environment variables, a client id).
// Adding a platform is adding a row here and a test.

import * as pulumi from "@pulumi/pulumi";
import { DeployKey } from "./resources/deploy-key";
import type { OAuthConsumer } from "./resources/oauth-consumer";
import { PipelineVariable } from "./resources/pipeline-variable";
import { SshKey } from "./resources/ssh-key";
import { Webhook } from "./resources/webhook";
import { keyNamePart, urlForName } from "./names";

export type Options = Record<string, unknown>;

/** What a preset's `build` gets: where to create children, and a gate every child input goes through. */
export interface BuildContext {
  /** The integration's name, prefix of every child's name. */
  name: string;
  workspace: string;
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
  /** The objects the options make on each repository (or the account), for the manifest's collision checks. */
  children(options: Options): PresetChild[];
  /** Declares the children and returns what the platform side needs (secret parts as secret outputs). */
  build(ctx: BuildContext): Record<string, pulumi.Output<unknown>>;
}

/** One object a preset creates: a webhook URL, a key, a variable name; `path` is its option. */
export interface PresetChild {
  kind: "webhook" | "deployKey" | "variable" | "sshKey";
  value: string;
  path: string;
}

const str = (v: unknown): v is string => typeof v === "string";
const listOf = <T>(o: Options, k: string): T[] => (Array.isArray(o[k]) ? (o[k] as T[]) : []);

// ---- option helpers ---------------------------------------------------------------------------

const bool = (o: Options, k: string, dflt: boolean): boolean =>
  typeof o[k] === "boolean" ? (o[k] as boolean) : dflt;
const problemsOf = (
  o: Options,
  rules: Array<[string, "string" | "boolean" | "string[]", boolean]>,
): string[] =>
  rules.flatMap(([k, type, required]) => {
    const v = o[k];
    if (v === undefined) return required ? [`${k}: required`] : [];
    if (pulumi.Output.isInstance(v)) return []; // a secret or computed value: checked by the resource that takes it
    if (type === "string[]")
      return Array.isArray(v) && v.every((x) => typeof x === "string")
        ? []
        : [`${k}: must be a list of text`];
    return typeof v === type ? [] : [`${k}: must be ${type === "boolean" ? "true or false" : "text"}`];
  });
const unknownOptions = (o: Options, known: string[]): string[] =>
  Object.keys(o)
    .filter((k) => !known.includes(k))
    .map((k) => `${k}: not an option of this preset (options: ${known.join(", ") || "none"})`);

/** One webhook per repository, with a generated secret unless one is given. */
function webhooks(ctx: BuildContext, url: pulumi.Input<string>, events: string[], description: string) {
  return ctx.repositories.map(
    (repository) =>
      new Webhook(
        `${ctx.name}-hook-${repository}`,
        {
          workspace: ctx.gate(ctx.workspace),
          repository,
          url,
          events,
          description,
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

// ---- the presets ------------------------------------------------------------------------------

const PLATFORMSH: Preset = {
  title: "Platform.sh",
  guide: "https://docs.platform.sh/integrations/source/bitbucket.html",
  consumer: "required",
  repositories: "one",
  // Platform.sh's guide: Account Email + Read, Repositories Read + Write, Pull requests Read, Webhooks Read + Write.
  requiredScopes: () => ["account", "email", "repository:write", "pullrequest", "webhook"],
  validate: (o) => {
    const known = [
      "project",
      "fetchBranches",
      "pruneBranches",
      "buildPullRequests",
      "buildPullRequestsPostMerge",
    ];
    const problems = [
      ...unknownOptions(o, known),
      ...problemsOf(o, [
        ["project", "string", true],
        ["fetchBranches", "boolean", false],
        ["pruneBranches", "boolean", false],
        ["buildPullRequests", "boolean", false],
        ["buildPullRequestsPostMerge", "boolean", false],
      ]),
    ];
    if (bool(o, "pruneBranches", true) && !bool(o, "fetchBranches", true)) {
      problems.push(
        "pruneBranches: needs fetchBranches: true (Platform.sh prunes only branches it fetches); set pruneBranches: false",
      );
    }
    return problems;
  },
  // Platform.sh registers its own webhook with the consumer: nothing to create in Bitbucket.
  children: () => [],
  build: (ctx) => {
    const repository = `${ctx.workspace}/${ctx.repositories[0]}`;
    const flags = [
      `--fetch-branches=${bool(ctx.options, "fetchBranches", true)}`,
      `--prune-branches=${bool(ctx.options, "pruneBranches", true)}`,
      `--build-pull-requests=${bool(ctx.options, "buildPullRequests", true)}`,
      `--build-pull-requests-post-merge=${bool(ctx.options, "buildPullRequestsPostMerge", false)}`,
    ].join(" ");
    const base = `platform integration:add --project=${String(ctx.options.project)} --type=bitbucket --repository=${repository}`;
    const consumer = ctx.consumer!;
    return {
      platformCommand: pulumi.secret(
        pulumi.interpolate`${ctx.gate(base)} --key=${consumer.key} --secret=${consumer.secret} ${flags}`,
      ),
      platformCommandTemplate: pulumi.output(
        `${base} --key="$BITBUCKET_KEY" --secret="$BITBUCKET_SECRET" ${flags}`,
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
      webhooks: byRepository(
        ctx.repositories,
        hooks.map((h) => h.uuid),
      ),
      webhookSecrets: pulumi.secret(
        byRepository(
          ctx.repositories,
          hooks.map((h) => h.generatedSecret),
        ),
      ),
    };
  },
};

/** Shippable names an integration's environment variables after it: `<NAME>_INTEGRATION_URL`. */
export const envPrefix = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

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
    ...((o.read as string[]) ?? []).map((x) => AMPERSAND_OBJECTS[x]?.read ?? x),
    ...((o.write as string[]) ?? []).map((x) => AMPERSAND_OBJECTS[x]?.write ?? x),
  ],
  validate: (o) => {
    const problems = [
      ...unknownOptions(o, ["read", "write"]),
      ...problemsOf(o, [
        ["read", "string[]", false],
        ["write", "string[]", false],
      ]),
    ];
    const objects = [...((o.read as string[]) ?? []), ...((o.write as string[]) ?? [])];
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

export const PRESETS = {
  platformsh: PLATFORMSH,
  "puppet-pipelines": PUPPET_PIPELINES,
  shippable: SHIPPABLE,
  ampersand: AMPERSAND,
  generic: GENERIC,
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
