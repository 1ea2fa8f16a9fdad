// Access tokens: `accessTokens:` entries (Data Center only), HTTP access tokens of projects,
// repositories or users. The resource: provider/resources/access-token.ts.

import { dcScopeLabel, dcTokensPath, type TokenOwner } from "../api/datacenter";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import { escapeUnprintable } from "../text";
import { AccessToken, accessTokenProvider, changesOf, lookup } from "../resources/access-token";
import { permissionProblem, strings } from "./checks";
import type {
  AuditSink,
  CheckContext,
  Entry,
  ExportSink,
  KindDescriptor,
  Problem,
  Selector,
  Target,
} from "./kind";

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
    // access-token.ts: create is a PUT to {tokens}; adopting revokes the one found (DELETE) and makes
    // a new one (PUT); update POST {tokens}/{id}; delete DELETE.
    requests: {
      create: () => ["PUT"],
      adopt: () => ["DELETE", "PUT"],
      update: () => ["POST"],
      delete: () => ["DELETE"],
    },
  },
  // Not exported: a token's value is shown only when it is made. Export says which tokens it found.
  export: {
    datacenter: {
      repository: (repository, sink) =>
        exportTokens(
          { project: sink.container, repository },
          sink,
          `tokens of ${sink.container}/${repository}`,
        ),
      container: (sink) =>
        exportTokens({ project: sink.container }, sink, `tokens of project ${sink.container}`),
      async account(sink) {
        const user = await sink.user();
        if (user !== undefined) await exportTokens({ user }, sink, `personal tokens of user ${user}`);
      },
    },
  },
  audit: {
    cloud:
      "Bitbucket Cloud has no API that lists repository, project or workspace access tokens: review them in each one's settings (Access tokens)",
    datacenter: {
      repository: async (repository, sink) =>
        auditTokens(
          { project: sink.container, repository },
          sink,
          `tokens of ${sink.container}/${repository}`,
        ),
      container: async (sink) =>
        auditTokens({ project: sink.container }, sink, `tokens of project ${sink.container}`),
      async account(sink) {
        const user = await sink.user();
        if (user !== undefined) await auditTokens({ user }, sink, `personal tokens of user ${user}`);
      },
    },
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

/** Data Center's RestAccessToken as audit reads it (the spec omits permissions and expiry; servers send them). */
interface DcToken {
  id: string;
  name: string;
  permissions?: string[];
  /** Epoch ms in practice (the spec says date-time: both are read). */
  createdDate?: number | string;
  expiryDate?: number | string;
  expiryDays?: number;
}

const DAY_MS = 86_400_000;
const epoch = (d: number | string | undefined) => (typeof d === "string" ? Date.parse(d) : d);

/** Days from a token's creation to its expiry; undefined when it never expires. */
export function expiryDaysOf(
  t: Pick<DcToken, "createdDate" | "expiryDate" | "expiryDays">,
): number | undefined {
  const [from, to] = [epoch(t.createdDate), epoch(t.expiryDate)];
  if (from !== undefined && to !== undefined && Number.isFinite(from) && Number.isFinite(to))
    return Math.round((to - from) / DAY_MS);
  return typeof t.expiryDays === "number" ? t.expiryDays : undefined;
}

/** The tokens of a user, project or repository, as audit reads them; no access to them is said. */
async function auditTokens(owner: TokenOwner, sink: AuditSink, what: string): Promise<void> {
  const place = "user" in owner ? `user ${owner.user}` : dcScopeLabel(owner);
  for (const t of await sink.optional(what, () => listAll<DcToken>(dcTokensPath(owner)))) {
    const expiryDays = expiryDaysOf(t);
    const permissions = [...(t.permissions ?? [])].sort();
    sink.add({
      what: `access token "${t.name}" of ${place}`,
      subject: { kind: "token", permissions, ...(expiryDays !== undefined && { expiryDays }) },
      entry: {
        ...("user" in owner
          ? { user: owner.user }
          : {
              project: owner.project,
              ...(owner.repository !== undefined && { repositories: [owner.repository] }),
            }),
        name: t.name,
        permissions,
        ...(expiryDays !== undefined && { expiryDays }),
        adopt: true,
      },
      note: "a token's value cannot be read back, so it cannot be exported: adopting it revokes this token and makes a new one, whose value its holders must be given",
    });
  }
}

/** Why export writes no entry for a token. */
const NOT_EXPORTED =
  "a token's value is shown only when it is made; declare new ones under accessTokens: (adopting one by its name revokes it and makes a new one)";

/** At most this many of a place's token names are said. */
const NAMES_SHOWN = 5;

/** Export's word on the tokens of a user, project or repository: how many, their names, and why none is written. */
async function exportTokens(owner: TokenOwner, sink: ExportSink, what: string): Promise<void> {
  const tokens = await sink.optional(what, () => listAll<DcToken>(dcTokensPath(owner)));
  if (!tokens.length) return;
  const place = "user" in owner ? `user ${owner.user}` : dcScopeLabel(owner);
  const more = tokens.length - NAMES_SHOWN;
  const names = tokens
    .slice(0, NAMES_SHOWN)
    .map((t) => `"${escapeUnprintable(t.name)}"`)
    .join(", ");
  sink.skip(
    `${tokens.length} access token${tokens.length === 1 ? "" : "s"} of ${place} (${names}${more > 0 ? `, and ${more} more` : ""}): ${NOT_EXPORTED}`,
  );
}
