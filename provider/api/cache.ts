// The read cache: each collection (a repository's hooks, its variables, a user's SSH keys...) is
// listed once per run and every read and adoption lookup in it is served from that list.
//
// Pulumi runs a refresh's reads, and a stack's creates, all at once, and a stack usually holds
// several objects of one kind per repository: one listing instead of one GET per object keeps a
// large run inside Bitbucket's hourly request limit. The rules:
// - one listing in flight per collection; callers arriving meanwhile share it;
// - a write to the collection or to one of its items (POST, PUT, DELETE; answered or not, since
//   an unanswered write may have happened) drops it, so the next read lists again;
// - a failed listing is not kept; a kept one expires after TTL_MS, so a run that waits on the rate
//   limit never decides from an old picture;
// - the key holds the API URL and a hash of the credentials (another token may see less).
// The cache lives on globalThis (shared.ts): one per dynamic-provider host, that is one per run.

import * as crypto from "crypto";
import { credentialsOf, type Settings } from "./auth";
import { processWide } from "./shared";

export const TTL_MS = 60_000;

interface Entry {
  list: Promise<readonly unknown[]>;
  /** When the listing arrived (epoch ms); undefined while it is in flight. */
  at?: number;
}

const entries = () => processWide("collections", () => new Map<string, Entry>());

/** A collection path as a key: no query, no trailing slash, case-folded (Bitbucket folds slugs). */
const normalize = (path: string) =>
  path
    .replace(/[?#].*$/, "")
    .replace(/\/+$/, "")
    .toLowerCase();

/** Whose view a listing is: the API URL and a hash of the credentials (never the credentials). */
function viewOf(s: Settings): string {
  const who = crypto
    .createHash("sha256")
    .update(JSON.stringify(credentialsOf(s)))
    .digest("hex")
    .slice(0, 16);
  return `${s.apiUrl}\n${who}`;
}

/**
 * The collection at `path`, from the cache or from `list()` (then kept). `fresh` lists again
 * even when a listing is kept (a lookup right after a write whose answer was lost).
 */
export function cachedList<T>(
  s: Settings,
  path: string,
  list: () => Promise<T[]>,
  opts: { fresh?: boolean; now?: () => number } = {},
): Promise<readonly T[]> {
  const now = opts.now ?? Date.now;
  let view: string;
  try {
    view = viewOf(s);
  } catch {
    return list(); // no credentials: let the request explain that
  }
  const key = `${view}\n${normalize(path)}`;
  const map = entries();
  const hit = map.get(key);
  if (hit && !opts.fresh && (hit.at === undefined || now() - hit.at < TTL_MS)) {
    return hit.list as Promise<readonly T[]>;
  }
  const entry: Entry = { list: list() };
  map.set(key, entry);
  entry.list.then(
    () => void (entry.at = now()),
    () => void (map.get(key) === entry && map.delete(key)),
  );
  return entry.list as Promise<readonly T[]>;
}

/**
 * Drops every listing a write to `path` may have changed: the collection it names or holds it,
 * on the same API, whoever listed it.
 */
export function forgetWritten(apiUrl: string, path: string): void {
  const written = normalize(path);
  const map = entries();
  for (const key of map.keys()) {
    const [api, , collection = ""] = key.split("\n");
    if (api !== apiUrl) continue;
    if (
      collection === written ||
      written.startsWith(`${collection}/`) ||
      collection.startsWith(`${written}/`)
    ) {
      map.delete(key);
    }
  }
}

/** How many listings are kept (tests). */
export const cachedCollections = (): number => entries().size;
