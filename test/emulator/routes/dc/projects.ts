// Data Center projects and repositories, read only (what `projects:` selectors and location
// checks need): GET a project, its repositories (paged), one repository.

import type { Route } from "../../server";
import { dcPage, dcProjectOf, dcRepoOf, projectRef, repoRef } from "../../dc";
import { isReply } from "../common";

export const dcProjectRoutes: Route[] = [
  {
    method: "GET",
    path: "/rest/api/latest/projects/:projectKey",
    permission: () => "PROJECT_READ",
    handle: (ctx) => {
      const p = dcProjectOf(ctx);
      return isReply(p) ? p : { status: 200, body: projectRef(p) };
    },
  },
  {
    method: "GET",
    path: "/rest/api/latest/projects/:projectKey/repos",
    permission: () => "PROJECT_READ",
    handle: (ctx) => {
      const p = dcProjectOf(ctx);
      return isReply(p)
        ? p
        : dcPage(
            ctx,
            [...p.repos.values()].map((r) => repoRef(p, r)),
          );
    },
  },
  {
    method: "GET",
    path: "/rest/api/latest/projects/:projectKey/repos/:repositorySlug",
    permission: () => "REPO_READ",
    handle: (ctx) => {
      const r = dcRepoOf(ctx);
      return isReply(r) ? r : { status: 200, body: repoRef(r.project, r.repo) };
    },
  },
];
