// GET /2.0/repositories/{workspace}: a workspace's repositories, paginated, each with its
// project. The manifest's selectors (`{ project: KEY }`, `acme/svc-*`) are resolved from it.

import { page, type Ctx, type Reply, type Route } from "../server";
import { isReply, workspaceOf } from "./common";

function list(ctx: Ctx): Reply {
  const ws = workspaceOf(ctx);
  if (isReply(ws)) return ws;
  const values = [...ws.repos.values()].map((r) => {
    const project = r.project !== undefined ? ws.projects.get(r.project) : undefined;
    return {
      type: "repository",
      uuid: r.uuid,
      slug: r.slug,
      name: r.slug,
      full_name: `${ws.slug}/${r.slug}`,
      is_private: true,
      ...(project && {
        project: { type: "project", key: project.key, uuid: project.uuid, name: project.key },
      }),
      links: { self: { href: `${ctx.origin}/2.0/repositories/${ws.slug}/${r.slug}` } },
    };
  });
  return page(ctx, values);
}

export const repositoryRoutes: Route[] = [
  { method: "GET", path: "/2.0/repositories/:workspace", scopes: () => ["repository"], handle: list },
];
