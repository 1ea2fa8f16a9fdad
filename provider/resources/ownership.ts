// Who owns what. Three rules keep a run from taking over, rewriting or deleting an object that
// is not its own (DECISIONS.md "The adoption policy"):
//
// 1. Adoption. Create looks for an object with the same natural key first. It adopts silently
//    only an object identical to the declaration; one that differs, or whose write-only part
//    (a webhook secret, a secured value, a private key) cannot be compared, stops the run with
//    zero writes unless the declaration says `adopt: true`. Our own POST whose answer was lost
//    is found the same way and is ours: it is adopted without asking.
// 2. Claims. One dynamic-provider host serves a whole `pulumi up`, so a process-wide registry
//    (on globalThis) records which resource of this run manages which object and natural key.
//    A second resource reaching for the same one fails, naming both.
// 3. No delete of a held object. When a replacement adopted the very object its old resource
//    points at (an alias of the same workspace, say), or a resource of the program keeps an
//    object that a record left by an earlier, failed run also points at (a renamed entry that
//    adopted it), the engine's delete of the old record would destroy it: delete skips any object
//    another resource of this run adopted, updated or keeps (diff records what each keeps).

import { getCached } from "../api/client";
import { projectPath, repositoryPath, workspacePath, type Location } from "../api/cloud";
import { notice, processWide } from "../api/shared";
import {
  changedFields,
  LOCATION_FIELDS,
  mayHaveCommitted,
  findAfterWrite,
  withContext,
  type CheckFailure,
} from "./common";

/** What every resource's inputs carry besides its own fields. */
export interface Ownership {
  /** Take over an existing object that differs from the declaration. Default false. */
  adopt: boolean;
  /** The Pulumi resource name, for messages that name both sides of a conflict. */
  resourceName?: string;
}

/** Reads `adopt` and `resourceName` from raw inputs (check), reporting a non-boolean adopt. */
export function ownershipOf(raw: Record<string, unknown>, failures: CheckFailure[]): Ownership {
  if (raw.adopt !== undefined && typeof raw.adopt !== "boolean") {
    failures.push({ property: "adopt", reason: "adopt must be true or false" });
  }
  return {
    adopt: raw.adopt === true,
    ...(typeof raw.resourceName === "string" && { resourceName: raw.resourceName }),
  };
}

interface Claim {
  resource: string | undefined;
  /** "held": diffed without a replace, so the resource keeps the object this run (rule 3). */
  how: "created" | "adopted" | "updated" | "held";
}

const registry = () => processWide("claims", () => new Map<string, Claim>());

const named = (r: string | undefined) => (r === undefined ? "an unnamed resource" : `"${r}"`);

/**
 * Records that `resource` manages `key` (an object, or a natural key) in this run. Throws when
 * another resource already does: two declarations of one object overwrite each other, and a
 * destroy of one deletes the other's object.
 */
export function claim(key: string, what: string, resource: string | undefined, how: Claim["how"]): void {
  const before = registry().get(key);
  if (before && before.resource !== resource) {
    throw new Error(
      `${what} is declared by two resources of this stack, ${named(before.resource)} and ${named(resource)}: they would overwrite each other, and deleting one would delete the other's object; keep one declaration`,
    );
  }
  registry().set(key, { resource, how: before?.how === "adopted" ? "adopted" : how });
}

/**
 * What a resource's diff finds for an object the stack holds (its state against the new inputs):
 * every field that changed, replace-on ones included, and those among them that replace it. Each
 * resource's `changesOf` computes it for its `diff`, and `bitbucket-iac plan --state` calls the same
 * function: one copy of the rules.
 */
export interface Changes {
  changed: string[];
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** The engine's diff result for `c`. */
export const diffOf = (c: Changes) => ({
  changes: c.changed.length > 0,
  replaces: c.replaces,
  deleteBeforeReplace: c.deleteBeforeReplace,
});

/**
 * Diff's part in rule 3. A resource whose diff keeps its object (no replace) holds that object in
 * this run. The engine diffs every resource the program declares before it deletes any resource
 * the program no longer declares, so a delete sees every holder, even across runs: a record left
 * by an earlier, failed run that points at the same object is dropped without deleting it.
 * Returns the diff unchanged.
 */
export function holdUnlessReplaced<D extends { replaces: string[] }>(
  diff: D,
  key: string,
  resource: string | undefined,
): D {
  if (diff.replaces.length === 0 && !registry().has(key)) registry().set(key, { resource, how: "held" });
  return diff;
}

/** Whether any resource of this run holds an object whose key starts with `prefix` (no call needed otherwise). */
export const holdsAny = (prefix: string): boolean =>
  [...registry()].some(([key, c]) => key.startsWith(prefix) && c.how !== "created");

/**
 * Whether delete must leave `key` alone: another resource of this run holds it. Either a
 * replacement adopted it (the engine deletes the old resource after creating its replacement),
 * or a resource of the program keeps it (diffed without replace, or updated) while the engine
 * deletes a record that points at the same object. Only the record goes; the object stays.
 */
export function keptByThisRun(key: string, what: string): boolean {
  const c = registry().get(key);
  if (c === undefined || c.how === "created") return false;
  notice(
    c.how === "adopted"
      ? `not deleting ${what}: ${named(c.resource)} adopted it in this run (a replacement that found the same object), so it stays`
      : `not deleting ${what}: ${named(c.resource)} holds it in this stack (this record, left by an earlier run, points at the same object), so only the record is removed`,
  );
  return true;
}

/** A field's value as plan shows it and `--format json` carries it: JSON, never a secret. */
export type Value = string | number | boolean | readonly string[] | null;

/**
 * What Bitbucket says of a write-only part (a secret, a secured value): only whether one is set.
 * `generated`: bitbucket-iac makes one.
 */
export type Presence = "set" | "none" | "unknown" | "generated";

/**
 * How an existing object differs from its declaration, field by field: Bitbucket's value and the
 * declared one as JSON values (never a secret), or a write-only part, of which only its presence
 * is known. A write-only part with neither side known cannot be compared (it is sent again).
 */
export type Difference =
  | { field: string; live: Value; declared: Value }
  | { field: string; writeOnly: true; live?: Presence; declared?: Presence };

/** A value as people read it: text quoted (JSON), a list in brackets, anything else as it is. */
export const shown = (v: Value): string =>
  Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]` : JSON.stringify(v);

/**
 * Fields whose value `pulumi up`'s messages never show, plain or not (no variable value in any
 * message, log or snapshot: STYLE.md); `bitbucket-iac plan`, a review made on purpose, shows plain ones.
 */
const NOT_IN_MESSAGES = new Set(["value"]);

/**
 * The difference as the adoption messages say it: `events: ["repo:push"] in Bitbucket`. A
 * write-only part set on both sides is a known difference (a plain value about to be secured).
 */
export const said = (d: Difference): string =>
  "writeOnly" in d
    ? d.declared === undefined
      ? `${d.field}: set in Bitbucket, write-only, cannot be compared`
      : d.live === "set" && d.declared === "set"
        ? `${d.field}: another value in Bitbucket` // a plain value about to be secured
        : `${d.field}: ${d.live === "unknown" || d.live === undefined ? "unknown (not returned)" : d.live} in Bitbucket`
    : `${d.field}: ${NOT_IN_MESSAGES.has(d.field) ? "another value" : shown(d.live)} in Bitbucket`;

/**
 * Where a declaration's object would be found by its natural key, and how one found compares.
 * Create (below) and `bitbucket-iac plan` both start from it: one copy of the rules.
 */
export interface Lookup<T> {
  /** The object, for messages: `webhook https://... on acme/api`. */
  what: string;
  /** Its natural key as declared (claimed before anything is sent), e.g. `Webhook:acme/api:<url>`. */
  natural: string;
  /**
   * What `find` reads through the run's read cache (cache.ts): the collection it lists (and a
   * single object such as `/user`), each read once per run however many lookups share it. Absent
   * when `find` sends a GET of its own every time (a key pair). `bitbucket-iac plan` bills them.
   */
  reads?: readonly string[];
  /**
   * The object with this natural key, from the run's listing of its collection (cache.ts: one
   * listing shared by every read and lookup); `fresh` lists again (after a write whose answer was lost).
   */
  find(fresh?: boolean): Promise<T | undefined>;
  /** How an existing object differs from the declaration; a write-only part that cannot be compared counts. */
  differences(t: T): Difference[];
}

export interface CreateOrAdopt<T, O> extends Lookup<T> {
  ownership: Ownership;
  /** The POST; never repeated. */
  post: () => Promise<T>;
  /** The result for an object the POST created. */
  created: (t: T) => { id: string; outs: O } | Promise<{ id: string; outs: O }>;
  /** Brings an existing object to the declared state (no write when nothing differs). */
  adopt: (t: T) => Promise<{ id: string; outs: O }>;
  /** The registry key of an object: its type and Bitbucket's own id. */
  key: (t: T) => string;
  /** Errors that mean "it exists already" (e.g. 409 on a unique key): the object appeared meanwhile. */
  exists?: (e: unknown) => boolean;
}

/**
 * The create rule every resource follows: adopt per the policy above rather than duplicate;
 * never repeat a POST; after a POST whose answer was lost, look the object up and keep it (it is
 * ours); otherwise fail with the POST's error.
 */
export async function createOrAdopt<T, O>(c: CreateOrAdopt<T, O>): Promise<{ id: string; outs: O }> {
  const who = c.ownership.resourceName;
  claim(c.natural, c.what, who, "created");
  let existing: T | undefined;
  try {
    existing = await c.find();
  } catch (e) {
    throw withContext(e, `create ${c.what}`);
  }
  if (existing !== undefined) return adoptExisting(c, existing);
  let posted: T;
  try {
    posted = await c.post();
  } catch (e) {
    const lost = mayHaveCommitted(e);
    if (!lost && !c.exists?.(e)) throw withContext(e, `create ${c.what}`);
    // The list may lag the write: look again, past the cache, a few times.
    const found = await findAfterWrite(() => c.find(true));
    if (found === undefined) throw withContext(e, `create ${c.what}`);
    if (!lost) return adoptExisting(c, found); // 409: someone else's, made meanwhile
    claim(c.key(found), c.what, who, "created");
    return c.adopt(found); // our own POST, whose answer was lost
  }
  claim(c.key(posted), c.what, who, "created");
  return c.created(posted);
}

async function adoptExisting<T, O>(c: CreateOrAdopt<T, O>, t: T): Promise<{ id: string; outs: O }> {
  const differs = c.differences(t).map(said);
  if (differs.length > 0 && !c.ownership.adopt) throw takeoverRefused(c.what, differs);
  claim(c.key(t), c.what, c.ownership.resourceName, "adopted");
  const r = await c.adopt(t);
  notice(
    `adopted the existing ${c.what} (${r.id})${differs.length ? `, changing ${differs.join("; ")}` : ": identical to the declaration"}`,
  );
  return { id: r.id, outs: { ...r.outs, adopted: true } };
}

/** The policy's refusal: the object exists, differs, and the declaration did not say adopt: true. */
export function takeoverRefused(what: string, differs: string[]): Error {
  return new Error(
    `create ${what}: it already exists in Bitbucket and differs from this declaration (${differs.join("; ")}). ` +
      "Nothing was changed. To take it over and bring it to the declared state, set adopt: true on this entry " +
      "(manifest) or resource; otherwise remove it in Bitbucket or declare it as it is",
  );
}

/** A write-only part Bitbucket holds but never returns: it cannot be compared with the declaration. */
export const writeOnly = (field: string): Difference => ({ field, writeOnly: true });

// ---- aliases of one workspace, repository or project ----------------------------------------
//
// `workspace: {uuid}` for `workspace: acme` names the same place; so does `repository: API` for
// `api`. Diff compares the text case-insensitively without a call; only when the text of a
// location field really differs does it ask Bitbucket what both name (cached per run), and a
// move to the same uuids is no change. No-op previews stay free, and old state needs nothing new.
// When the lookup fails the change is a replace, which rule 3 above keeps from deleting anything.

interface ApiWorkspace {
  slug: string;
  uuid: string;
}
interface ApiRepository {
  uuid: string;
  full_name?: string;
  workspace?: ApiWorkspace;
}

/**
 * The slugs and uuids of where an object lives. Best effort: without the scope to read the
 * repository or project (or when it no longer exists) it is undefined.
 */
export async function locationOf(w: {
  workspace: string;
  repository?: string;
  project?: string;
}): Promise<Location | undefined> {
  try {
    if (w.repository !== undefined) {
      const r = await getCached<ApiRepository>(repositoryPath(w.workspace, w.repository));
      const ws = r.workspace ?? (await getCached<ApiWorkspace>(workspacePath(w.workspace)));
      const slug = r.full_name?.split("/")[1] ?? w.repository;
      return { workspace: ws.slug, workspaceUuid: ws.uuid, repository: slug, repositoryUuid: r.uuid };
    }
    const ws = await getCached<ApiWorkspace>(workspacePath(w.workspace));
    if (w.project === undefined) return { workspace: ws.slug, workspaceUuid: ws.uuid };
    const p = await getCached<{ key: string; uuid: string }>(projectPath(w.workspace, w.project));
    return { workspace: ws.slug, workspaceUuid: ws.uuid, project: p.key, projectUuid: p.uuid };
  } catch {
    return undefined;
  }
}

/**
 * The replace-on fields that really changed: changedFields (location text compared ignoring
 * case), less workspace/repository/project values that are aliases of the same place.
 */
export async function replacedFields<K extends string>(
  fields: readonly K[],
  olds: Partial<Record<K, unknown>>,
  news: Partial<Record<K, unknown>>,
): Promise<K[]> {
  const changed = changedFields(fields, olds, news);
  if (!changed.some((k) => LOCATION_FIELDS.includes(k))) return changed;
  const where = (o: { workspace?: unknown; repository?: unknown; project?: unknown }) => ({
    workspace: String(o.workspace ?? ""),
    ...(typeof o.repository === "string" && { repository: o.repository }),
    ...(typeof o.project === "string" && { project: o.project }),
  });
  const [a, b] = await Promise.all([locationOf(where(olds)), locationOf(where(news))]);
  const same =
    a !== undefined &&
    b !== undefined &&
    a.workspaceUuid === b.workspaceUuid &&
    a.repositoryUuid === b.repositoryUuid &&
    a.projectUuid === b.projectUuid;
  return same ? changed.filter((k) => !LOCATION_FIELDS.includes(k)) : changed;
}
