// From a loaded Manifest to resources.
//
// expand(): pure. Resolves each entry's repositories (a list, `{ project: KEY }`, or a glob)
// against the workspace's (Cloud) or project's (Data Center) repositories, gives every resource a stable, readable Pulumi name
// derived from its natural key (so adding a repository never renames the others), and reports,
// all at once and with positions: selectors matching nothing, malformed keys, and two entries
// that would manage the same object.
//
// deployManifest(): lists each workspace's or project's repositories once (only when a selector needs it),
// reads secret references from stack config or the environment, and declares the resources.

import * as pulumi from "@pulumi/pulumi";
import { flavorSetting, setProviderConfig } from "../api/auth";
import { repositoriesPath } from "../api/cloud";
import { dcReposPath } from "../api/datacenter";
import { listAll } from "../api/paginate";
import { AccessToken } from "../resources/access-token";
import { Integration } from "../resources/integration";
import { DeployKey } from "../resources/deploy-key";
import { OAuthConsumer } from "../resources/oauth-consumer";
import { PipelineKnownHost } from "../resources/pipeline-known-host";
import { PipelineSshKeyPair } from "../resources/pipeline-ssh-key-pair";
import { PipelineVariable } from "../resources/pipeline-variable";
import { SshKey } from "../resources/ssh-key";
import type { Flavor } from "../resources/validate";
import { Webhook } from "../resources/webhook";
import { checkboxes, consumerProblems, isSecretRef, presetFor, type Preset } from "../presets";
import { allowedFor } from "../scopes";
import { fingerprintPart, hasCredentials, naturalKey, redactUrl, urlForName } from "../names";
import { isKeyError, parsePublicKey } from "../ssh";
import { globProblem, matchesGlob } from "./glob";
import {
  manifestError,
  type Kind,
  type Loc,
  type Manifest,
  type Problem,
  type SecretRef,
  type Selector,
} from "./load";

/** A repository as the selectors see it. */
export interface RepoInfo {
  slug: string;
  project?: string;
}

/**
 * The repositories of a workspace (Cloud) or project (Data Center), or undefined when unknown
 * (offline validation).
 */
export type RepoLister = (container: string) => RepoInfo[] | undefined;

type ResourceType =
  | "Webhook"
  | "DeployKey"
  | "SshKey"
  | "PipelineVariable"
  | "PipelineSshKeyPair"
  | "PipelineKnownHost"
  | "OAuthConsumer"
  | "AccessToken"
  | "Integration";

/** One resource to declare. */
export interface Spec {
  type: ResourceType;
  /** The Pulumi resource name: `webhook/acme/api/ci.example.com/hook`. */
  name: string;
  /** Names earlier versions gave the same resource (kept as Pulumi aliases: no replace on upgrade). */
  aliases?: string[];
  kind: Kind;
  index: number;
  loc: Loc;
  /** Cloud. */
  workspace?: string;
  /** Data Center. */
  project?: string;
  repository?: string;
  /** For integrations: the resolved repositories. */
  repositories?: string[];
}

function describe(sel: Selector): string {
  return Array.isArray(sel)
    ? sel.join(", ")
    : typeof sel === "string"
      ? `"${sel}"`
      : `{ project: ${sel.project} }`;
}

/**
 * The repositories a selector names; undefined when they cannot be known offline; a problem
 * when it matches none.
 */
function select(
  workspace: string,
  sel: Selector,
  loc: Loc,
  repos: RepoLister,
  asWritten: { container: string; sel: Selector } = { container: `workspace ${workspace}`, sel },
): string[] | undefined | Problem {
  if (Array.isArray(sel)) return sel;
  const all = repos(workspace);
  if (all === undefined) return undefined;
  const hits =
    typeof sel === "string"
      ? all.filter((r) => matchesGlob(sel, sel.includes("/") ? `${workspace}/${r.slug}` : r.slug))
      : all.filter((r) => r.project?.toUpperCase() === sel.project.toUpperCase());
  if (hits.length) return hits.map((r) => r.slug).sort();
  const known = all
    .map((r) => r.slug)
    .slice(0, 10)
    .join(", ");
  return {
    loc,
    message: `${describe(asWritten.sel)} matches no repository in ${asWritten.container}${known ? ` (repositories: ${known}${all.length > 10 ? ", ..." : ""})` : " (it has none)"}`,
  };
}

const isProblem = (x: unknown): x is Problem =>
  typeof x === "object" && x !== null && "message" in x && "loc" in x;

/**
 * A key field's fingerprint (for natural keys) and its short, stable part (for names), parsed
 * once; a problem at the key when it is malformed.
 */
function keyOf(
  e: { at: Record<string, Loc> },
  field: string,
  problems: Problem[],
): { fingerprint: string; part: string } | undefined {
  const k = parsePublicKey((e as unknown as Record<string, unknown>)[field]);
  if (!isKeyError(k)) return { fingerprint: k.fingerprint, part: fingerprintPart(k.fingerprint) };
  problems.push({ loc: e.at[field]!, message: `${field} ${k.error}` });
  return undefined;
}

/** The full SHA256 fingerprint of a key, for natural keys ("" when malformed: reported elsewhere). */
const fingerprintOf = (key: unknown) => {
  const k = parsePublicKey(key);
  return isKeyError(k) ? "" : k.fingerprint;
};

const where = (loc: Loc) => `${loc.path} (${loc.file}:${loc.line}:${loc.col})`;

/** An entry as placement reads it: its workspace (Cloud) or projects (Data Center), and repositories. */
interface Placed {
  workspace: string;
  project?: string;
  projects?: string[];
  repositories?: Selector;
  at: Record<string, Loc>;
}

/** Where one resource goes: a workspace (Cloud) or project (Data Center), maybe a repository in it. */
interface Target {
  container: string;
  repository?: string;
}

/** The projects a Data Center entry applies to. */
const projectsOf = (e: Placed) => e.projects ?? (e.project !== undefined ? [e.project] : []);

/**
 * Where an entry's selector looks: each workspace or project to list, and what to match in it. On
 * Data Center `{ project: KEY }` is every repository of KEY, `KEY/glob` a glob in KEY, and a bare
 * glob or list applies in each of the entry's projects.
 */
function lookups(e: Placed, flavor: Flavor): Array<{ container: string; sel: Selector }> {
  const sel = e.repositories!;
  if (flavor === "cloud") return [{ container: e.workspace, sel }];
  if (typeof sel === "object" && !Array.isArray(sel)) return [{ container: sel.project, sel: "*" }];
  if (typeof sel === "string" && sel.includes("/")) {
    const [container = "", glob = ""] = sel.split("/");
    return [{ container, sel: glob }];
  }
  return projectsOf(e).map((container) => ({ container, sel }));
}

/** Resolves, names and checks every resource of the manifest. Throws a ManifestError with every problem. */
export function expand(m: Manifest, repos: RepoLister): Spec[] {
  const problems: Problem[] = [];
  const specs: Spec[] = [];
  const byName = new Map<string, Spec>();
  const byObject = new Map<string, Loc>();
  /**
   * Claims a natural key for the declaration at `loc`: a second declaration of the same object
   * (across entries and integration children, case-folded as Bitbucket folds it) is a problem
   * naming both places.
   */
  const claim = (natural: string, loc: Loc, what: string): boolean => {
    const before = byObject.get(natural);
    if (before) {
      problems.push({
        loc,
        message: `${what} is already declared at ${where(before)}: both would manage one Bitbucket object; keep one`,
      });
      return false;
    }
    byObject.set(natural, loc);
    return true;
  };
  const add = (s: Spec, what: string, natural?: string) => {
    if (natural !== undefined && !claim(natural, s.loc, what)) return;
    const before = byName.get(s.name);
    if (before) {
      const hint =
        s.type === "Webhook"
          ? " (URLs that differ only in their query get the same name: give one a name:)"
          : "";
      problems.push({
        loc: s.loc,
        message: `${what} would have the same resource name as ${where(before.loc)}${hint}; keep one entry`,
      });
      return;
    }
    byName.set(s.name, s);
    specs.push(s);
  };
  const dc = m.flavor === "datacenter";
  /**
   * Each repository of an entry; without `repositories`, its workspace or projects themselves when
   * `optional` (workspace or project scope), else nothing.
   */
  const targets = (e: Placed, optional: boolean): Target[] => {
    if (e.repositories === undefined) {
      if (!optional) return [];
      return dc ? projectsOf(e).map((container) => ({ container })) : [{ container: e.workspace }];
    }
    const out: Target[] = [];
    const tooBig = typeof e.repositories === "string" ? globProblem(e.repositories) : undefined;
    if (tooBig) {
      problems.push({ loc: e.at.repositories!, message: tooBig });
      return out;
    }
    for (const { container, sel } of lookups(e, m.flavor)) {
      const written = dc ? { container: `project ${container}`, sel: e.repositories } : undefined;
      const r = select(container, sel, e.at.repositories!, repos, written);
      if (isProblem(r)) problems.push(r);
      else for (const repository of r ?? []) out.push({ container, repository });
    }
    return out;
  };
  /** The Spec fields of a target. */
  const placeOf = (t: Target) => ({
    ...(dc ? { project: t.container } : { workspace: t.container }),
    repository: t.repository,
  });
  /** "acme/api", "acme (workspace)", "PROJ/api", "project PROJ": a target in messages. */
  const shown = (t: Target) =>
    t.repository !== undefined
      ? `${t.container}/${t.repository}`
      : dc
        ? `project ${t.container}`
        : `${t.container}/(workspace)`;
  const base = (kind: Kind, e: { index: number; loc: Loc }) => ({ kind, index: e.index, loc: e.loc });

  for (const c of m.oauthConsumers) {
    add(
      {
        ...base("oauthConsumers", c),
        type: "OAuthConsumer",
        name: `oauth-consumer/${c.id}`,
        workspace: c.workspace,
      },
      `OAuth consumer ${c.id}`,
    );
  }
  for (const i of m.integrations) {
    const preset = presetFor(i.preset, m.flavor);
    if (!preset) continue; // a Cloud preset in a Data Center manifest: load.ts reported it
    problems.push(...presetProblems(m, i, preset));
    const found = targets(i, false);
    const repositories = found.map((t) => t.repository!);
    // Its repositories' workspace or project (a `{ project: KEY }` selector's on Data Center).
    const container = found[0]?.container ?? (dc ? (i.project ?? "") : i.workspace);
    add(
      {
        ...base("integrations", i),
        type: "Integration",
        name: i.id,
        ...placeOf({ container }),
        repositories,
      },
      `integration ${i.id}`,
    );
    // The objects the preset will create are declarations too: they collide like entries.
    for (const c of preset.children(i.options ?? {}, i.id)) {
      const loc = { ...(i.at[c.path] ?? i.at.options ?? i.loc), path: `integrations[${i.index}].${c.path}` };
      const what = `${i.preset} integration ${i.id}'s`;
      // A key that does not parse is reported as such (by the preset or the resource), not as a collision.
      if ((c.kind === "sshKey" || c.kind === "deployKey") && fingerprintOf(c.value) === "") continue;
      if (c.kind === "sshKey") {
        claim(naturalKey.sshKey(c.owner, fingerprintOf(c.value)), loc, `${what} SSH key`);
        continue;
      }
      if (c.kind === "accessToken") {
        claim(
          naturalKey.accessToken(`~${c.owner}`, c.value),
          loc,
          `${what} access token "${c.value}" of ${c.owner}`,
        );
        continue;
      }
      for (const repo of repositories) {
        const natural =
          c.kind === "webhook"
            ? naturalKey.webhook(container, repo, c.value)
            : c.kind === "deployKey"
              ? naturalKey.deployKey(container, repo, fingerprintOf(c.value))
              : naturalKey.variable(container, repo, undefined, c.value);
        claim(
          natural,
          loc,
          `${what} ${c.kind === "deployKey" ? "deploy key" : c.kind} on ${container}/${repo}`,
        );
      }
    }
  }
  for (const w of m.webhooks) {
    // A URL given by reference is unknown here: the entry's name (required then) names it, and
    // the reference stands for it in the natural key.
    const url = typeof w.url === "string" ? w.url : refText(w.url);
    for (const t of targets(w, true)) {
      const prefix = `webhook/${t.container}/${t.repository ?? "*"}/`;
      const name = prefix + (w.name ?? urlForName(url));
      // Before names left out a URL's query and credentials, or could be chosen, they were the URL
      // (Cloud). Not for a URL with credentials: Pulumi keeps aliases in state, in clear.
      const was = prefix + url.replace(/^https:\/\//, "");
      const alias = !dc && typeof w.url === "string" && !hasCredentials(w.url) && was !== name;
      add(
        {
          ...base("webhooks", w),
          type: "Webhook",
          name,
          ...(alias && { aliases: [was] }),
          ...placeOf(t),
        },
        `webhook ${typeof w.url === "string" ? redactUrl(w.url) : `(url from ${url})`} on ${shown(t)}`,
        naturalKey.webhook(t.container, t.repository, url),
      );
    }
  }
  for (const d of m.deployKeys) {
    const k = keyOf(d, "key", problems);
    if (k === undefined) continue;
    if (!dc && d.project !== undefined) {
      add(
        {
          ...base("deployKeys", d),
          type: "DeployKey",
          name: `deploy-key/${d.workspace}/project:${d.project}/${k.part}`,
          workspace: d.workspace,
        },
        `this key on project ${d.project}`,
        naturalKey.deployKey(d.workspace, `project:${d.project}`, k.fingerprint),
      );
    }
    // Cloud: repository keys; Data Center: those, or without repositories a key on each project.
    for (const t of dc ? targets(d, true) : d.project === undefined ? targets(d, false) : []) {
      add(
        {
          ...base("deployKeys", d),
          type: "DeployKey",
          name: `deploy-key/${t.container}/${t.repository ?? "*"}/${k.part}`,
          ...placeOf(t),
        },
        `this key on ${shown(t)}`,
        naturalKey.deployKey(t.container, t.repository ?? "*", k.fingerprint),
      );
    }
  }
  for (const a of m.accessTokens) {
    const owners: Array<Target | { user: string }> =
      a.user !== undefined ? [{ user: a.user }] : targets(a, true);
    for (const o of owners) {
      const owner = "user" in o ? `~${o.user}` : `${o.container}/${o.repository ?? "*"}`;
      add(
        {
          ...base("accessTokens", a),
          type: "AccessToken",
          name: `access-token/${owner}/${a.name}`,
          ...("user" in o ? {} : placeOf(o)),
        },
        `access token "${a.name}" of ${"user" in o ? `user ${o.user}` : shown(o)}`,
        naturalKey.accessToken(owner, a.name),
      );
    }
  }
  for (const s of m.sshKeys) {
    const k = keyOf(s, "key", problems);
    if (k !== undefined)
      add(
        { ...base("sshKeys", s), type: "SshKey", name: `ssh-key/${s.user ?? "me"}/${k.part}` },
        `this SSH key on ${s.user ?? "the account"}`,
        naturalKey.sshKey(s.user, k.fingerprint),
      );
  }
  for (const v of m.pipelineVariables) {
    for (const repo of targets(v, true).map((t) => t.repository)) {
      const where = `${v.workspace}/${repo ?? "*"}${v.environment !== undefined ? `/${v.environment}` : ""}`;
      add(
        {
          ...base("pipelineVariables", v),
          type: "PipelineVariable",
          name: `variable/${where}/${v.key}`,
          workspace: v.workspace,
          repository: repo,
        },
        `variable ${v.key} on ${where}`,
        naturalKey.variable(v.workspace, repo, v.environment, v.key),
      );
    }
  }
  for (const p of m.pipelineSshKeyPairs) {
    keyOf(p, "publicKey", problems);
    for (const repo of targets(p, false).map((t) => t.repository)) {
      add(
        {
          ...base("pipelineSshKeyPairs", p),
          type: "PipelineSshKeyPair",
          name: `ssh-key-pair/${p.workspace}/${repo}`,
          workspace: p.workspace,
          repository: repo,
        },
        `the key pair of ${p.workspace}/${repo}`,
        naturalKey.keyPair(p.workspace, repo ?? ""),
      );
    }
  }
  for (const h of m.knownHosts) {
    for (const repo of targets(h, false).map((t) => t.repository)) {
      add(
        {
          ...base("knownHosts", h),
          type: "PipelineKnownHost",
          name: `known-host/${h.workspace}/${repo}/${h.hostname}`,
          workspace: h.workspace,
          repository: repo,
        },
        `known host ${h.hostname} on ${h.workspace}/${repo}`,
        naturalKey.knownHost(h.workspace, repo ?? "", h.hostname),
      );
    }
  }
  if (problems.length) throw manifestError(problems);
  return specs;
}

/**
 * The command that prints one secret output of integration `id`: the program exports every
 * integration's outputs under the stack output `integrations` (ids are letters, digits, - and _).
 */
const revealCommand = (id: string) => (output: string) =>
  `\`pulumi stack output --show-secrets --json integrations | jq -r '.["${id}"].${output}'\``;

/**
 * Least privilege: the scopes a consumer declares beyond what every integration using it needs
 * (reported once, with the first of them). A consumer no integration uses is the user's own business.
 * Checked here, where every use of a consumer is known (an Integration alone sees only its own).
 */
function excessScopes(
  m: Manifest,
  i: Manifest["integrations"][number],
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

/** The preset's own checks, offline: options, consumer presence, and the scopes the consumer declares. */
function presetProblems(m: Manifest, i: Manifest["integrations"][number], preset: Preset): Problem[] {
  // Each problem at its option's position when it has one ("webhookUrl: ..."), else at options.
  const problems: Problem[] = preset.validate(i.options ?? {}).map((message) => {
    const option = /^([A-Za-z]\w*):/.exec(message)?.[1];
    const loc = (option !== undefined && i.at[`options.${option}`]) || i.at.options || i.loc;
    return { loc, message: `${preset.title}: ${message}` };
  });
  const consumer = m.oauthConsumers.find((c) => c.id === i.consumer);
  if (preset.consumer === "required" && i.consumer === undefined) {
    problems.push({
      loc: i.loc,
      message: `${preset.title} needs an OAuth consumer: declare one under oauthConsumers and name its id in consumer`,
    });
  }
  if (preset.consumer === "none" && i.consumer !== undefined) {
    problems.push({
      loc: i.at.consumer!,
      message: `${preset.title} does not use an OAuth consumer (${preset.noConsumer ?? "none is needed"}); remove consumer (and the consumer's entry, if nothing else uses it)`,
    });
  }
  if (consumer) {
    problems.push(...excessScopes(m, i, consumer));
    const declared = {
      scopes: consumer.scopes,
      callbackUrl: consumer.callbackUrl,
      private: consumer.private !== false,
    };
    for (const p of consumerProblems(preset, i.options ?? {}, declared)) {
      const lacks = p.lacks ?? [];
      problems.push({
        loc: consumer.at[p.field] ?? consumer.loc,
        message: p.lacks
          ? `${preset.title} (integration ${i.id}) needs ${lacks.join(", ")}: add ${lacks.length === 1 ? "it" : "them"} to these scopes and tick ${lacks.length === 1 ? "it" : "them"} in Bitbucket`
          : p.message!,
      });
    }
  }
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

// ---- deploy -------------------------------------------------------------------------------------

/** Every workspace or project the manifest's selectors need listed (lists of slugs need none). */
function containersToList(m: Manifest): string[] {
  const needs = new Set<string>();
  for (const kind of [
    "webhooks",
    "deployKeys",
    "accessTokens",
    "pipelineVariables",
    "pipelineSshKeyPairs",
    "knownHosts",
    "integrations",
  ] as const) {
    for (const e of m[kind] as Placed[]) {
      if (e.repositories === undefined || Array.isArray(e.repositories)) continue;
      for (const { container } of lookups(e, m.flavor)) needs.add(container);
    }
  }
  return [...needs].sort();
}

/**
 * Lists the repositories of workspaces (Cloud) or projects (Data Center), once each, through the
 * API layer (paginated).
 */
export async function listRepositories(containers: string[], flavor: Flavor = "cloud"): Promise<RepoLister> {
  const known = new Map<string, RepoInfo[]>();
  for (const c of containers) {
    const path = flavor === "cloud" ? repositoriesPath(c) : dcReposPath(c);
    const values = await listAll<{ slug: string; project?: { key?: string } }>(path);
    known.set(
      c,
      values.map((r) => ({ slug: r.slug, ...(r.project?.key && { project: r.project.key }) })),
    );
  }
  return (c) => known.get(c) ?? [];
}

/**
 * A problem when the manifest's flavor is not the connection's (`bitbucket:flavor`): said before
 * anything is listed or declared, with the settings to change.
 */
function connectionProblem(m: Manifest): Problem | undefined {
  const connection = flavorSetting();
  if (connection === m.flavor) return undefined;
  return {
    loc: m.at.flavor ?? { file: m.file, line: 1, col: 1, path: "flavor" },
    message:
      m.flavor === "datacenter"
        ? "the manifest is flavor: datacenter but the connection is Bitbucket Cloud: run `pulumi config set bitbucket:flavor datacenter` and `pulumi config set bitbucket:apiUrl https://<your server>` (or set BITBUCKET_FLAVOR and BITBUCKET_API_URL)"
        : "the manifest is for Bitbucket Cloud (flavor: cloud, the default) but the connection is Data Center (bitbucket:flavor is datacenter): write `flavor: datacenter` in the manifest, or connect to Cloud",
  };
}

/** Reads a secret reference: stack config (as a secret) or the environment. */
function secretOf(ref: SecretRef, loc: Loc, problems: Problem[]): pulumi.Output<string> {
  if ("fromConfig" in ref) {
    const [ns, key] = ref.fromConfig.includes(":")
      ? ref.fromConfig.split(":", 2)
      : [undefined, ref.fromConfig];
    const config = new pulumi.Config(ns);
    if (config.get(key ?? "") === undefined) {
      problems.push({
        loc,
        message: `stack config "${ref.fromConfig}" is not set: run \`pulumi config set --secret ${ref.fromConfig} <value>\``,
      });
      return pulumi.secret("");
    }
    return config.requireSecret(key ?? "");
  }
  const v = process.env[ref.fromEnv];
  if (v === undefined || v === "") {
    problems.push({
      loc,
      message: `environment variable ${ref.fromEnv} is not set (export it before \`pulumi up\`)`,
    });
    return pulumi.secret("");
  }
  return pulumi.secret(v);
}

const isRef = (v: unknown): v is SecretRef => isSecretRef(v);

/** A reference as messages show it: `stack config <key>`, `environment variable <NAME>`. */
const refText = (ref: SecretRef): string =>
  "fromConfig" in ref ? `stack config ${ref.fromConfig}` : `environment variable ${ref.fromEnv}`;

/** Every secret reference in an entry, at any depth, with its path (`options.webhooks[0].secret`). */
function refsIn(v: unknown, path = ""): Array<[string, SecretRef]> {
  if (isRef(v)) return [[path, v]];
  const join = (k: string | number) => (typeof k === "number" ? `${path}[${k}]` : path ? `${path}.${k}` : k);
  if (Array.isArray(v)) return v.flatMap((x, i) => refsIn(x, join(i)));
  if (v && typeof v === "object")
    return Object.entries(v)
      .filter(([k]) => k !== "at" && k !== "loc")
      .flatMap(([k, x]) => refsIn(x, join(k)));
  return [];
}

/** Resource options an entry asks for: retainOnDelete, and aliases of names earlier versions gave. */
function optsOf(s: Spec, e: { retainOnDelete?: boolean }): pulumi.CustomResourceOptions {
  return {
    ...(e.retainOnDelete !== undefined && { retainOnDelete: e.retainOnDelete }),
    ...(s.aliases && { aliases: s.aliases.map((name) => ({ name })) }),
  };
}

export interface DeployResult {
  /**
   * Stack outputs: per kind, name -> id or fingerprint (plain records of outputs, so each keeps
   * its own secretness); `integrations`: id -> what the platform needs; `generatedSecrets` (secret).
   */
  outputs: Record<string, unknown>;
  /** The declared resources by Pulumi name. */
  resources: Record<string, pulumi.Resource>;
}

export interface DeployOptions {
  /**
   * Resolves a secret reference instead of stack config and the environment (`plan` gives a
   * placeholder: it never needs a secret's value).
   */
  secret?: (ref: SecretRef) => pulumi.Output<string>;
}

/**
 * Declares every resource of the manifest. `repos` lists repositories for selectors (default:
 * the Bitbucket API, each workspace once). Throws a ManifestError for problems found on the way.
 */
export async function deployManifest(
  m: Manifest,
  repos?: RepoLister,
  opts: DeployOptions = {},
): Promise<DeployResult> {
  // The listing runs in the program, which the provider's `configure` never reaches: give it the
  // stack's bitbucket:* config too (values stay in this process's memory).
  setProviderConfig((k) => pulumi.runtime.getConfig(k));
  const mismatch = connectionProblem(m);
  if (mismatch) throw manifestError([mismatch]);
  const lister = repos ?? (await listRepositories(containersToList(m), m.flavor));
  const specs = expand(m, lister);
  const problems: Problem[] = [];
  const resources: Record<string, pulumi.Resource> = {};
  const consumers = new Map<string, OAuthConsumer>();
  const out: Record<Kind, Record<string, unknown>> = {
    webhooks: {}, deployKeys: {}, sshKeys: {}, accessTokens: {}, pipelineVariables: {}, pipelineSshKeyPairs: {}, knownHosts: {}, oauthConsumers: {}, integrations: {},
  }; // prettier-ignore
  const generated: Record<string, pulumi.Output<string | undefined>> = {};
  const tokens: Record<string, pulumi.Output<string>> = {};
  const dc = m.flavor === "datacenter";
  /** Data Center resources say so (Cloud's inputs stay as they were: no diff for existing stacks). */
  const flavor = dc ? { flavor: "datacenter" as const } : {};

  // Secrets are read before anything is declared, so a missing one stops the run with every other.
  const secrets = new Map<string, pulumi.Output<string>>();
  /** The secret `field` of entry `e` refers to; its position is the field's (or the nearest known). */
  const secret = (ref: SecretRef, e: { loc: Loc; at: Record<string, Loc> }, field: string) => {
    const key = `${e.loc.path}.${field}`;
    const near = [field, field.replace(/\.[^.]*$/, ""), field.split(".")[0]!].find((f) => e.at[f]);
    const loc = { ...(near !== undefined ? e.at[near]! : e.loc), path: key };
    if (!secrets.has(key)) secrets.set(key, opts.secret ? opts.secret(ref) : secretOf(ref, loc, problems));
    return secrets.get(key)!;
  };
  for (const s of specs) {
    const e = m[s.kind][s.index]! as unknown as Record<string, unknown> & {
      loc: Loc;
      at: Record<string, Loc>;
    };
    for (const [field, ref] of refsIn(e)) secret(ref, e, field);
  }
  if (problems.length) throw manifestError(problems);

  for (const s of specs) {
    const repository = s.repository !== undefined ? { repository: s.repository } : {};
    /** Cloud-only kinds' place (a Data Center manifest has none of them: load.ts refuses them). */
    const cloudWhere = { workspace: s.workspace ?? "", ...repository };
    const where = dc ? { ...flavor, project: s.project, ...repository } : cloudWhere;
    switch (s.type) {
      case "OAuthConsumer": {
        const c = m.oauthConsumers[s.index]!;
        const r = new OAuthConsumer(s.name, {
          workspace: c.workspace, name: c.name, description: c.description, callbackUrl: c.callbackUrl, url: c.url,
          private: c.private, scopes: c.scopes, key: secret(c.key, c, "key"), secret: secret(c.secret, c, "secret"),
        }); // prettier-ignore
        consumers.set(c.id, r);
        resources[s.name] = r;
        out.oauthConsumers[c.id] = {
          grantedScopes: r.grantedScopes,
          verifiedAt: r.verifiedAt,
          settingsUrl: r.settingsUrl,
        };
        break;
      }
      case "Integration": {
        const i = m.integrations[s.index]!;
        // Every reference, at any depth (a generic preset's webhooks[].secret too), becomes its secret.
        const resolve = (v: unknown, path: string): unknown =>
          isRef(v)
            ? secret(v, i, path)
            : Array.isArray(v)
              ? v.map((x, n) => resolve(x, `${path}[${n}]`))
              : v && typeof v === "object"
                ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, `${path}.${k}`)]))
                : v;
        const r = new Integration(
          s.name,
          {
            preset: i.preset,
            ...(dc ? { ...flavor, project: s.project } : { workspace: i.workspace }),
            repositories: s.repositories,
            consumer: i.consumer !== undefined ? consumers.get(i.consumer) : undefined,
            options: resolve(i.options ?? {}, "options") as Record<string, unknown>,
            adopt: i.adopt,
            reveal: revealCommand(i.id),
          },
          optsOf(s, i),
        );
        resources[s.name] = r;
        out.integrations[i.id] = r.outputs;
        break;
      }
      case "Webhook": {
        const w = m.webhooks[s.index]!;
        const secretArgs =
          w.secret === undefined
            ? {}
            : "generate" in w.secret
              ? { generateSecret: true }
              : { secret: secret(w.secret, w, "secret") };
        const r = new Webhook(
          s.name,
          {
            ...where,
            url: isRef(w.url) ? secret(w.url, w, "url") : w.url,
            events: w.events,
            // Data Center's hooks have a name where Cloud's have a description.
            ...(dc ? { name: w.description } : { description: w.description }),
            active: w.active,
            skipCertVerification: w.skipCertVerification,
            allowHttp: w.allowHttp,
            adopt: w.adopt,
            ...secretArgs,
          },
          optsOf(s, w),
        );
        resources[s.name] = r;
        out.webhooks[s.name] = dc ? r.hookId : r.uuid;
        if ("generateSecret" in secretArgs) generated[s.name] = r.generatedSecret;
        break;
      }
      case "DeployKey": {
        const d = m.deployKeys[s.index]!;
        const r = new DeployKey(
          s.name,
          {
            ...where,
            ...(!dc && d.project !== undefined && { project: d.project }),
            ...(d.permission !== undefined && { permission: d.permission }),
            key: d.key,
            label: d.label,
            adopt: d.adopt,
          },
          optsOf(s, d),
        );
        resources[s.name] = r;
        out.deployKeys[s.name] = r.fingerprint;
        break;
      }
      case "SshKey": {
        const k = m.sshKeys[s.index]!;
        const r = new SshKey(
          s.name,
          { ...flavor, user: k.user, key: k.key, label: k.label, adopt: k.adopt },
          optsOf(s, k),
        );
        resources[s.name] = r;
        out.sshKeys[s.name] = r.fingerprint;
        break;
      }
      case "AccessToken": {
        const a = m.accessTokens[s.index]!;
        const r = new AccessToken(
          s.name,
          {
            ...(a.user !== undefined ? { ...flavor, user: a.user } : where),
            name: a.name, permissions: a.permissions, expiryDays: a.expiryDays, rotate: a.rotate, adopt: a.adopt,
          }, // prettier-ignore
          optsOf(s, a),
        );
        resources[s.name] = r;
        out.accessTokens[s.name] = r.tokenId;
        tokens[s.name] = r.token;
        break;
      }
      case "PipelineVariable": {
        const v = m.pipelineVariables[s.index]!;
        const value = isRef(v.value) ? secret(v.value, v, "value") : v.value;
        const r = new PipelineVariable(
          s.name,
          {
            ...cloudWhere,
            environment: v.environment,
            key: v.key,
            value,
            secured: v.secured,
            adopt: v.adopt,
          },
          optsOf(s, v),
        );
        resources[s.name] = r;
        out.pipelineVariables[s.name] = r.uuid;
        break;
      }
      case "PipelineSshKeyPair": {
        const p = m.pipelineSshKeyPairs[s.index]!;
        const r = new PipelineSshKeyPair(
          s.name,
          {
            workspace: cloudWhere.workspace,
            repository: s.repository ?? "",
            privateKey: secret(p.privateKey, p, "privateKey"),
            publicKey: p.publicKey,
            adopt: p.adopt,
          },
          optsOf(s, p),
        );
        resources[s.name] = r;
        out.pipelineSshKeyPairs[s.name] = r.fingerprint;
        break;
      }
      case "PipelineKnownHost": {
        const h = m.knownHosts[s.index]!;
        const r = new PipelineKnownHost(
          s.name,
          {
            workspace: cloudWhere.workspace,
            repository: s.repository ?? "",
            hostname: h.hostname,
            publicKey: h.publicKey,
            adopt: h.adopt,
          },
          optsOf(s, h),
        );
        resources[s.name] = r;
        out.knownHosts[s.name] = r.uuid;
        break;
      }
    }
  }
  const outputs: Record<string, unknown> = {};
  for (const [kind, values] of Object.entries(out)) if (Object.keys(values).length) outputs[kind] = values;
  if (Object.keys(generated).length) outputs.generatedSecrets = pulumi.secret(pulumi.all(generated));
  if (Object.keys(tokens).length) outputs.accessTokenValues = pulumi.secret(pulumi.all(tokens));
  return { outputs, resources };
}
