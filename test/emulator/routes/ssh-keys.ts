// The caller (`GET /2.0/user`) and user SSH keys (shared/bitbucket-api.md §3.3): keys are
// addressed by uuid (braced or bare in the path), create answers 201, the comment is split
// off, `fingerprint` is SHA-256 unpadded base64 without the "SHA256:" prefix, and only the
// label changes on PUT.

import { parsePublicKey, isKeyError } from "../../../provider/ssh";
import { error, page, type Ctx, type Reply, type Route } from "../server";
import { ME, type Account, type KeyRec } from "../store";
import { body, braces, isReply } from "./common";

function accountRef(a: Account) {
  return {
    type: "user",
    uuid: a.uuid,
    account_id: a.account_id,
    nickname: a.nickname,
    display_name: a.display_name,
  };
}

function render(ctx: Ctx, a: Account, k: KeyRec) {
  return {
    type: "ssh_key",
    uuid: k.uuid,
    key: k.key,
    comment: k.comment,
    label: k.label,
    fingerprint: k.fingerprint.replace(/^SHA256:/, ""),
    created_on: k.created_on,
    last_used: null,
    expires_on: null,
    owner: accountRef(a),
    links: {
      self: { href: `${ctx.origin}/2.0/users/${encodeURIComponent(a.uuid)}/ssh-keys/${k.uuid.slice(1, -1)}` },
    },
  };
}

function me(ctx: Ctx): Reply {
  const a = ctx.store.account(ctx.credential?.account ?? ME.account_id);
  if (!a) return error(404, "No such account");
  return {
    status: 200,
    body: { ...accountRef(a), links: {}, created_on: "2020-01-01T00:00:00.000000+00:00" },
  };
}

function accountOf(ctx: Ctx): Account | Reply {
  return (
    ctx.store.account(ctx.params.selected_user ?? "") ??
    error(404, `User ${ctx.params.selected_user} not found`)
  );
}

const findKey = (a: Account, id: string) => a.sshKeys.find((k) => k.uuid === braces(id));

export const sshKeyRoutes: Route[] = [
  { method: "GET", path: "/2.0/user", scopes: () => ["account"], handle: me },
  {
    method: "GET",
    path: "/2.0/users/:selected_user/ssh-keys",
    scopes: () => ["account"],
    handle: (ctx) => {
      const a = accountOf(ctx);
      return isReply(a)
        ? a
        : page(
            ctx,
            a.sshKeys.map((k) => render(ctx, a, k)),
          );
    },
  },
  {
    method: "POST",
    path: "/2.0/users/:selected_user/ssh-keys",
    scopes: () => ["account:write"],
    handle: (ctx) => {
      const a = accountOf(ctx);
      if (isReply(a)) return a;
      const b = body(ctx);
      const parsed = parsePublicKey(b.key);
      if (isKeyError(parsed)) return error(400, "Bad request", { fields: { key: ["Invalid SSH key"] } });
      if (a.sshKeys.some((k) => k.fingerprint === parsed.fingerprint)) {
        return error(400, "Bad request", {
          fields: { key: ["Someone has already added that SSH key to this account."] },
        });
      }
      const rec = ctx.store.keyRecord(
        parsed.normalized,
        parsed.comment,
        typeof b.label === "string" ? b.label : "",
        parsed.fingerprint,
      );
      a.sshKeys.push(rec);
      return { status: 201, body: render(ctx, a, rec) };
    },
  },
  {
    method: "GET",
    path: "/2.0/users/:selected_user/ssh-keys/:key_id",
    scopes: () => ["account"],
    handle: (ctx) => {
      const a = accountOf(ctx);
      if (isReply(a)) return a;
      const k = findKey(a, ctx.params.key_id ?? "");
      return k ? { status: 200, body: render(ctx, a, k) } : error(404, "Resource not found");
    },
  },
  {
    method: "PUT",
    path: "/2.0/users/:selected_user/ssh-keys/:key_id",
    scopes: () => ["account:write"],
    handle: (ctx) => {
      const a = accountOf(ctx);
      if (isReply(a)) return a;
      const k = findKey(a, ctx.params.key_id ?? "");
      if (!k) return error(404, "Resource not found");
      const b = body(ctx);
      if (b.key !== undefined) {
        const parsed = parsePublicKey(b.key);
        if (isKeyError(parsed) || parsed.fingerprint !== k.fingerprint) {
          return error(400, "Bad request", {
            fields: { key: ["To change the key, delete it and add it again."] },
          });
        }
      }
      if (typeof b.label === "string") k.label = b.label;
      return { status: 200, body: render(ctx, a, k) };
    },
  },
  {
    method: "DELETE",
    path: "/2.0/users/:selected_user/ssh-keys/:key_id",
    scopes: () => ["account:write"],
    handle: (ctx) => {
      const a = accountOf(ctx);
      if (isReply(a)) return a;
      const i = a.sshKeys.findIndex((k) => k.uuid === braces(ctx.params.key_id ?? ""));
      if (i < 0) return error(404, "Resource not found");
      a.sshKeys.splice(i, 1);
      return { status: 204 };
    },
  },
];
