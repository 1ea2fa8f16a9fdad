// Pipelines variables at three levels (shared/bitbucket-api.md §4.1): repository
// (`pipelines_config`, underscore), workspace (`pipelines-config`, hyphen) and deployment
// environment (no GET by uuid: read by listing). Create answers 201 + Location; a duplicate
// key is a 409; a secured variable's `value` is absent from every response. Environments are
// listed by name (`GET .../environments`), which is how an environment uuid is found.
// Not documented, so kept lenient here: renaming a key or un-securing through PUT.

import { error, page, type Ctx, type Reply, type Route } from "../server";
import { braced, type Variable } from "../store";
import { body, braces, isReply, repoOf, workspaceOf } from "./common";

/** Variable names: ASCII letters, digits and underscores, not starting with a digit (Pipelines docs, "User variables"). */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Scope {
  vars: Variable[];
  type: "pipeline_variable" | "deployment_variable";
  self: string;
}

function scopeOf(ctx: Ctx): Scope | Reply {
  if (ctx.params.repo_slug === undefined) {
    const ws = workspaceOf(ctx);
    if (isReply(ws)) return ws;
    return {
      vars: ws.variables,
      type: "pipeline_variable",
      self: `${ctx.origin}/2.0/workspaces/${ws.slug}/pipelines-config/variables`,
    };
  }
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  const base = `${ctx.origin}/2.0/repositories/${r.ws.slug}/${r.repo.slug}`;
  if (ctx.params.environment_uuid === undefined) {
    return { vars: r.repo.variables, type: "pipeline_variable", self: `${base}/pipelines_config/variables` };
  }
  const env = r.repo.environments.find((e) => e.uuid === braces(ctx.params.environment_uuid ?? ""));
  if (!env) return error(404, `Environment ${ctx.params.environment_uuid} not found`);
  return {
    vars: env.variables,
    type: "deployment_variable",
    self: `${base}/deployments_config/environments/${encodeURIComponent(env.uuid)}/variables`,
  };
}

const render = (s: Scope, v: Variable) => ({
  type: s.type,
  uuid: v.uuid,
  key: v.key,
  secured: v.secured,
  ...(!v.secured && { value: v.value }),
});

function invalid(b: Record<string, unknown>, creating: boolean): Reply | undefined {
  if (creating && (typeof b.key !== "string" || b.key === ""))
    return error(400, "Bad request", { fields: { key: ["This field is required."] } });
  if (b.key !== undefined && (typeof b.key !== "string" || !NAME.test(b.key))) {
    return error(400, "Bad request", {
      fields: {
        key: [
          "Variable names can only contain ASCII letters, digits and underscores and cannot start with a digit.",
        ],
      },
    });
  }
  if (b.value !== undefined && typeof b.value !== "string")
    return error(400, "Bad request", { fields: { value: ["Not a string."] } });
  return undefined;
}

function list(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  return isReply(s)
    ? s
    : page(
        ctx,
        s.vars.map((v) => render(s, v)),
      );
}

function create(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const b = body(ctx);
  const bad = invalid(b, true);
  if (bad) return bad;
  if (s.vars.some((v) => v.key === b.key))
    return error(409, "A variable with the provided key already exists.");
  const v: Variable = {
    uuid: braced(),
    key: b.key as string,
    value: typeof b.value === "string" ? b.value : "",
    secured: b.secured === true,
  };
  s.vars.push(v);
  return {
    status: 201,
    body: render(s, v),
    headers: { Location: `${s.self}/${encodeURIComponent(v.uuid)}` },
  };
}

const find = (s: Scope, ctx: Ctx) => s.vars.find((v) => v.uuid === braces(ctx.params.variable_uuid ?? ""));

function get(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const v = find(s, ctx);
  return v ? { status: 200, body: render(s, v) } : error(404, "Variable not found");
}

function update(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const v = find(s, ctx);
  if (!v) return error(404, "Variable not found");
  const b = body(ctx);
  const bad = invalid(b, false);
  if (bad) return bad;
  if (typeof b.key === "string" && b.key !== v.key && s.vars.some((o) => o.key === b.key)) {
    return error(409, "A variable with the provided key already exists.");
  }
  if (typeof b.key === "string") v.key = b.key;
  if (typeof b.value === "string") v.value = b.value;
  if (typeof b.secured === "boolean") v.secured = b.secured;
  return { status: 200, body: render(s, v) };
}

function remove(ctx: Ctx): Reply {
  const s = scopeOf(ctx);
  if (isReply(s)) return s;
  const i = s.vars.findIndex((v) => v === find(s, ctx));
  if (i < 0) return error(404, "Variable not found");
  s.vars.splice(i, 1);
  return { status: 204 };
}

function environments(ctx: Ctx): Reply {
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  return page(
    ctx,
    r.repo.environments.map((e) => ({
      type: "deployment_environment",
      uuid: e.uuid,
      name: e.name,
      slug: e.name.toLowerCase(),
    })),
  );
}

const read = () => ["pipeline"];
const write = () => ["pipeline:variable"];
const REPO = "/2.0/repositories/:workspace/:repo_slug/pipelines_config/variables";
const WS = "/2.0/workspaces/:workspace/pipelines-config/variables";
const ENV =
  "/2.0/repositories/:workspace/:repo_slug/deployments_config/environments/:environment_uuid/variables";

export const variableRoutes: Route[] = [
  ...[REPO, WS].flatMap((base) => [
    { method: "GET", path: base, scopes: read, handle: list },
    { method: "POST", path: base, scopes: write, handle: create },
    { method: "GET", path: `${base}/:variable_uuid`, scopes: read, handle: get },
    { method: "PUT", path: `${base}/:variable_uuid`, scopes: write, handle: update },
    { method: "DELETE", path: `${base}/:variable_uuid`, scopes: write, handle: remove },
  ]),
  { method: "GET", path: ENV, scopes: read, handle: list },
  { method: "POST", path: ENV, scopes: write, handle: create },
  { method: "PUT", path: `${ENV}/:variable_uuid`, scopes: write, handle: update },
  { method: "DELETE", path: `${ENV}/:variable_uuid`, scopes: write, handle: remove },
  {
    method: "GET",
    path: "/2.0/repositories/:workspace/:repo_slug/environments",
    scopes: read,
    handle: environments,
  },
];
