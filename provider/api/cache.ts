// The read cache: each collection (a repository's hooks, its variables, a user's SSH keys...) is
// listed once per run and every read and adoption lookup in it is served from that list. Single
// objects read often and never written by us (a repository, a workspace, the account the
// credentials act as) are kept the same way.
//
// Pulumi runs a refresh's reads, and a stack's creates, all at once, and a stack usually holds
// several objects of one kind per repository: one listing instead of one GET per object keeps a
// large run inside Bitbucket's hourly request limit. The rules:
// - one listing in flight per collection; callers arriving meanwhile share it;
// - our own write that succeeded patches the kept listing: a POST or PUT to the collection itself
//   adds its answer (or replaces the item with the answer's id: Data Center makes an access token
//   with a PUT to the collection), a PUT or POST to an item, or below it, whose answer is that item
//   (the same id) replaces it (a Data Center token's update is a POST to it, an access key's
//   permission a PUT below it), a DELETE of an item (or one answered 404) removes it (so several
//   creates, updates and deletes in one collection share one listing however they interleave);
// - a successful write answered while the listing is still under way is applied the same way when
//   the listing arrives: a listing that came in one answer saw the write wholly before or wholly
//   after it, and the patch is right either way (an item added or replaced by its id, a deleted one
//   removed), so one listing serves however the answers interleave and `plan`'s bill holds; a
//   listing of several pages may have skipped an item a write moved across a page, so it is dropped;
// - any other write outcome (refused, lost: it may have happened) drops it, so the next read lists
//   again;
// - a failed listing is not kept; a kept one expires after TTL_MS, so a run that waits on the rate
//   limit never decides from an old picture;
// - the key holds the API URL and a hash of the credentials (another token may see less).
// The cache lives on globalThis (shared.ts): one per dynamic-provider host, that is one per run.

import * as crypto from "crypto";
import { credentialsOf, type Settings } from "./auth";
import { processWide } from "./shared";

export const TTL_MS = 60_000;

interface Entry {
  value: Promise<unknown>;
  /** When the answer arrived (epoch ms); undefined while it is in flight. */
  at?: number;
  /** A collection's items, once arrived (what our writes patch). */
  items?: readonly unknown[];
  /** A single object: only a write to its own path drops it, not one to a path below it. */
  single: boolean;
  /** Our writes answered while the listing was under way, applied in order when it arrives. */
  pending?: Patch[];
}

/** A write's change to a listing: the items after it, or undefined when it cannot be told (drop). */
type Patch = (items: readonly unknown[]) => readonly unknown[] | undefined;

/** A listing and the requests (pages) it took; a listing given as a bare array took one. */
export interface Paged<T> {
  items: T[];
  pages: number;
}

/**
 * The kept entries, by key (`apiUrl \n who \n path`), with two indexes so that a write finds the
 * listings it touches in time proportional to its path's depth, not to everything kept: the keys
 * at each path (queries aside) and the keys below each path.
 */
class Kept {
  private readonly byKey = new Map<string, Entry>();
  private readonly at = new Map<string, Set<string>>();
  private readonly below = new Map<string, Set<string>>();

  get(key: string): Entry | undefined {
    return this.byKey.get(key);
  }

  set(key: string, entry: Entry): void {
    if (!this.byKey.has(key))
      this.index(key, (map, k) => (map.get(k) ?? map.set(k, new Set()).get(k)!).add(key));
    this.byKey.set(key, entry);
  }

  delete(key: string): void {
    if (this.byKey.delete(key))
      this.index(key, (map, k) => {
        const keys = map.get(k)!;
        keys.delete(key);
        if (keys.size === 0) map.delete(k);
      });
  }

  clear(): void {
    for (const m of [this.byKey, this.at, this.below]) m.clear();
  }

  /** The keys at `path` (any query) on `apiUrl`, and those below it. */
  atPath = (apiUrl: string, path: string) => this.at.get(`${apiUrl}\n${path}`) ?? [];
  belowPath = (apiUrl: string, path: string) => this.below.get(`${apiUrl}\n${path}`) ?? [];

  private index(key: string, update: (map: Map<string, Set<string>>, k: string) => void): void {
    const [api, , named = ""] = key.split("\n");
    const path = pathOf(named);
    update(this.at, `${api}\n${path}`);
    for (const above of ancestors(path)) update(this.below, `${api}\n${above}`);
  }
}

/** The paths above `path`, nearest first: "/a/b/c" -> "/a/b", "/a", "". */
function* ancestors(path: string): Generator<string> {
  for (let i = path.lastIndexOf("/"); i >= 0; i = path.lastIndexOf("/", i - 1)) {
    yield path.slice(0, i);
    if (i === 0) return;
  }
}

const entries = () => processWide("listings", () => new Kept());

/**
 * A collection path as a key: no trailing slash, case-folded (Bitbucket folds slugs). A query
 * stays: it can name the collection (Data Center's `/rest/ssh/latest/keys?user=alice`).
 */
const normalize = (path: string) => {
  const [p = "", q] = path.replace(/#.*$/, "").split("?", 2);
  const base = p.replace(/\/+$/, "").toLowerCase();
  return q ? `${base}?${q.toLowerCase()}` : base;
};

/** The path part of a key, without its query. */
const pathOf = (key: string) => key.replace(/\?.*$/, "");

/**
 * Whose view a listing is: the API URL and a hash of the credentials (never the credentials).
 * Hashed once per settings object (loadSettings hands out the same one while nothing changes).
 */
function viewOf(s: Settings): string {
  let view = views.get(s);
  if (view === undefined) views.set(s, (view = hashView(s)));
  return view;
}

const views = new WeakMap<Settings, string>();

function hashView(s: Settings): string {
  const who = crypto
    .createHash("sha256")
    .update(JSON.stringify(credentialsOf(s)))
    .digest("hex")
    .slice(0, 16);
  return `${s.apiUrl}\n${who}`;
}

/**
 * The collection at `path`, from the cache or from `list()` (then kept). `fresh` lists again
 * even when a listing is kept (a lookup right after a write whose answer was lost). `list` says
 * how many pages it took (`Paged`), or gives the items alone: one answer.
 */
export function cachedList<T>(
  s: Settings,
  path: string,
  list: () => Promise<T[] | Paged<T>>,
  opts: { fresh?: boolean; now?: () => number } = {},
): Promise<readonly T[]> {
  return remember(s, path, list, opts, false) as Promise<readonly T[]>;
}

/** The single object at `path` (a repository, `/user`), from the cache or from `get()`. */
export function cachedObject<T>(s: Settings, path: string, get: () => Promise<T>): Promise<T> {
  return remember(s, path, get, {}, true);
}

function remember<T>(
  s: Settings,
  path: string,
  read: () => Promise<T>,
  opts: { fresh?: boolean; now?: () => number },
  single: boolean,
): Promise<T> {
  const now = opts.now ?? Date.now;
  let view: string;
  try {
    view = viewOf(s);
  } catch {
    return read(); // no credentials: let the request explain that
  }
  const key = `${view}\n${normalize(path)}`;
  const map = entries();
  const hit = map.get(key);
  if (hit && !opts.fresh && (hit.at === undefined || now() - hit.at < TTL_MS)) {
    return hit.value as Promise<T>;
  }
  const entry: Entry = { value: Promise.resolve(), single };
  const drop = () => void (map.get(key) === entry && map.delete(key));
  entry.value = read().then(
    (v) => {
      if (single) {
        entry.at = now();
        return v;
      }
      const listed = Array.isArray(v) ? { items: v as unknown[], pages: 1 } : (v as Paged<unknown>);
      const pending = entry.pending ?? [];
      delete entry.pending;
      // Several pages: a write meanwhile may have moved an item across a page, unseen.
      let items: readonly unknown[] | undefined =
        pending.length && listed.pages > 1 ? undefined : listed.items;
      for (const patch of pending) items = items && patch(items);
      if (items === undefined) drop();
      else Object.assign(entry, { at: now(), items, value: Promise.resolve(items) });
      return items ?? listed.items;
    },
    (e: unknown) => {
      drop();
      throw e;
    },
  );
  map.set(key, entry);
  return entry.value as Promise<T>;
}

/**
 * Every kept listing on `apiUrl` a write to `path` touches, and how: the collection itself (exact),
 * an item of it (`item`: its id, the path's next segment; `below`: the path goes on past it), or more.
 */
function touched(
  apiUrl: string,
  path: string,
): Array<{ key: string; item?: string; below?: boolean; exact: boolean }> {
  const kept = entries();
  const named = normalize(path);
  const written = pathOf(named);
  const out = [];
  for (const key of kept.atPath(apiUrl, written)) {
    if (key.endsWith(`\n${named}`)) out.push({ key, exact: true });
    // The same collection under another query (another user's keys): drop it.
    else if (!kept.get(key)!.single) out.push({ key, exact: false });
  }
  for (const collection of ancestors(written)) {
    const rest = written.slice(collection.length + 1);
    for (const key of kept.atPath(apiUrl, collection)) {
      if (kept.get(key)!.single) continue;
      const [item = "", ...more] = rest.split("/");
      out.push({ key, exact: false, item: decodeURIComponent(item), below: more.length > 0 });
    }
  }
  // What lies below the path written (a repository's listings, when the repository goes).
  for (const key of kept.belowPath(apiUrl, written))
    if (!kept.get(key)!.single) out.push({ key, exact: false });
  return out;
}

/** Drops every listing a write to `path` may have changed (it failed, or its answer was lost). */
export function forgetWritten(apiUrl: string, path: string): void {
  for (const t of touched(apiUrl, path)) entries().delete(t.key);
}

/**
 * Bitbucket's id of a listed object: `uuid` (Cloud hooks, variables, SSH keys...), `id` (deploy
 * keys, Data Center hooks and user keys) or `key.id` (Data Center access keys); as `itemId` has it.
 */
const idOf = (o: unknown) => {
  const r = o as { uuid?: unknown; id?: unknown; key?: { id?: unknown } } | null;
  return itemId(String(r?.uuid ?? r?.id ?? (typeof r?.key === "object" ? r.key?.id : undefined) ?? ""));
};

/** An id as paths and listings both name it: case-folded, without a uuid's braces (Cloud takes a path's either way). */
const itemId = (id: string) => id.toLowerCase().replace(/^\{(.*)\}$/, "$1");

/**
 * Brings the kept listings a successful write changed up to date with its answer (or, for one still
 * under way, when it arrives):
 * - a POST or PUT to the collection itself answered with an object adds it, or replaces the item
 *   with its id (a PUT answered without an id is not known to be one item: dropped);
 * - a PUT or POST to an item, or to a path below it, answered with that item (the same id)
 *   replaces it: the answer is the item as it now is;
 * - a DELETE of an item (or one answered 404: client.ts) removes it, if the listing has it.
 * What cannot be patched that way (a write to an item not in it, an answer that is not the item, a
 * DELETE below an item, a single object) is dropped. Ids compare as `itemId` has them; a DELETE
 * names its item by the id its listing has (ours do: hooks, keys, variables and tokens by uuid or
 * id; nothing here deletes a repository, which a path names by slug).
 */
export function patchWritten(apiUrl: string, method: string, path: string, answer: unknown): void {
  const map = entries();
  const written = answer !== null && typeof answer === "object" ? answer : undefined;
  const answerId = written === undefined ? "" : idOf(written);
  const writes = method === "POST" || method === "PUT";
  const has = (items: readonly unknown[], id: string) => id !== "" && items.some((i) => idOf(i) === id);
  const replaced = (items: readonly unknown[], id: string) =>
    items.map((i) => (idOf(i) === id ? written : i));
  for (const t of touched(apiUrl, path)) {
    const entry = map.get(t.key)!;
    const item = itemId(t.item ?? "");
    let patch: Patch | undefined;
    if (t.exact && writes && written !== undefined && (answerId !== "" || method === "POST"))
      patch = (items) => (has(items, answerId) ? replaced(items, answerId) : [...items, written]);
    else if (!t.exact && item !== "" && method === "DELETE" && !t.below)
      patch = (items) => items.filter((i) => idOf(i) !== item); // gone; a listing without it already says so
    else if (!t.exact && item !== "" && writes && answerId === item)
      patch = (items) => (has(items, item) ? replaced(items, item) : undefined);
    const next = patch && entry.items && patch(entry.items);
    if (next) Object.assign(entry, { items: next, value: Promise.resolve(next) });
    else if (patch && !entry.single && entry.at === undefined) (entry.pending ??= []).push(patch);
    else map.delete(t.key);
  }
}

/** Forgets everything kept: a command run in a long-lived process (tests, the demo) reads afresh. */
export function clearCache(): void {
  entries().clear();
}
