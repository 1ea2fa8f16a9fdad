// Integrations: `integrations:` entries, a platform connected by its preset (presets/). An entry
// is one Integration component; the objects its preset makes are claimed here too, so they
// collide with entries as entries do. The resource: provider/resources/integration.ts.

import { naturalKey } from "../names";
import {
  checkboxes,
  consumerProblems,
  DATACENTER_PRESETS,
  isSecretRef,
  PRESETS,
  presetFor,
  type Preset,
  type PresetChild,
  type PresetName,
} from "../presets";
import { Integration } from "../resources/integration";
import { isKeyError, parsePublicKey } from "../ssh";
import { allowedFor } from "../scopes";
import type { CheckContext, Entry, ExpandContext, KindDescriptor, Problem, Selector } from "./kind";
import type { Manifest } from "./index";
import { uniqueIds } from "./checks";

export interface IntegrationEntry extends Entry {
  id: string;
  preset: PresetName;
  consumer?: string;
  repositories?: Selector;
  options?: Record<string, unknown>;
}

/** The presets a Data Center manifest may use. */
const DC_PRESETS = Object.keys(DATACENTER_PRESETS);

export const integrations = {
  key: "integrations",
  type: "Integration",
  schema: "integration",
  fields: [
    "id",
    "preset",
    "workspace",
    "project",
    "consumer",
    "repositories",
    "options",
    "adopt",
    "retainOnDelete",
  ],
  flavors: { cloud: true, datacenter: true },
  placed: true,
  cloudFields: ["workspace", "consumer"],
  component: true,
  declaredFirst: true,
  check: (ctx) => [
    ...(ctx.flavor === "datacenter" ? dataCenterCheck(ctx) : []),
    ...uniqueIds(ctx, "integrations"),
    ...formatCheck(ctx),
    ...(ctx.flavor === "cloud" ? consumerCheck(ctx) : []),
  ],
  expand(i, ctx) {
    const preset = presetFor(i.preset, ctx.m.flavor);
    if (!preset) return; // a Cloud preset in a Data Center manifest: load reported it
    ctx.problems.push(...presetProblems(ctx.m, i, preset));
    const found = ctx.targets(i, false);
    const repositories = found.map((t) => t.repository!);
    // Its repositories' workspace or project (a `{ project: KEY }` selector's on Data Center).
    const container = found[0]?.container ?? (ctx.dc ? (i.project ?? "") : i.workspace);
    ctx.add({ name: i.id, ...ctx.placeOf({ container }), repositories }, `integration ${i.id}`);
    // The objects the preset will create are declarations too: they collide like entries.
    for (const c of preset.children(i.options ?? {}, i.id)) claimChild(c, i, container, repositories, ctx);
  },
  declare(s, i, ctx) {
    // Every reference, at any depth (a generic preset's webhooks[].secret too), becomes its secret.
    const resolve = (v: unknown, path: string): unknown =>
      isSecretRef(v)
        ? ctx.secret(v, path)
        : Array.isArray(v)
          ? v.map((x, n) => resolve(x, `${path}[${n}]`))
          : v && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, `${path}.${k}`)]))
            : v;
    const r = new Integration(
      s.name,
      {
        preset: i.preset,
        ...(ctx.dc ? { ...ctx.flavorArg, project: s.project } : { workspace: i.workspace }),
        repositories: s.repositories,
        consumer: i.consumer !== undefined ? ctx.consumers.get(i.consumer) : undefined,
        options: resolve(i.options ?? {}, "options") as Record<string, unknown>,
        adopt: i.adopt,
        reveal: revealCommand(i.id),
      },
      ctx.opts,
    );
    return { resource: r, outputKey: i.id, output: r.outputs };
  },
} satisfies KindDescriptor<IntegrationEntry, "integrations", "Integration">;

/** The full SHA256 fingerprint of a key, for natural keys ("" when malformed: reported elsewhere). */
const fingerprintOf = (key: unknown) => {
  const k = parsePublicKey(key);
  return isKeyError(k) ? "" : k.fingerprint;
};

/** Claims the object a preset makes (on each repository, or its user's), at its option's position. */
function claimChild(
  c: PresetChild,
  i: IntegrationEntry,
  container: string,
  repositories: string[],
  ctx: ExpandContext,
): void {
  const loc = { ...(i.at[c.path] ?? i.at.options ?? i.loc), path: `integrations[${i.index}].${c.path}` };
  const what = `${i.preset} integration ${i.id}'s`;
  // A key that does not parse is reported as such (by the preset or the resource), not as a collision.
  if ((c.kind === "sshKey" || c.kind === "deployKey") && fingerprintOf(c.value) === "") return;
  if (c.kind === "sshKey") {
    ctx.claim(naturalKey.sshKey(c.owner, fingerprintOf(c.value)), loc, `${what} SSH key`);
    return;
  }
  if (c.kind === "accessToken") {
    const natural = naturalKey.accessToken(`~${c.owner}`, c.value);
    ctx.claim(natural, loc, `${what} access token "${c.value}" of ${c.owner}`);
    return;
  }
  for (const repo of repositories) {
    const natural =
      c.kind === "webhook"
        ? naturalKey.webhook(container, repo, c.value)
        : c.kind === "deployKey"
          ? naturalKey.deployKey(container, repo, fingerprintOf(c.value))
          : naturalKey.variable(container, repo, undefined, c.value);
    ctx.claim(
      natural,
      loc,
      `${what} ${c.kind === "deployKey" ? "deploy key" : c.kind} on ${container}/${repo}`,
    );
  }
}

/**
 * The command that prints one secret output of integration `id`: the program exports every
 * integration's outputs under the stack output `integrations` (ids are letters, digits, - and _).
 */
const revealCommand = (id: string) => (output: string) =>
  `\`pulumi stack output --show-secrets --json integrations | jq -r '.["${id}"].${output}'\``;

// ---- load-time checks ----------------------------------------------------------------------------

/** Data Center: no consumer (Cloud's OAuth consumers), and only the presets with a Server setup. */
function dataCenterCheck(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  const cloudOnly = (message: string) => `${message} (this manifest is flavor: datacenter)`;
  ctx.list("integrations").forEach((e, i) => {
    if (!e || typeof e !== "object") return;
    if (e.consumer !== undefined)
      problems.push({
        loc: ctx.keyAt(["integrations", i], "consumer"),
        message: cloudOnly("consumer is Bitbucket Cloud's (OAuth consumers); remove it"),
      });
    if (typeof e.preset === "string" && !DC_PRESETS.includes(e.preset))
      problems.push({
        loc: ctx.at(["integrations", i, "preset"]),
        message: cloudOnly(
          `preset ${ctx.clean(e.preset)} is for Bitbucket Cloud; on Data Center: ${DC_PRESETS.join(", ")}`,
        ),
      });
  });
  return problems;
}

/**
 * Option values the platform gives a format go into the command an operator runs: each is refused
 * at its own position (validate() says the same at check time).
 */
function formatCheck(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  ctx.list("integrations").forEach((e, i) => {
    const name = e?.preset;
    const preset =
      typeof name === "string" && Object.hasOwn(PRESETS, name)
        ? presetFor(name as PresetName, ctx.flavor)
        : undefined;
    const options = e?.options;
    if (!preset?.formats || typeof options !== "object" || options === null) return;
    for (const [option, format] of Object.entries(preset.formats)) {
      const v = (options as Record<string, unknown>)[option];
      if (typeof v === "string" && !format.test(v))
        problems.push({
          loc: ctx.at(["integrations", i, "options", option]),
          message: `${preset.title}: ${option}: ${format.what}`,
        });
    }
  });
  return problems;
}

/** Cloud: the consumer an integration names is declared. */
function consumerCheck(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  const consumerIds = ctx
    .list("oauthConsumers")
    .map((c) => c?.id)
    .filter((x): x is string => typeof x === "string");
  ctx.list("integrations").forEach((e, i) => {
    if (typeof e?.consumer !== "string" || consumerIds.includes(e.consumer)) return;
    const close = ctx.suggest(e.consumer, consumerIds);
    problems.push({
      loc: ctx.at(["integrations", i, "consumer"]),
      message: `no OAuth consumer with id ${ctx.quote(e.consumer)}${close.length ? `; did you mean ${ctx.quote(close[0]!)}?` : ""} (declare it under oauthConsumers${consumerIds.length ? `; ids: ${consumerIds.map((c) => ctx.clean(c)).join(", ")}` : ""})`,
    });
  });
  return problems;
}

// ---- expand-time checks: the preset and its consumer ---------------------------------------------

/** The preset's own checks, offline: options, consumer presence, and the scopes the consumer declares. */
function presetProblems(m: Manifest, i: IntegrationEntry, preset: Preset): Problem[] {
  // Each problem at its option's position when it has one ("webhookUrl: ..."), else at options.
  const problems: Problem[] = preset.validate(i.options ?? {}).map((message) => {
    const option = /^([A-Za-z]\w*):/.exec(message)?.[1];
    const loc = (option !== undefined && i.at[`options.${option}`]) || i.at.options || i.loc;
    return { loc, message: `${preset.title}: ${message}` };
  });
  if (preset.consumer === "required" && i.consumer === undefined) {
    problems.push({
      loc: i.loc,
      message: `${preset.title} needs an OAuth consumer: declare one under oauthConsumers and name its id in consumer`,
    });
  }
  // On Data Center load refuses any consumer (Cloud's): said there.
  if (preset.consumer === "none" && i.consumer !== undefined && m.flavor === "cloud") {
    problems.push({
      loc: i.at.consumer!,
      message: `${preset.title} does not use an OAuth consumer (${preset.noConsumer ?? "none is needed"}); remove consumer (and the consumer's entry, if nothing else uses it)`,
    });
  }
  const consumer = m.oauthConsumers.find((c) => c.id === i.consumer);
  if (consumer) problems.push(...excessScopes(m, i, consumer), ...consumerShort(i, preset, consumer));
  const count = Array.isArray(i.repositories) ? i.repositories.length : undefined;
  if (preset.repositories === "one" && count !== undefined && count !== 1) {
    problems.push({ loc: i.at.repositories!, message: `${preset.title} connects exactly one repository` });
  }
  if (preset.repositories === "none" && i.repositories !== undefined) {
    problems.push({
      loc: i.at.repositories!,
      message: preset.noRepositories ?? `${preset.title} takes no repositories; remove them`,
    });
  }
  return problems;
}

/** Where the declared consumer falls short of the preset (scopes, callback URL, private), at the consumer's field. */
function consumerShort(
  i: IntegrationEntry,
  preset: Preset,
  consumer: Manifest["oauthConsumers"][number],
): Problem[] {
  const declared = {
    scopes: consumer.scopes,
    callbackUrl: consumer.callbackUrl,
    private: consumer.private !== false,
  };
  return consumerProblems(preset, i.options ?? {}, declared).map((p) => {
    const lacks = p.lacks ?? [];
    return {
      loc: consumer.at[p.field] ?? consumer.loc,
      message: p.lacks
        ? `${preset.title} (integration ${i.id}) needs ${lacks.join(", ")}: add ${lacks.length === 1 ? "it" : "them"} to these scopes and tick ${lacks.length === 1 ? "it" : "them"} in Bitbucket`
        : p.message!,
    };
  });
}

/**
 * Least privilege: the scopes a consumer declares beyond what every integration using it needs
 * (reported once, with the first of them). A consumer no integration uses is the user's own business.
 * Checked here, where every use of a consumer is known (an Integration alone sees only its own).
 */
function excessScopes(
  m: Manifest,
  i: IntegrationEntry,
  consumer: Manifest["oauthConsumers"][number],
): Problem[] {
  const uses = m.integrations.filter((j) => j.consumer === i.consumer);
  // Only when every use is well formed: a refused consumer, or a bad option, is reported as such.
  // A generic integration without `scopes` says nothing about what its consumer is for.
  const presets = uses.map((j) => presetFor(j.preset, m.flavor));
  const settled = presets.every(
    (p, n) => p && p.consumer !== "none" && p.validate(uses[n]!.options ?? {}).length === 0,
  );
  if (
    uses[0] !== i ||
    !settled ||
    uses.some((j) => j.preset === "generic" && j.options?.scopes === undefined)
  )
    return [];
  const needed = uses.flatMap((j, n) => presets[n]!.requiredScopes(j.options ?? {}));
  const allowed = allowedFor(needed);
  const beyond = [...new Set(consumer.scopes)].filter((s) => !allowed.has(s)).sort();
  if (!beyond.length) return [];
  const who = uses.map((j, n) => `${presets[n]!.title} (integration ${j.id})`).join(", ");
  return [
    {
      loc: consumer.at.scopes ?? consumer.loc,
      message: `${beyond.join(", ")}: more than ${who} needs; untick ${checkboxes(beyond)} in Bitbucket and remove ${beyond.length === 1 ? "it" : "them"} here (the platform gets every permission the consumer has)`,
    },
  ];
}
