// deployManifest(): lists each workspace's or project's repositories once (only when a selector
// needs it), reads secret references from stack config or the environment, and lets each kind
// (kinds/) declare the resources expand() named. Every resource it declares, an integration's
// children too, gets the manifest's `policy:` and has its policy warnings printed (enforce.ts).

import * as pulumi from "../pulumi";
import { flavorSetting, setProviderConfig } from "../api/auth";
import { repositoriesPath } from "../api/cloud";
import { dcReposPath } from "../api/datacenter";
import { listAll } from "../api/paginate";
import { KINDS, kindOf, type Manifest } from "../kinds";
import type { DeclareContext, Entry, Loc, Placed, Problem, SecretRef, Spec } from "../kinds/kind";
import { isSecretRef } from "../presets";
import type { OAuthConsumer } from "../resources/oauth-consumer";
import type { Flavor } from "../resources/validate";
import { policyTransformation, type Warn } from "./enforce";
import { expand, lookups, type RepoInfo, type RepoLister } from "./expand";
import { manifestError } from "./load";
import { selectShard } from "./shard";

export interface DeployResult {
  /**
   * Stack outputs: per kind, name -> id or fingerprint (plain records of outputs, so each keeps
   * its own secretness); `integrations`: id -> what the platform needs; `generatedSecrets` (secret).
   */
  outputs: Record<string, unknown>;
  /** The declared resources by Pulumi name. */
  resources: Record<string, pulumi.Resource>;
  /** Where each of them is declared: its entry's position in the manifest, by Pulumi name. */
  declaredAt: Record<string, Loc>;
  /** Where the fields of each one's entry are, by Pulumi name. */
  fieldsAt: Record<string, Record<string, Loc>>;
}

export interface DeployOptions {
  /**
   * Resolves a secret reference instead of stack config and the environment (`plan` gives a
   * placeholder: it never needs a secret's value).
   */
  secret?: (ref: SecretRef) => pulumi.Output<string>;
  /**
   * Where the rules a resource breaks at level `warn` are said, once per resource. Default:
   * Pulumi's log (`pulumi up`, `preview`), nothing without an engine (plan reports findings itself).
   */
  warn?: Warn;
  /**
   * Declare one shard of the manifest: `workspace=W` (Cloud), `project=P` (Data Center) or
   * `account` (manifest/shard.ts says where each entry lands). Default: every entry. The program of
   * Pulumi.yaml reads it from stack config `only`.
   */
  only?: string;
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
  const restore = withoutStackTraces();
  try {
    const result = await declareAll(m, repos, opts);
    // Until every registration has settled: the SDK's promises keep coming until then.
    const urns = Object.values(result.resources).map((r) => (r.urn as unknown as Settling).promise());
    void Promise.allSettled(urns).then(restore);
    return result;
  } catch (e) {
    restore();
    throw e;
  }
}

/** Output's own promise (internal to the SDK, there at run time): settles with the registration. */
interface Settling {
  promise(): Promise<unknown>;
}

let quiet = 0;
let savedLimit = Error.stackTraceLimit;

/**
 * Turns off the stack trace the SDK records with every promise it tracks (about 30 per resource,
 * for leak reports: `runtime/debuggable.js`), mapped through source maps under ts-node: half of
 * `up`'s CPU on a large stack (BENCHMARKS.md). Resource source positions are unaffected: the SDK
 * lifts the limit for the one trace it takes per resource (`Resource.callsites`). Returns the
 * restore, which puts the limit back when the last overlapping program is done with it.
 */
function withoutStackTraces(): () => void {
  if (quiet++ === 0) {
    savedLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--quiet === 0) Error.stackTraceLimit = savedLimit;
  };
}

async function declareAll(
  m: Manifest,
  repos: RepoLister | undefined,
  opts: DeployOptions,
): Promise<DeployResult> {
  // The listing runs in the program, which the provider's `configure` never reaches: give it the
  // stack's bitbucket:* config too (values stay in this process's memory).
  setProviderConfig((k) => pulumi.runtime.getConfig(k));
  // Offline (validate), the connection is not used.
  const mismatch = repos?.placeholders ? undefined : connectionProblem(m);
  if (mismatch) throw manifestError([mismatch]);
  const shard = opts.only !== undefined ? selectShard(m, opts.only) : m;
  const lister = repos ?? (await listRepositories(containersToList(shard), m.flavor));
  const specs = expand(shard, lister);
  const secret = readSecrets(m, specs, opts);
  const resources: Record<string, pulumi.Resource> = {};
  const declaredAt: Record<string, Loc> = {};
  const fieldsAt: Record<string, Record<string, Loc>> = {};
  const out: Record<string, Record<string, unknown>> = {};
  const secretOuts: Record<string, Record<string, pulumi.Output<string | undefined>>> = {};
  const consumers = new Map<string, OAuthConsumer>();
  // One place hands `policy:` (when the manifest has one: nothing new otherwise) to every resource,
  // an integration's children too (they inherit their parent's transformations), and says its warnings.
  const policy = policyTransformation(m.policy, { file: m.file, ...(opts.warn && { warn: opts.warn }) });
  for (const s of specs) {
    const entry = entryOf(m, s);
    const ctx: DeclareContext = {
      ...placement(s, m.flavor),
      secret: (ref, field) => secret(ref, entry, field),
      opts: { ...optsOf(s, entry), transformations: [policy] },
      consumers,
    };
    const d = kindOf(s.kind).declare(s, entry, ctx);
    resources[s.name] = d.resource;
    declaredAt[s.name] = s.loc;
    fieldsAt[s.name] = entry.at;
    (out[s.kind] ??= {})[d.outputKey ?? s.name] = d.output;
    for (const [output, v] of Object.entries(d.secretOutputs ?? {})) (secretOuts[output] ??= {})[s.name] = v;
  }
  const outputs: Record<string, unknown> = {};
  for (const { key } of KINDS) if (out[key]) outputs[key] = out[key];
  for (const [output, values] of Object.entries(secretOuts))
    outputs[output] = pulumi.secret(pulumi.all(values));
  return { outputs, resources, declaredAt, fieldsAt };
}

/**
 * The entry a spec was expanded from. A shard's lists (shard.ts) hold some entries, each with its
 * index in the whole manifest: found by that index (the lists stay in order).
 */
function entryOf(m: Manifest, s: Spec): Entry {
  const list = m[s.kind] as Entry[];
  if (list[s.index]?.index === s.index) return list[s.index]!;
  let [lo, hi] = [0, list.length - 1];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.index < s.index) lo = mid + 1;
    else hi = mid;
  }
  return list[lo]!;
}

/** Where a spec's resource lives, as its kind's declare reads it. */
function placement(
  s: Spec,
  flavor: Flavor,
): Pick<DeclareContext, "dc" | "flavorArg" | "where" | "cloudWhere"> {
  const dc = flavor === "datacenter";
  /** Data Center resources say so (Cloud's inputs stay as they were: no diff for existing stacks). */
  const flavorArg = dc ? { flavor: "datacenter" as const } : {};
  const repository = s.repository !== undefined ? { repository: s.repository } : {};
  const cloudWhere = { workspace: s.workspace ?? "", ...repository };
  const where = dc ? { ...flavorArg, project: s.project, ...repository } : cloudWhere;
  return { dc, flavorArg, where, cloudWhere };
}

/** Resource options an entry asks for: retainOnDelete, and aliases of names earlier versions gave. */
function optsOf(s: Spec, e: { retainOnDelete?: boolean }): pulumi.CustomResourceOptions {
  return {
    ...(e.retainOnDelete !== undefined && { retainOnDelete: e.retainOnDelete }),
    ...(s.aliases && { aliases: s.aliases.map((name) => ({ name })) }),
  };
}

// ---- secrets ------------------------------------------------------------------------------------

type SecretOf = (ref: SecretRef, e: Entry, field: string) => pulumi.Output<string>;

/**
 * Reads every secret reference of the declared entries before anything is declared, so a missing
 * one stops the run with every other; returns the secret a field refers to (read once per field).
 */
function readSecrets(m: Manifest, specs: Spec[], opts: DeployOptions): SecretOf {
  const problems: Problem[] = [];
  const secrets = new Map<string, pulumi.Output<string>>();
  /** The secret `field` of entry `e` refers to; its position is the field's (or the nearest known). */
  const secret: SecretOf = (ref, e, field) => {
    const key = `${e.loc.path}.${field}`;
    const near = [field, field.replace(/\.[^.]*$/, ""), field.split(".")[0]!].find((f) => e.at[f]);
    const loc = { ...(near !== undefined ? e.at[near]! : e.loc), path: key };
    if (!secrets.has(key)) secrets.set(key, opts.secret ? opts.secret(ref) : secretOf(ref, loc, problems));
    return secrets.get(key)!;
  };
  for (const s of specs) {
    const e = entryOf(m, s);
    for (const [field, ref] of refsIn(e)) secret(ref, e, field);
  }
  if (problems.length) throw manifestError(problems);
  return secret;
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

/** Every secret reference in an entry, at any depth, with its path (`options.webhooks[0].secret`). */
function refsIn(v: unknown, path = ""): Array<[string, SecretRef]> {
  if (isSecretRef(v)) return [[path, v]];
  const join = (k: string | number) => (typeof k === "number" ? `${path}[${k}]` : path ? `${path}.${k}` : k);
  if (Array.isArray(v)) return v.flatMap((x, i) => refsIn(x, join(i)));
  if (v && typeof v === "object")
    return Object.entries(v)
      .filter(([k]) => k !== "at" && k !== "loc")
      .flatMap(([k, x]) => refsIn(x, join(k)));
  return [];
}

// ---- the connection and its repositories --------------------------------------------------------

/** Every workspace or project the manifest's selectors need listed (lists of slugs need none). */
function containersToList(m: Manifest): string[] {
  const needs = new Set<string>();
  for (const kind of KINDS) {
    for (const e of m[kind.key] as Placed[]) {
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
