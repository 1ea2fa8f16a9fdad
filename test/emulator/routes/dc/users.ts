// Data Center users, read only (spec 9.2 "GET /rest/api/latest/users"): a page of the users whose
// username, display name or email address contains `filter` (case-insensitive); what `audit` reads
// to find the slug of the user the X-AUSERNAME header names.

import type { Route } from "../../server";
import { dcPage, userRef } from "../../dc";

export const dcUserRoutes: Route[] = [
  {
    method: "GET",
    path: "/rest/api/latest/users",
    permission: () => "LICENSED_USER",
    handle: (ctx) => {
      const filter = (ctx.query.get("filter") ?? "").toLowerCase();
      const users = [...ctx.store.dc.users.keys()]
        .map((slug) => userRef(ctx.store.dc, slug))
        .filter((u) => [u.name, u.displayName, u.emailAddress].some((t) => t.toLowerCase().includes(filter)));
      return dcPage(ctx, users);
    },
  },
];
