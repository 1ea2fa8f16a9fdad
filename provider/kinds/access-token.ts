// Access tokens: `accessTokens:` entries (Data Center only), HTTP access tokens of projects,
// repositories or users. The resource: provider/resources/access-token.ts.

import { naturalKey } from "../names";
import { AccessToken, accessTokenProvider, changesOf, lookup } from "../resources/access-token";
import { permissionProblem, strings } from "./checks";
import type { CheckContext, Entry, KindDescriptor, Problem, Selector, Target } from "./kind";

export interface AccessTokenEntry extends Entry {
  name: string;
  permissions: string[];
  repositories?: Selector;
  user?: string;
  expiryDays?: number;
  rotate?: string;
}

export const accessTokens = {
  key: "accessTokens",
  type: "AccessToken",
  schema: "accessToken",
  fields: [
    "project", "projects", "repositories", "user", "name", "permissions", "expiryDays", "rotate", "adopt", "retainOnDelete",
  ], // prettier-ignore
  flavors: { cloud: "Bitbucket Cloud has no API that creates access tokens", datacenter: true },
  placed: true,
  // A user's token is placed by its user (check says what else it must not have).
  noProject: (e) =>
    e.user !== undefined
      ? undefined
      : "no project: set `project:` at the top of the manifest or on this entry (Data Center keeps tokens in projects), or user: for a personal token",
  check: (ctx) => (ctx.flavor === "datacenter" ? check(ctx) : []),
  expand(a, ctx) {
    const owners: Array<Target | { user: string }> =
      a.user !== undefined ? [{ user: a.user }] : ctx.targets(a, true);
    for (const o of owners) {
      const owner = "user" in o ? `~${o.user}` : `${o.container}/${o.repository ?? "*"}`;
      ctx.add(
        { name: `access-token/${owner}/${a.name}`, ...("user" in o ? {} : ctx.placeOf(o)) },
        `access token "${a.name}" of ${"user" in o ? `user ${o.user}` : ctx.shown(o)}`,
        naturalKey.accessToken(owner, a.name),
      );
    }
  },
  declare(s, a, ctx) {
    const r = new AccessToken(
      s.name,
      {
        ...(a.user !== undefined ? { ...ctx.flavorArg, user: a.user } : ctx.where),
        name: a.name, permissions: a.permissions, expiryDays: a.expiryDays, rotate: a.rotate, adopt: a.adopt,
      }, // prettier-ignore
      ctx.opts,
    );
    return { resource: r, output: r.tokenId, secretOutputs: { accessTokenValues: r.token } };
  },
  subject: (i) => ({
    kind: "token",
    permissions: strings(i.permissions),
    ...(typeof i.expiryDays === "number" && { expiryDays: i.expiryDays }),
  }),
  plan: {
    check: accessTokenProvider.check!,
    lookup,
    read: accessTokenProvider.read!,
    changes: changesOf,
    adoptRenews: { token: "generated" }, // the one found is revoked, a new one made
  },
} satisfies KindDescriptor<AccessTokenEntry, "accessTokens", "AccessToken">;

/** A user's token has no project or repositories; a repository token takes repository permissions. */
function check(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  ctx.list("accessTokens").forEach((e, i) => {
    if (!e || typeof e !== "object" || e.user === undefined) return;
    for (const f of ["project", "projects", "repositories"])
      if (e[f] !== undefined)
        problems.push({
          loc: ctx.keyAt(["accessTokens", i], f),
          message: `a token of user ${ctx.clean(String(e.user))} belongs to the user: remove ${f}, or remove user for a project or repository token`,
        });
  });
  ctx.list("accessTokens").forEach((e, i) => {
    if (e?.repositories === undefined || !Array.isArray(e.permissions)) return;
    e.permissions.forEach((perm: unknown, j: number) => {
      const why = permissionProblem(ctx, perm, true, "repository tokens");
      if (why) problems.push({ loc: ctx.at(["accessTokens", i, "permissions", j]), message: why });
    });
  });
  return problems;
}
