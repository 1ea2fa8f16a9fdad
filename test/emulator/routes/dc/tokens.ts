// Data Center HTTP access tokens of a user, project or repository (shared/bitbucket-api.md
// §8.5, §9 item 15): PUT on the collection creates (200, the raw `token` only in that answer),
// POST on a token updates the fields it names, DELETE 204. Ids are strings of digits. 400 for a
// missing name, missing/empty/unknown permissions, or an owner at the maximum. A created token
// authenticates as a Bearer credential of the emulator, with its permissions, until it expires
// (`expiryDays` after `createdDate`, on the store's clock: then 401, and it stays listed, as Data
// Center keeps expired tokens until they are revoked) or is deleted.

import type { Ctx, Reply, Route } from "../../server";
import { DC_MAX_TOKENS, dcError, dcPage, dcScopeOf, type DcToken } from "../../dc";
import { body, isReply } from "../common";

/** Permissions a token may hold, per owner kind (Data Center's token UI). */
const ALLOWED: Record<string, string[]> = {
  user: ["PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN", "REPO_READ", "REPO_WRITE", "REPO_ADMIN"],
  project: ["PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN", "REPO_READ", "REPO_WRITE", "REPO_ADMIN"],
  repository: ["REPO_READ", "REPO_WRITE", "REPO_ADMIN"],
};

function ownerOf(ctx: Ctx): { tokens: DcToken[]; kind: string } | Reply {
  if (ctx.params.userSlug !== undefined) {
    const u = ctx.store.dc.users.get(ctx.params.userSlug);
    return u
      ? { tokens: u.tokens, kind: "user" }
      : dcError(404, `User ${ctx.params.userSlug} does not exist.`);
  }
  const s = dcScopeOf(ctx);
  if (isReply(s)) return s;
  return s.repo
    ? { tokens: s.repo.tokens, kind: "repository" }
    : { tokens: s.project.tokens, kind: "project" };
}

const DAY = 86_400_000;

const render = (t: DcToken) => ({
  id: t.id,
  name: t.name,
  createdDate: t.createdDate,
  permissions: [...t.permissions],
  ...(t.expiryDays !== undefined && {
    expiryDays: t.expiryDays,
    expiryDate: t.createdDate + t.expiryDays * DAY,
  }),
});

function checkPermissions(p: unknown, kind: string, required: boolean): Reply | undefined {
  if (p === undefined && !required) return undefined;
  if (!Array.isArray(p) || p.length === 0)
    return dcError(400, "At least one permission is required.", "permissions");
  for (const x of p)
    if (!ALLOWED[kind]!.includes(String(x)))
      return dcError(
        400,
        `"${String(x)}" is not a permission a ${kind} access token can have.`,
        "permissions",
      );
  return undefined;
}

const permission = (ctx: Ctx) =>
  ctx.params.userSlug !== undefined
    ? ctx.params.userSlug === (ctx.credential?.dcUser ?? "me")
      ? "LICENSED_USER"
      : "ADMIN"
    : ctx.params.repositorySlug === undefined
      ? "PROJECT_ADMIN"
      : "REPO_ADMIN";

function routesAt(base: string): Route[] {
  const one = (ctx: Ctx): { tokens: DcToken[]; token: DcToken; kind: string } | Reply => {
    const o = ownerOf(ctx);
    if (isReply(o)) return o;
    const token = o.tokens.find((t) => t.id === ctx.params.tokenId);
    return token ? { ...o, token } : dcError(404, `No access token with ID ${ctx.params.tokenId} exists.`);
  };
  return [
    {
      method: "GET",
      path: base,
      permission,
      handle: (ctx) => {
        const o = ownerOf(ctx);
        return isReply(o) ? o : dcPage(ctx, o.tokens.map(render));
      },
    },
    {
      method: "PUT",
      path: base,
      permission,
      handle: (ctx) => {
        const o = ownerOf(ctx);
        if (isReply(o)) return o;
        const b = body(ctx);
        if (typeof b.name !== "string" || b.name.trim() === "")
          return dcError(400, "A name is required.", "name");
        const bad = checkPermissions(b.permissions, o.kind, true);
        if (bad) return bad;
        if (o.tokens.length >= DC_MAX_TOKENS)
          return dcError(
            400,
            `This ${o.kind} already has the maximum number of access tokens (${DC_MAX_TOKENS}).`,
          );
        const { id, raw } = ctx.store.dc.newToken();
        const t: DcToken = {
          id,
          name: b.name,
          permissions: (b.permissions as string[]).map(String),
          ...(typeof b.expiryDays === "number" && { expiryDays: b.expiryDays }),
          createdDate: ctx.store.now(),
          raw,
        };
        o.tokens.push(t);
        ctx.store.tokens.set(raw, {
          kind: "access-token",
          scopes: [],
          dcPermission: "REPO_ADMIN",
          dcUser: "me",
          ...(t.expiryDays !== undefined && { expiresAt: t.createdDate + t.expiryDays * DAY }),
        });
        return { status: 200, body: { id, name: t.name, createdDate: t.createdDate, token: raw } };
      },
    },
    {
      method: "GET",
      path: `${base}/:tokenId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        return isReply(r) ? r : { status: 200, body: render(r.token) };
      },
    },
    {
      method: "POST",
      path: `${base}/:tokenId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        if (isReply(r)) return r;
        const b = body(ctx);
        const bad = checkPermissions(b.permissions, r.kind, false);
        if (bad) return bad;
        if (typeof b.name === "string" && b.name.trim() !== "") r.token.name = b.name;
        if (Array.isArray(b.permissions)) r.token.permissions = b.permissions.map(String);
        if (typeof b.expiryDays === "number") r.token.expiryDays = b.expiryDays;
        return { status: 200, body: render(r.token) };
      },
    },
    {
      method: "DELETE",
      path: `${base}/:tokenId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        if (isReply(r)) return r;
        r.tokens.splice(r.tokens.indexOf(r.token), 1);
        if (r.token.raw !== undefined) ctx.store.tokens.delete(r.token.raw);
        return { status: 204 };
      },
    },
  ];
}

export const dcTokenRoutes: Route[] = [
  ...routesAt("/rest/access-tokens/latest/users/:userSlug"),
  ...routesAt("/rest/access-tokens/latest/projects/:projectKey/repos/:repositorySlug"),
  ...routesAt("/rest/access-tokens/latest/projects/:projectKey"),
];
