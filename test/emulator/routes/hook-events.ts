// GET /2.0/hook_events and /2.0/hook_events/{subject_type}: public, no auth. Which events
// belong to which subject type is not documented (bitbucket-api.md §2.5), so both serve
// the spec's full list.

import { CLOUD_WEBHOOK_EVENTS } from "../../../provider/resources/webhook";
import { error, page, type Ctx, type Route } from "../server";

const CATEGORY: Record<string, string> = {
  repo: "Repository",
  pullrequest: "Pull Request",
  issue: "Issue",
  project: "Project",
  pipeline: "Pipeline",
};

function describe(event: string) {
  const [prefix = "", name = ""] = event.split(":");
  const label = name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
  const category = CATEGORY[prefix] ?? "Repository";
  return {
    event,
    category,
    label,
    description: `Whenever ${category.toLowerCase()} ${name.replace(/_/g, " ")} occurs`,
  };
}

export const hookEventRoutes: Route[] = [
  {
    method: "GET",
    path: "/2.0/hook_events",
    handle: (ctx: Ctx) => ({
      status: 200,
      body: {
        repository: { events: { href: `${ctx.origin}/2.0/hook_events/repository` } },
        workspace: { events: { href: `${ctx.origin}/2.0/hook_events/workspace` } },
      },
    }),
  },
  {
    method: "GET",
    path: "/2.0/hook_events/:subject_type",
    handle: (ctx: Ctx) =>
      ["repository", "workspace"].includes(ctx.params.subject_type ?? "")
        ? page(ctx, CLOUD_WEBHOOK_EVENTS.map(describe), 30)
        : error(404, `Unknown subject type: ${ctx.params.subject_type}`),
  },
];
