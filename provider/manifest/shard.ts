// Shards: one stack per Bitbucket Cloud workspace or Data Center project, driven from one
// manifest. `only` names a shard, `workspace=W` (Cloud), `project=P` (Data Center) or `account`,
// and selectShard keeps that shard's entries; the same function serves `validate --only` and
// `plan --only` (cli/main.ts), and `pulumi up` through stack config `only` (program.ts) or
// deployManifest's `only` option (deploy.ts), so a shard means one thing everywhere.
//
// Where an entry lands (one rule, by where its resources live):
// - an entry in a workspace or project: that workspace (its own `workspace:`, else the top-level
//   one), or the project its resources are made in (Data Center: the project a `{ project: KEY }`
//   or `KEY/glob` selector names, else its `project:`, else the top-level one). OAuth consumers
//   and integrations are in their workspace or project too; an integration's children (the
//   webhooks, keys, variables and tokens its preset makes, an account SSH key included) are its
//   own, so they land with it;
// - the account's entries (`sshKeys:`, Data Center's personal access tokens `user:`): `account`,
//   a shard of its own (its stack runs with the credentials of that account).
// With sharding, every entry must land in exactly one shard, else the manifest is refused at the
// entry, saying what to do: a Data Center entry in two projects (`projects: [A, B]`, a list of
// repositories applied in each) is split into one entry per project; an integration whose OAuth
// consumer is in another workspace would have it declared in no stack or two. And a shard run
// checks the whole manifest offline (as `validate` does), so two shards that would manage one
// object (an integration's account SSH key, also an `sshKeys:` entry) are refused in every shard.
// No network is touched.

import { KINDS, type Manifest } from "../kinds";
import type { Entry, Placed, Problem } from "../kinds/kind";
import { closeMatches } from "../suggest";
import { expand, lookups } from "./expand";
import { manifestError } from "./load";

/** The shard of the account's entries (SSH keys, personal access tokens). */
export const ACCOUNT = "account";

/** One shard: its name as `only` takes it (`workspace=acme`, `project=PROJ`, `account`) and its entries. */
export interface ShardSummary {
  name: string;
  /** How many entries land in it (0: the top-level workspace or project with no entry of its own). */
  entries: number;
}

/** Where every entry lands, and what keeps an entry from landing in exactly one shard. */
export interface Partition {
  /** The shards, in the manifest's order (first mention), `account` last. */
  shards: ShardSummary[];
  /** Each entry's shard, by its kind and index; an entry with a problem has none. */
  of: Map<string, string>;
  problems: Problem[];
}

export const ONLY_ERROR = "BITBUCKET_IAC_ONLY";

/** A wrong `only` (unknown key, a shard the manifest does not have): `why` says it, for each caller's words. */
export interface OnlyError extends Error {
  code: typeof ONLY_ERROR;
  why: string;
}

export const isOnlyError = (e: unknown): e is OnlyError =>
  typeof e === "object" && e !== null && (e as { code?: unknown }).code === ONLY_ERROR;

const onlyError = (only: string, why: string): OnlyError =>
  Object.assign(new Error(`only "${only}": ${why}`), { code: ONLY_ERROR as typeof ONLY_ERROR, why });

/** An entry's identity in the partition. */
const entryKey = (kind: string, index: number) => `${kind}[${index}]`;

/** Workspace slugs and project keys ignore case (names.ts): one shard per folded name. */
const fold = (s: string) => s.toLowerCase();

/** The shard names an entry's resources live in (Data Center: each project it is made in). */
function landing(m: Manifest, kind: (typeof KINDS)[number], e: Entry): string[] {
  if (!kind.placed) return [ACCOUNT];
  if (m.flavor === "cloud") return [`workspace=${e.workspace}`];
  if ((e as { user?: unknown }).user !== undefined) return [ACCOUNT]; // a personal access token
  const placed = e as unknown as Placed;
  const projects =
    placed.repositories !== undefined
      ? lookups(placed, "datacenter").map((l) => l.container)
      : (e.projects ?? (e.project !== undefined ? [e.project] : []));
  const seen = new Map<string, string>();
  for (const p of projects) if (!seen.has(fold(p))) seen.set(fold(p), `project=${p}`);
  return [...seen.values()];
}

/** Where each entry of the manifest lands; problems for an entry in no shard or in two. */
export function partition(m: Manifest): Partition {
  const problems: Problem[] = [];
  const of = new Map<string, string>();
  const shards = new Map<string, ShardSummary>();
  const top = m.flavor === "cloud" ? m.workspace : m.project;
  const topName = `${m.flavor === "cloud" ? "workspace" : "project"}=${top}`;
  if (top !== undefined) shards.set(fold(topName), { name: topName, entries: 0 });
  for (const kind of KINDS) {
    for (const e of m[kind.key] as Entry[]) {
      const lands = landing(m, kind, e);
      if (lands.length !== 1) {
        problems.push({ loc: e.loc, message: placementProblem(lands) });
        continue;
      }
      const name = lands[0]!;
      const s = shards.get(fold(name)) ?? { name, entries: 0 };
      s.entries++;
      shards.set(fold(name), s);
      of.set(entryKey(kind.key, e.index), s.name);
    }
  }
  problems.push(...consumerProblems(m, of));
  const account = shards.get(ACCOUNT);
  shards.delete(ACCOUNT);
  return { shards: [...shards.values(), ...(account ? [account] : [])], of, problems };
}

function placementProblem(lands: string[]): string {
  if (lands.length === 0)
    return "this entry is in no project, so in no shard: give it `project: KEY` (or set `project:` at the top)";
  const projects = lands.map((l) => l.slice("project=".length));
  return `this entry is made in ${projects.length} projects (${projects.join(", ")}), so it would be in ${projects.length} shards (${lands.join(", ")}): a shard is one project; split it into one entry per project (${projects.map((p) => `\`project: ${p}\``).join(", ")})`;
}

/** An integration and its OAuth consumer must be in one shard: the integration's stack declares the consumer. */
function consumerProblems(m: Manifest, of: Map<string, string>): Problem[] {
  const problems: Problem[] = [];
  for (const i of m.integrations) {
    if (i.consumer === undefined) continue;
    const c = m.oauthConsumers.find((x) => x.id === i.consumer);
    const mine = of.get(entryKey("integrations", i.index));
    const theirs = c && of.get(entryKey("oauthConsumers", c.index));
    if (c === undefined || mine === undefined || theirs === undefined || fold(mine) === fold(theirs))
      continue;
    problems.push({
      loc: i.at.consumer ?? i.loc,
      message: `integration ${i.id} is in ${mine} but its OAuth consumer ${c.id} is in ${theirs}: with one stack per shard, ${mine} would not declare the consumer; declare one for ${mine.replace("=", " ")} (its own id) and name it here, or give both the same workspace`,
    });
  }
  return problems;
}

/** At most ten shard names, for messages. */
const listed = (shards: ShardSummary[]) =>
  `${shards
    .slice(0, 10)
    .map((s) => s.name)
    .join(", ")}${shards.length > 10 ? `, ... (${shards.length} in all)` : ""}`;

/** The shard `only` names, as the partition spells it; an OnlyError saying what is wrong, with "did you mean". */
export function shardNamed(m: Manifest, only: string, shards: ShardSummary[]): ShardSummary {
  const key = m.flavor === "cloud" ? "workspace" : "project";
  const other = m.flavor === "cloud" ? "project" : "workspace";
  const text = only.trim();
  const these = `this manifest's shards: ${shards.length ? listed(shards) : "none (it has no entries)"}`;
  if (text === "") throw onlyError(only, `name a shard: ${key}=NAME or ${ACCOUNT} (${these})`);
  const eq = text.indexOf("=");
  const [k, name] = eq < 0 ? [text, undefined] : [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
  if (k === ACCOUNT && name === undefined) {
    const s = shards.find((x) => x.name === ACCOUNT);
    if (s) return s;
    const what = m.flavor === "datacenter" ? "SSH keys, personal access tokens" : "SSH keys";
    throw onlyError(only, `no entry of this manifest belongs to the account (${what}); ${these}`);
  }
  if (k === other) {
    const its =
      m.flavor === "cloud"
        ? "Bitbucket Cloud: its shards are workspaces"
        : "flavor: datacenter: its shards are projects";
    throw onlyError(only, `this manifest is ${its}; give ${key}=NAME (${these})`);
  }
  if (k !== key) {
    const close = closeMatches(k, [key, ACCOUNT]);
    const meant = close[0] === ACCOUNT ? ACCOUNT : `${close[0]}=${name ?? "NAME"}`;
    const hint = close.length ? `; did you mean ${meant}?` : "";
    throw onlyError(only, `unknown shard key "${k}"${hint} (give ${key}=NAME or ${ACCOUNT})`);
  }
  if (!name) throw onlyError(only, `give the ${key}'s name: ${key}=NAME (${these})`);
  const found = shards.find((s) => fold(s.name) === fold(`${key}=${name}`));
  if (found) return found;
  const names = shards.filter((s) => s.name !== ACCOUNT).map((s) => s.name.slice(key.length + 1));
  const close = closeMatches(name, names);
  throw onlyError(
    only,
    `no entry of this manifest is in ${key} ${name}${close.length ? `; did you mean ${key}=${close[0]}?` : ""} (${these})`,
  );
}

/** The partition, or a ManifestError naming each entry that lands in no shard or in two. */
export function checkedPartition(m: Manifest): Partition {
  const p = partition(m);
  if (p.problems.length) throw manifestError(p.problems);
  // Objects two shards would both manage: the whole manifest, offline, as `validate` checks it.
  expand(m, () => undefined);
  return p;
}

/**
 * The manifest with the entries of the shard `only` names and no other (each keeps its index and
 * position, so messages still point into the whole file). Throws an OnlyError for a wrong `only`,
 * a ManifestError when an entry would land in no shard or in two.
 */
export function selectShard(m: Manifest, only: string): Manifest {
  return shardSelected(m, only).manifest;
}

/** selectShard's manifest, and the shard's name as the partition spells it (`workspace=acme`). */
export function shardSelected(m: Manifest, only: string): { manifest: Manifest; name: string } {
  const p = checkedPartition(m);
  const shard = shardNamed(m, only, p.shards);
  const selected = { ...m };
  for (const kind of KINDS) {
    const mine = (m[kind.key] as Entry[]).filter((e) => p.of.get(entryKey(kind.key, e.index)) === shard.name);
    (selected as Record<string, unknown>)[kind.key] = mine;
  }
  return { manifest: selected, name: shard.name };
}
