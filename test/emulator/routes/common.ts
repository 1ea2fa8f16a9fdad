// Lookups every route shares: the workspace, repository or project a path names, or the
// 404 Bitbucket answers when it does not exist.

import { error, type Ctx, type Reply } from "../server";
import type { Project, Repo, Workspace } from "../store";

export const isReply = (x: unknown): x is Reply => typeof x === "object" && x !== null && "status" in x;

/** A workspace by slug or `{uuid}`, as Bitbucket accepts either (slugs in any case). */
export function workspaceOf(ctx: Ctx): Workspace | Reply {
  const id = (ctx.params.workspace ?? "").toLowerCase();
  return (
    [...ctx.store.workspaces.values()].find((w) => w.slug.toLowerCase() === id || w.uuid === id) ??
    error(404, `No workspace with identifier '${ctx.params.workspace}'.`)
  );
}

export function repoOf(ctx: Ctx): { ws: Workspace; repo: Repo } | Reply {
  const ws = workspaceOf(ctx);
  if (isReply(ws)) return ws;
  const id = (ctx.params.repo_slug ?? "").toLowerCase();
  // The slug as stored first: a scan per request made the scale bench's stacks quadratic here.
  const repo =
    ws.repos.get(ctx.params.repo_slug ?? "") ??
    [...ws.repos.values()].find((r) => r.slug.toLowerCase() === id || r.uuid === id);
  return repo ? { ws, repo } : error(404, `Repository ${ws.slug}/${ctx.params.repo_slug} not found`);
}

export function projectOf(ctx: Ctx): { ws: Workspace; project: Project } | Reply {
  const ws = workspaceOf(ctx);
  if (isReply(ws)) return ws;
  const key = (ctx.params.project_key ?? "").toUpperCase();
  const project = [...ws.projects.values()].find((p) => p.key.toUpperCase() === key);
  return project ? { ws, project } : error(404, `Project ${ctx.params.project_key} not found`);
}

/** A braced UUID from a path segment given braced (decoded) or bare. */
export const braces = (uid: string) => (uid.startsWith("{") ? uid : `{${uid}}`).toLowerCase();

/** The object embedded in responses for a repository (the spec's `repository` schema needs `type`). */
export const repoRef = (ws: Workspace, repo: Repo) => ({
  type: "repository",
  full_name: `${ws.slug}/${repo.slug}`,
  name: repo.slug,
  uuid: repo.uuid,
});

export const body = (ctx: Ctx): Record<string, unknown> =>
  typeof ctx.body === "object" && ctx.body !== null && !Array.isArray(ctx.body)
    ? (ctx.body as Record<string, unknown>)
    : {};
