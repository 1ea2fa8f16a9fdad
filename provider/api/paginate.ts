// Whole-collection reads. Any failed page fails the whole listing: a partial list must never
// be mistaken for "the object is gone".
// - Cloud pages carry `values` and, until the last page, an opaque `next` URL
//   (shared/bitbucket-api.md §1.4); we ask for the maximum `pagelen=100` and follow `next`.
// - Data Center pages carry `values`, `isLastPage` and, until then, `nextPageStart` (§8.1): ask
//   for `limit=1000` (the server caps it at its configured maximum) and go on from
//   `start=nextPageStart`; ids are not contiguous, so the start is never computed.

import { loadSettings } from "./auth";
import { cachedList, type Paged } from "./cache";
import { isDataCenterPath, request, type Response } from "./client";
import { isNotFound } from "./errors";
import { processWide } from "./shared";

export interface CloudPage<T> {
  values?: T[];
  next?: string;
  pagelen?: number;
}

export interface DataCenterPage<T> {
  values?: T[];
  isLastPage?: boolean;
  nextPageStart?: number;
  start?: number;
  limit?: number;
  size?: number;
}

/** More pages than any real collection has; a server that never ends its `next` chain is a bug. */
export const MAX_PAGES = 1000;

/** The page size asked of Data Center; its admin-configured maximum caps it. */
export const DC_PAGE_LIMIT = 1000;

/**
 * How many pages (requests) the last listing of each collection took in this process, by its path
 * in lower case: `bitbucket-iac plan` bills a listing `pulumi up` will make at what it took plan.
 */
const pagesListed = () => processWide("pages-listed", () => new Map<string, number>());

const listingKey = (path: string) => path.replace(/\/+$/, "").toLowerCase();

/** The pages the last listing of `path` took here; undefined when it was not listed. */
export const pagesOf = (path: string): number | undefined => pagesListed().get(listingKey(path));

export async function listAll<T>(path: string, query: Record<string, string | number> = {}): Promise<T[]> {
  return (await listPages<T>(path, query)).items;
}

/** The whole collection, and the requests (pages) it took. */
async function listPages<T>(path: string, query: Record<string, string | number> = {}): Promise<Paged<T>> {
  if (isDataCenterPath(path)) return listAllDataCenter<T>(path, query);
  const out: T[] = [];
  let next = path;
  let q: Record<string, string | number> | undefined = { pagelen: 100, ...query };
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new Error(`GET ${path}: more than ${MAX_PAGES} pages; stopping`);
    const res: Response<CloudPage<T>> = await request<CloudPage<T>>("GET", next, { query: q });
    const values: T[] = res.data.values ?? [];
    out.push(...values);
    // Pipelines answers a page past the end with `pagelen: 0` and no values (ansible module).
    const more = values.length > 0 ? res.data.next : undefined;
    if (more === undefined) {
      pagesListed().set(listingKey(path), page + 1);
      return { items: out, pages: page + 1 };
    }
    next = more;
    q = undefined; // `next` already carries the query
  }
}

async function listAllDataCenter<T>(path: string, query: Record<string, string | number>): Promise<Paged<T>> {
  const out: T[] = [];
  let start = 0;
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new Error(`GET ${path}: more than ${MAX_PAGES} pages; stopping`);
    const res = await request<DataCenterPage<T>>("GET", path, {
      query: { ...query, start, limit: DC_PAGE_LIMIT },
    });
    out.push(...(res.data.values ?? []));
    if (res.data.isLastPage !== false) {
      pagesListed().set(listingKey(path), page + 1);
      return { items: out, pages: page + 1 };
    }
    const next = res.data.nextPageStart;
    if (typeof next !== "number" || next <= start) {
      throw new Error(
        `GET ${path}: page at start=${start} says more pages follow but gives no usable nextPageStart (${String(next)}); stopping rather than returning a partial list`,
      );
    }
    start = next;
  }
}

/**
 * The whole collection at `path`, listed once per run and shared by every read and lookup in it
 * (cache.ts). `fresh` lists again: right after a write whose answer was lost.
 */
export function listCached<T>(path: string, opts: { fresh?: boolean } = {}): Promise<readonly T[]> {
  return cachedList(loadSettings(), path, () => listPages<T>(path), opts);
}

/** The first item of the collection that matches, from the run's listing of it. */
export async function findIn<T>(
  path: string,
  match: (t: T) => boolean,
  opts: { fresh?: boolean } = {},
): Promise<T | undefined> {
  return (await listCached<T>(path, opts)).find(match);
}

/**
 * Refresh's read of one object: from the run's listing of its collection (one request for every
 * object in it). Undefined when it is not listed, or the collection itself is gone (404): deleted.
 */
export async function readListed<T>(path: string, match: (t: T) => boolean): Promise<T | undefined> {
  try {
    return await findIn(path, match);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
