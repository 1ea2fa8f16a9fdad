// GET /2.0/repositories/{workspace}: a workspace's repositories, paginated, each with its
// project. The manifest's selectors (`{ project: KEY }`, `acme/svc-*`) are resolved from it.
// GET /2.0/repositories/{workspace}/{repo_slug}, /2.0/workspaces/{workspace} and
// /2.0/workspaces/{workspace}/projects/{project_key}: one object each, by slug or {uuid}; the
// provider records their uuids to tell an alias from a move.

import { page, type Ctx, type Reply, type Route } from "../server";
import type { Repo, Workspace } from "../store";
import { isReply, projectOf, repoOf, workspaceOf } from "./common";

function renderWorkspace(ctx: Ctx, ws: Workspace) {
  return {
    type: "workspace",
    uuid: ws.uuid,
    slug: ws.slug,
    name: ws.slug,
    is_private: true,
    links: { self: { href: `${ctx.origin}/2.0/workspaces/${ws.slug}` } },
  };
}

function renderRepo(ctx: Ctx, ws: Workspace, r: Repo) {
  const project = r.project !== undefined ? ws.projects.get(r.project) : undefined;
  return {
    type: "repository",
    uuid: r.uuid,
    slug: r.slug,
    name: r.slug,
    full_name: `${ws.slug}/${r.slug}`,
    is_private: true,
    // Real responses carry the workspace (not in the spec's schema, which allows extra fields).
    workspace: { type: "workspace", slug: ws.slug, uuid: ws.uuid, name: ws.slug },
    ...(project && {
      project: { type: "project", key: project.key, uuid: project.uuid, name: project.key },
    }),
    links: { self: { href: `${ctx.origin}/2.0/repositories/${ws.slug}/${r.slug}` } },
  };
}

function list(ctx: Ctx): Reply {
  const ws = workspaceOf(ctx);
  if (isReply(ws)) return ws;
  return page(
    ctx,
    [...ws.repos.values()].map((r) => renderRepo(ctx, ws, r)),
  );
}

function getRepo(ctx: Ctx): Reply {
  const r = repoOf(ctx);
  return isReply(r) ? r : { status: 200, body: renderRepo(ctx, r.ws, r.repo) };
}

function getWorkspace(ctx: Ctx): Reply {
  const ws = workspaceOf(ctx);
  return isReply(ws) ? ws : { status: 200, body: renderWorkspace(ctx, ws) };
}

function getProject(ctx: Ctx): Reply {
  const p = projectOf(ctx);
  if (isReply(p)) return p;
  return {
    status: 200,
    body: {
      type: "project",
      key: p.project.key,
      uuid: p.project.uuid,
      name: p.project.key,
      is_private: true,
      links: { self: { href: `${ctx.origin}/2.0/workspaces/${p.ws.slug}/projects/${p.project.key}` } },
    },
  };
}

export const repositoryRoutes: Route[] = [
  { method: "GET", path: "/2.0/repositories/:workspace", scopes: () => ["repository"], handle: list },
  {
    method: "GET",
    path: "/2.0/repositories/:workspace/:repo_slug",
    scopes: () => ["repository"],
    handle: getRepo,
  },
  { method: "GET", path: "/2.0/workspaces/:workspace", scopes: () => [], handle: getWorkspace },
  {
    method: "GET",
    path: "/2.0/workspaces/:workspace/projects/:project_key",
    scopes: () => ["project"],
    handle: getProject,
  },
];
