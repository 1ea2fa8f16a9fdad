// Data Center SSH keys (shared/bitbucket-api.md §8.3, §8.4, §9 items 13-14).
// Access keys (deploy keys) on a repository or project: POST answers 201; the id is the
// underlying key's, shared by every repository and project the same key text is added to;
// the permission is the only thing that changes, through PUT .../permission/{permission};
// DELETE answers 204 even when there is no such key. A key already bound to a user account
// cannot become an access key, and the same key twice on one repository is a 400.
// User keys: `?user=` (or `userName`) names another user (the credentials' own without it);
// POST 201, 409 when the key already exists on the server; no update; DELETE 204 always.

import type { Ctx, Reply, Route } from "../../server";
import { dcError, dcPage, dcScopeOf, projectRef, repoRef, type DcGrant, type DcKey } from "../../dc";
import { body, isReply } from "../common";

const REPO_KEYS = "/rest/keys/latest/projects/:projectKey/repos/:repositorySlug/ssh";
const PROJECT_KEYS = "/rest/keys/latest/projects/:projectKey/ssh";

const REPO_PERMISSIONS = ["REPO_READ", "REPO_WRITE", "REPO_ADMIN"];
const PROJECT_PERMISSIONS = ["PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN"];

const keyBody = (k: DcKey) => ({
  id: k.id,
  text: k.text,
  label: k.label,
  fingerprint: k.fingerprint,
  algorithmType: k.algorithmType,
  bitLength: k.bitLength,
  createdDate: k.createdDate,
});

type Scope = { grants: DcGrant[]; render: (k: DcKey, g: DcGrant) => unknown; allowed: string[] };

function scopeOf(ctx: Ctx): Scope | Reply {
  const s = dcScopeOf(ctx);
  if (isReply(s)) return s;
  if (s.repo) {
    const where = repoRef(s.project, s.repo);
    return {
      grants: s.repo.grants,
      allowed: REPO_PERMISSIONS,
      render: (k, g) => ({ key: keyBody(k), permission: g.permission, repository: where }),
    };
  }
  const where = projectRef(s.project);
  return {
    grants: s.project.grants,
    allowed: PROJECT_PERMISSIONS,
    render: (k, g) => ({ key: keyBody(k), permission: g.permission, project: where }),
  };
}

const permission = (ctx: Ctx) => (ctx.params.repositorySlug === undefined ? "PROJECT_ADMIN" : "REPO_ADMIN");

function badPermission(p: unknown, allowed: string[]): Reply | undefined {
  return typeof p === "string" && allowed.includes(p)
    ? undefined
    : dcError(
        400,
        `The permission "${String(p)}" cannot be granted here; use one of ${allowed.join(", ")}.`,
        "permission",
      );
}

function accessKeyRoutes(base: string): Route[] {
  const one = (ctx: Ctx): { scope: Scope; grant: DcGrant; key: DcKey } | Reply => {
    const scope = scopeOf(ctx);
    if (isReply(scope)) return scope;
    const grant = scope.grants.find((g) => String(g.keyId) === ctx.params.keyId);
    const key = grant && ctx.store.dc.keys.get(grant.keyId);
    return grant && key
      ? { scope, grant, key }
      : dcError(404, `No SSH access key with ID ${ctx.params.keyId} exists here.`);
  };
  return [
    {
      method: "GET",
      path: base,
      permission,
      handle: (ctx) => {
        const scope = scopeOf(ctx);
        if (isReply(scope)) return scope;
        return dcPage(
          ctx,
          scope.grants.map((g) => scope.render(ctx.store.dc.keys.get(g.keyId)!, g)),
        );
      },
    },
    {
      method: "POST",
      path: base,
      permission,
      handle: (ctx) => {
        const scope = scopeOf(ctx);
        if (isReply(scope)) return scope;
        const b = body(ctx);
        const k = (b.key ?? {}) as { text?: unknown; label?: unknown };
        if (typeof k.text !== "string" || k.text.trim() === "")
          return dcError(400, "The key text is required.", "text");
        const bad = badPermission(b.permission, scope.allowed);
        if (bad) return bad;
        const key = ctx.store.dc.keyFor(k.text, typeof k.label === "string" ? k.label : "");
        if ("error" in key) return dcError(400, `The SSH key is not valid: ${key.error}.`, "text");
        if (key.user !== undefined)
          return dcError(
            400,
            "This SSH key is already bound to a user account and cannot be used as an access key.",
            "text",
          );
        if (scope.grants.some((g) => g.keyId === key.id))
          return dcError(400, "This SSH key already provides access to this repository or project.", "text");
        const grant = { keyId: key.id, permission: String(b.permission) };
        scope.grants.push(grant);
        return { status: 201, body: scope.render(key, grant) };
      },
    },
    {
      method: "GET",
      path: `${base}/:keyId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        return isReply(r) ? r : { status: 200, body: r.scope.render(r.key, r.grant) };
      },
    },
    {
      method: "PUT",
      path: `${base}/:keyId/permission/:permission`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        if (isReply(r)) return r;
        const bad = badPermission(ctx.params.permission, r.scope.allowed);
        if (bad) return bad;
        r.grant.permission = ctx.params.permission!;
        return { status: 200, body: r.scope.render(r.key, r.grant) };
      },
    },
    {
      method: "DELETE",
      path: `${base}/:keyId`,
      permission,
      handle: (ctx) => {
        const scope = scopeOf(ctx);
        if (isReply(scope)) return scope;
        const i = scope.grants.findIndex((g) => String(g.keyId) === ctx.params.keyId);
        if (i >= 0) {
          scope.grants.splice(i, 1);
          ctx.store.dc.dropIfUnused(Number(ctx.params.keyId));
        }
        return { status: 204 }; // even when there was no such key (§8.3)
      },
    },
  ];
}

/** The user `?user=` / `?userName=` names (the credentials' own without), or Data Center's 404. */
function userOf(ctx: Ctx): string | Reply {
  const named = ctx.query.get("user") ?? ctx.query.get("userName");
  const slug = named ?? ctx.credential?.dcUser ?? "me";
  return ctx.store.dc.users.has(slug) ? slug : dcError(404, `User ${slug} does not exist.`);
}

/** Another user's keys need ADMIN; one's own need only a licensed login. */
const userPermission = (ctx: Ctx) => {
  const named = ctx.query.get("user") ?? ctx.query.get("userName");
  return named !== null && named !== (ctx.credential?.dcUser ?? "me") ? "ADMIN" : "LICENSED_USER";
};

const userKeyRoutes: Route[] = [
  {
    method: "GET",
    path: "/rest/ssh/latest/keys",
    permission: userPermission,
    handle: (ctx) => {
      const user = userOf(ctx);
      if (isReply(user)) return user;
      return dcPage(ctx, [...ctx.store.dc.keys.values()].filter((k) => k.user === user).map(keyBody));
    },
  },
  {
    method: "POST",
    path: "/rest/ssh/latest/keys",
    permission: userPermission,
    handle: (ctx) => {
      const user = userOf(ctx);
      if (isReply(user)) return user;
      const b = body(ctx);
      if (typeof b.text !== "string" || b.text.trim() === "")
        return dcError(400, "The key text is required.", "text");
      const before = ctx.store.dc.keys.size;
      const key = ctx.store.dc.keyFor(b.text, typeof b.label === "string" ? b.label : "", user);
      if ("error" in key)
        return dcError(
          400,
          `The SSH key is not a valid RSA, DSA, ECDSA or Ed25519 key of a supported length: ${key.error}.`,
          "text",
        );
      if (ctx.store.dc.keys.size === before)
        return dcError(409, "This SSH key already exists on this server.", "text");
      return { status: 201, body: keyBody(key) };
    },
  },
  {
    method: "GET",
    path: "/rest/ssh/latest/keys/:keyId",
    permission: () => "ADMIN",
    handle: (ctx) => {
      const k = ctx.store.dc.keys.get(Number(ctx.params.keyId));
      return k?.user !== undefined
        ? { status: 200, body: keyBody(k) }
        : dcError(404, `No SSH key with ID ${ctx.params.keyId} exists.`);
    },
  },
  {
    method: "DELETE",
    path: "/rest/ssh/latest/keys/:keyId",
    permission: () => "LICENSED_USER",
    handle: (ctx) => {
      const k = ctx.store.dc.keys.get(Number(ctx.params.keyId));
      if (
        k?.user !== undefined &&
        (k.user === (ctx.credential?.dcUser ?? "me") || ctx.credential?.dcPermission !== "LICENSED_USER")
      )
        ctx.store.dc.keys.delete(k.id);
      return { status: 204 }; // even when there was no such key (§8.4)
    },
  },
];

export const dcKeyRoutes: Route[] = [
  ...accessKeyRoutes(REPO_KEYS),
  ...accessKeyRoutes(PROJECT_KEYS),
  ...userKeyRoutes,
];
