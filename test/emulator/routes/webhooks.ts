// Repository and workspace webhooks, as Bitbucket Cloud answers them
// (shared/bitbucket-api.md §2): POST 201 + Location, PUT replaces the object and needs
// `url`, the secret is write-only (absent keeps it, "" or null removes it), duplicate
// events get a plain-text 400, unknown events and long secrets a 400 envelope.

import { CLOUD_WEBHOOK_EVENTS } from "../../../provider/resources/webhook";
import { eventScope } from "../../../provider/scopes";
import { error, page, type Ctx, type Reply, type Route } from "../server";
import { braced, type Hook } from "../store";
import { braces, isReply, repoOf, repoRef, workspaceOf } from "./common";

interface Scope {
  hooks: Hook[];
  subject: Record<string, unknown>;
  subjectType: "repository" | "workspace";
  selfBase: string;
}

/** The hooks list the path names, or the 404 Bitbucket gives for a missing workspace/repository. */
function scopeOf(ctx: Ctx): Scope | Reply {
  if (ctx.params.repo_slug === undefined) {
    const ws = workspaceOf(ctx);
    if (isReply(ws)) return ws;
    return {
      hooks: ws.hooks,
      subjectType: "workspace",
      subject: { type: "workspace", slug: ws.slug, name: ws.slug, uuid: ws.uuid },
      selfBase: `${ctx.origin}/2.0/workspaces/${ws.slug}/hooks`,
    };
  }
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  return {
    hooks: r.repo.hooks,
    subjectType: "repository",
    subject: repoRef(r.ws, r.repo),
    selfBase: `${ctx.origin}/2.0/repositories/${r.ws.slug}/${r.repo.slug}/hooks`,
  };
}

function render(s: Scope, h: Hook) {
  return {
    type: "webhook_subscription",
    uuid: h.uuid,
    url: h.url,
    description: h.description,
    subject_type: s.subjectType,
    subject: s.subject,
    active: h.active,
    created_at: h.created_at,
    events: h.events,
    secret_set: h.secret !== undefined,
    skip_cert_verification: h.skip_cert_verification,
    history_enabled: h.history_enabled,
    read_only: h.read_only,
    source: h.source,
    links: { self: { href: `${s.selfBase}/${encodeURIComponent(h.uuid)}` } },
  };
}

/** Finds a hook by uid: braced, percent-encoded braced (already decoded) or bare. */
function findHook(s: Scope, uid: string): Hook | undefined {
  return s.hooks.find((h) => h.uuid === braces(uid));
}

/** Bitbucket's validation of a hook body; `create` makes url and events required. */
function validate(body: unknown): Reply | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return error(400, "Bad request");
  const b = body as Record<string, unknown>;
  if (typeof b.url !== "string" || b.url === "") {
    // Real Bitbucket: `fields` as an array of strings (ovh/cds#6292).
    return error(400, "Bad request", {
      fields: [
        'Field: {io.atlassian.webhooks.config.exceptions.FieldValidationException: Required field: "url" is not present.field} Error: {Required field: "url" is not present.}',
      ],
    });
  }
  try {
    new URL(b.url);
  } catch {
    return error(400, "Bad request", { fields: { url: ["Enter a valid URL."] } });
  }
  if (!Array.isArray(b.events) || b.events.length === 0) {
    return error(400, "Bad request", { fields: { events: ["This field is required."] } });
  }
  // A duplicate event id gets a plain-text 400 (harness/harness-core#39903).
  if (new Set(b.events).size !== b.events.length) return { status: 400, body: "Bad Request" };
  const unknown = b.events.filter((e) => !(CLOUD_WEBHOOK_EVENTS as readonly unknown[]).includes(e));
  if (unknown.length)
    return error(400, "Bad request", { fields: { events: [`Invalid event(s): ${unknown.join(", ")}`] } });
  if (
    b.secret !== undefined &&
    b.secret !== null &&
    (typeof b.secret !== "string" || b.secret.length > 128)
  ) {
    return error(400, "Bad request", {
      fields: { secret: ["Ensure this field has no more than 128 characters."] },
    });
  }
  return undefined;
}

/** Creating a hook needs `webhook` plus read access to each subscribed event's resource. */
const writeScopes = (ctx: Ctx) => {
  const events = (ctx.body as { events?: unknown })?.events;
  const extra = Array.isArray(events) ? events.map((e) => eventScope(String(e))) : [];
  return [...new Set(["webhook", ...extra])];
};
const readScopes = () => ["webhook"];

function list(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  return page(
    ctx,
    s.hooks.map((h) => render(s, h)),
  );
}

function create(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const bad = validate(ctx.body);
  if (bad) return bad;
  const b = ctx.body as Record<string, unknown>;
  const hook: Hook = {
    uuid: braced(),
    url: b.url as string,
    description: typeof b.description === "string" ? b.description : "",
    active: b.active !== false,
    events: b.events as string[],
    ...(typeof b.secret === "string" && b.secret !== "" && { secret: b.secret }),
    skip_cert_verification: b.skip_cert_verification === true,
    history_enabled: b.history_enabled === true,
    read_only: null,
    source: null,
    created_at: new Date().toISOString(),
    subject_type: s.subjectType,
  };
  s.hooks.push(hook);
  return {
    status: 201,
    body: render(s, hook),
    headers: { Location: `${s.selfBase}/${encodeURIComponent(hook.uuid)}` },
  };
}

function get(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const h = findHook(s, ctx.params.uid ?? "");
  return h ? { status: 200, body: render(s, h) } : error(404, "Resource not found");
}

function update(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const h = findHook(s, ctx.params.uid ?? "");
  if (!h) return error(404, "Resource not found");
  const bad = validate(ctx.body);
  if (bad) return bad;
  const b = ctx.body as Record<string, unknown>;
  // PUT replaces the mutable fields; an absent secret is kept, "" or null removes it.
  h.url = b.url as string;
  h.description = typeof b.description === "string" ? b.description : "";
  h.active = b.active !== false;
  h.events = b.events as string[];
  h.skip_cert_verification = b.skip_cert_verification === true;
  if ("secret" in b) {
    if (typeof b.secret === "string" && b.secret !== "") h.secret = b.secret;
    else delete h.secret;
  }
  return { status: 200, body: render(s, h) };
}

function remove(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const i = s.hooks.findIndex((h) => h === findHook(s, ctx.params.uid ?? ""));
  if (i < 0) return error(404, "Resource not found");
  s.hooks.splice(i, 1);
  return { status: 204 };
}

const REPO = "/2.0/repositories/:workspace/:repo_slug/hooks";
const WS = "/2.0/workspaces/:workspace/hooks";

export const webhookRoutes: Route[] = [REPO, WS].flatMap((base) => [
  { method: "GET", path: base, scopes: readScopes, handle: list },
  { method: "POST", path: base, scopes: writeScopes, handle: create },
  { method: "GET", path: `${base}/:uid`, scopes: readScopes, handle: get },
  { method: "PUT", path: `${base}/:uid`, scopes: writeScopes, handle: update },
  { method: "DELETE", path: `${base}/:uid`, scopes: readScopes, handle: remove },
]);
