// What `audit` and `export` read alike: a Cloud workspace or Data Center projects and their
// repositories, the Data Center user whose personal tokens are read, and reads that need more
// access than the credentials may have. Read-only calls:
//
//   Cloud: GET /repositories/{ws}
//   Data Center: GET /rest/api/latest/projects/{p}/repos, per project; the credentials' user: the
//     X-AUSERNAME header of GET /rest/api/latest/projects/{p}, its slug from
//     GET /rest/api/latest/users?filter=

import { repositoriesPath } from "../api/cloud";
import { request } from "../api/client";
import { dcProjectPath, dcReposPath, dcUsersPath } from "../api/datacenter";
import { isApiError } from "../api/errors";
import { DC_PAGE_LIMIT, listAll, type DataCenterPage } from "../api/paginate";
import { matchesGlob } from "../glob";
import type { Flavor } from "../resources/validate";

/** What to read: a workspace, or projects, maybe narrowed to some repositories. */
export interface ReadTarget {
  flavor: Flavor;
  /** Cloud: the workspace (one); Data Center: the projects. */
  containers: string[];
  /** Only repositories whose slug matches. */
  glob?: string;
  /** Data Center: whose personal tokens and SSH keys to read (default: the credentials' user). */
  user?: string;
}

/**
 * Reads what needs more access: an answer of `statuses` (403 or 404; Data Center answers too
 * little permission with 401) is said, as `what` and then `outcome`, and reads as nothing.
 */
export async function optionalRead<T>(
  what: string,
  read: () => Promise<T[]>,
  said: string[],
  outcome: string,
  statuses: readonly number[] = [403, 404],
): Promise<T[]> {
  try {
    return await read();
  } catch (e) {
    if (isApiError(e) && statuses.includes(e.status)) {
      said.push(`${what}: not readable with these credentials (${e.status}); ${outcome}`);
      return [];
    }
    throw e;
  }
}

/** Each workspace or project with its repositories (sorted, matching the glob) and, on Cloud, their projects. */
export async function repositoriesOf(
  t: ReadTarget,
): Promise<Array<{ container: string; repositories: string[]; projects: string[] }>> {
  const keep = (slug: string) => t.glob === undefined || matchesGlob(t.glob, slug);
  if (t.flavor === "cloud") {
    const ws = t.containers[0] ?? "";
    const repos = (await listAll<{ slug: string; project?: { key?: string } }>(repositoriesPath(ws))).filter(
      (r) => keep(r.slug),
    );
    const projects = [...new Set(repos.flatMap((r) => (r.project?.key ? [r.project.key] : [])))].sort();
    return [{ container: ws, repositories: repos.map((r) => r.slug).sort(), projects }];
  }
  const out = [];
  for (const project of t.containers) {
    const repos = await listAll<{ slug: string }>(dcReposPath(project));
    out.push({
      container: project,
      repositories: repos
        .map((r) => r.slug)
        .filter(keep)
        .sort(),
      projects: [],
    });
  }
  return out;
}

/**
 * The credentials' user on Data Center, as a slug: the X-AUSERNAME header of an answer names the
 * user (Data Center has no "current user" resource), and the user search gives its slug. Without
 * the header (a proxy drops it), personal tokens are not read, and `notes` says so.
 */
export async function userOf(t: ReadTarget, notes: string[]): Promise<string | undefined> {
  if (t.user !== undefined) return t.user;
  const { headers } = await request("GET", dcProjectPath(t.containers[0] ?? ""));
  const name = decoded(headers["x-ausername"]?.trim() ?? "");
  // One page: the search matches parts of names, and the exact name is among the first.
  const users = name
    ? (
        await request<DataCenterPage<{ name?: string; slug?: string }>>("GET", dcUsersPath, {
          query: { filter: name, limit: DC_PAGE_LIMIT },
        })
      ).data.values
    : undefined;
  const found = users?.find((u) => u.name?.toLowerCase() === name.toLowerCase());
  if (found?.slug) return found.slug;
  notes.push(
    name
      ? `personal access tokens: no user named ${name} in the user search; not read (name the user: --user SLUG)`
      : "personal access tokens: Bitbucket did not say which user the credentials are (no X-AUSERNAME header: a proxy may drop it); not read (name the user: --user SLUG)",
  );
  return undefined;
}

const decoded = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** A function of no arguments whose answer is computed once, at its first call. */
export function memo<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}
