// Whole-collection reads. Cloud pages carry `values` and, until the last page, an opaque
// `next` URL (shared/bitbucket-api.md §1.4); we ask for the maximum `pagelen=100` and
// follow `next` to the end. Any failed page fails the whole listing: a partial list must
// never be mistaken for "the object is gone".

import { request, type Response } from "./client";

export interface CloudPage<T> {
  values?: T[];
  next?: string;
  pagelen?: number;
}

/** More pages than any real collection has; a server that never ends its `next` chain is a bug. */
export const MAX_PAGES = 1000;

/** Calls `onPage` with each page's values in order until it returns true or the pages end. */
async function walk<T>(
  path: string,
  query: Record<string, string | number>,
  onPage: (values: T[]) => boolean,
) {
  let next: string | undefined = path;
  let q: Record<string, string | number> | undefined = { pagelen: 100, ...query };
  for (let page = 0; next !== undefined; page++) {
    if (page >= MAX_PAGES) throw new Error(`GET ${path}: more than ${MAX_PAGES} pages; stopping`);
    const res: Response<CloudPage<T>> = await request<CloudPage<T>>("GET", next, { query: q });
    const values: T[] = res.data.values ?? [];
    if (onPage(values)) return;
    // Pipelines answers a page past the end with `pagelen: 0` and no values (ansible module).
    next = values.length > 0 ? res.data.next : undefined;
    q = undefined; // `next` already carries the query
  }
}

export async function listAll<T>(path: string, query: Record<string, string | number> = {}): Promise<T[]> {
  const out: T[] = [];
  await walk<T>(path, query, (values) => (out.push(...values), false));
  return out;
}

/** The first item that matches, stopping at the page that holds it. */
export async function findFirst<T>(path: string, match: (t: T) => boolean): Promise<T | undefined> {
  let hit: T | undefined;
  await walk<T>(path, {}, (values) => (hit = values.find(match)) !== undefined);
  return hit;
}
