// Data Center webhooks, repository and project (shared/bitbucket-api.md §8.2, §9 item 12):
// create answers 200 (not 201) with an integer id and epoch-ms dates; the secret lives in
// `configuration` and is returned as stored, or, with the store's maskWebhookSecret, never
// returned (Atlassian does not document either); PUT replaces the hook, configuration included;
// REPO_ADMIN (PROJECT_ADMIN for project hooks) or 401.

import { DC_WEBHOOK_EVENTS } from "../../../../provider/resources/webhook";
import type { Ctx, Reply, Route } from "../../server";
import { dcError, dcPage, dcScopeOf, type DcHook } from "../../dc";
import { body, isReply } from "../common";

const REPO = "/rest/api/latest/projects/:projectKey/repos/:repositorySlug/webhooks";
const PROJECT = "/rest/api/latest/projects/:projectKey/webhooks";

function render(ctx: Ctx, h: DcHook, scopeType: string) {
  const { secret, ...rest } = h.configuration;
  const configuration = ctx.store.dc.maskWebhookSecret
    ? rest
    : { ...rest, ...(secret !== undefined && { secret }) };
  return { ...h, configuration, scopeType };
}

function hooksOf(ctx: Ctx): { hooks: DcHook[]; scopeType: string } | Reply {
  const s = dcScopeOf(ctx);
  if (isReply(s)) return s;
  return s.repo
    ? { hooks: s.repo.hooks, scopeType: "repository" }
    : { hooks: s.project.hooks, scopeType: "project" };
}

/** Data Center's checks of a RestWebhook body; errors carry the field as `context`. */
function validate(b: Record<string, unknown>): Reply | undefined {
  if (typeof b.name !== "string" || b.name.trim() === "") return dcError(400, "Name is required.", "name");
  if (typeof b.url !== "string" || b.url === "") return dcError(400, "URL is required.", "url");
  try {
    const u = new URL(b.url);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
  } catch {
    return dcError(400, `"${b.url}" is not a valid URL.`, "url");
  }
  if (!Array.isArray(b.events) || b.events.length === 0)
    return dcError(400, "At least one event is required.", "events");
  for (const e of b.events) {
    if (!(DC_WEBHOOK_EVENTS as readonly unknown[]).includes(e))
      return dcError(400, `The event "${String(e)}" is not a valid webhook event.`, "events");
  }
  if (new Set(b.events).size !== b.events.length) return dcError(400, "Events must be unique.", "events");
  if (b.configuration !== undefined && (typeof b.configuration !== "object" || b.configuration === null))
    return dcError(400, "Configuration must be an object.", "configuration");
  return undefined;
}

const fields = (b: Record<string, unknown>) => ({
  name: String(b.name),
  url: String(b.url),
  active: b.active !== false,
  events: [...(b.events as string[])],
  configuration: { ...((b.configuration as Record<string, string> | undefined) ?? {}) },
  sslVerificationRequired: b.sslVerificationRequired !== false,
});

const permission = (ctx: Ctx) => (ctx.params.repositorySlug === undefined ? "PROJECT_ADMIN" : "REPO_ADMIN");

function routesAt(base: string): Route[] {
  const one = (ctx: Ctx): { list: { hooks: DcHook[]; scopeType: string }; hook: DcHook } | Reply => {
    const list = hooksOf(ctx);
    if (isReply(list)) return list;
    const hook = list.hooks.find((h) => String(h.id) === ctx.params.webhookId);
    return hook ? { list, hook } : dcError(404, `No webhook exists with ID ${ctx.params.webhookId}.`);
  };
  return [
    {
      method: "GET",
      path: base,
      permission,
      handle: (ctx) => {
        const list = hooksOf(ctx);
        return isReply(list)
          ? list
          : dcPage(
              ctx,
              list.hooks.map((h) => render(ctx, h, list.scopeType)),
            );
      },
    },
    {
      method: "POST",
      path: base,
      permission,
      handle: (ctx) => {
        const list = hooksOf(ctx);
        if (isReply(list)) return list;
        const b = body(ctx);
        const bad = validate(b);
        if (bad) return bad;
        const now = Date.now();
        const hook: DcHook = { id: ctx.store.dc.id(), ...fields(b), createdDate: now, updatedDate: now };
        list.hooks.push(hook);
        return { status: 200, body: render(ctx, hook, list.scopeType) };
      },
    },
    {
      method: "GET",
      path: `${base}/:webhookId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        return isReply(r) ? r : { status: 200, body: render(ctx, r.hook, r.list.scopeType) };
      },
    },
    {
      method: "PUT",
      path: `${base}/:webhookId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        if (isReply(r)) return r;
        const b = { name: r.hook.name, url: r.hook.url, events: r.hook.events, ...body(ctx) };
        const bad = validate(b);
        if (bad) return bad;
        Object.assign(r.hook, fields(b), { updatedDate: Date.now() });
        return { status: 200, body: render(ctx, r.hook, r.list.scopeType) };
      },
    },
    {
      method: "DELETE",
      path: `${base}/:webhookId`,
      permission,
      handle: (ctx) => {
        const r = one(ctx);
        if (isReply(r)) return r;
        r.list.hooks.splice(r.list.hooks.indexOf(r.hook), 1);
        return { status: 204 };
      },
    },
  ];
}

export const dcWebhookRoutes: Route[] = [...routesAt(REPO), ...routesAt(PROJECT)];
