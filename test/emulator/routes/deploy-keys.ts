// Repository and project deploy keys (shared/bitbucket-api.md §3.1, §3.2): create answers
// 200 (not 201) with an integer id; the key's comment is split off into `comment`; a key
// already on the repository/project, or an invalid one, is a 400. Repository keys take a PUT
// (label and comment; same key material), project keys have no PUT. Access tokens cannot
// add, update or delete repository deploy keys (Cloud narrative, "Access tokens"); the
// exact wording of that 403 is not documented.

import { parsePublicKey, isKeyError } from "../../../provider/ssh";
import { error, page, type Ctx, type Reply, type Route } from "../server";
import type { KeyRec, Workspace } from "../store";
import { body, isReply, projectOf, repoOf, repoRef } from "./common";

interface Owner {
  keys: KeyRec[];
  ref: Record<string, unknown>;
  kind: "repository" | "project";
  self: string;
}

function ownerOf(ctx: Ctx): Owner | Reply {
  if (ctx.params.project_key !== undefined) {
    const p = projectOf(ctx);
    if (isReply(p)) return p;
    return {
      keys: p.project.deployKeys,
      ref: { type: "project", key: p.project.key, name: p.project.key, uuid: p.project.uuid },
      kind: "project",
      self: `${ctx.origin}/2.0/workspaces/${p.ws.slug}/projects/${p.project.key}/deploy-keys`,
    };
  }
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  return {
    keys: r.repo.deployKeys,
    ref: repoRef(r.ws as Workspace, r.repo),
    kind: "repository",
    self: `${ctx.origin}/2.0/repositories/${r.ws.slug}/${r.repo.slug}/deploy-keys`,
  };
}

function render(o: Owner, k: KeyRec) {
  return {
    id: k.id,
    type: o.kind === "project" ? "project_deploy_key" : "deploy_key",
    key: k.key,
    comment: k.comment,
    label: k.label,
    created_on: k.created_on,
    last_used: null,
    [o.kind]: o.ref,
    links: { self: { href: `${o.self}/${k.id}` } },
  };
}

const refuseAccessTokens = (ctx: Ctx): Reply | undefined =>
  ctx.credential?.kind === "access-token"
    ? error(403, "Access tokens cannot be used to add, update or delete deploy keys.")
    : undefined;

function find(o: Owner, ctx: Ctx): KeyRec | undefined {
  return o.keys.find((k) => String(k.id) === ctx.params.key_id);
}

function list(ctx: Ctx): Reply {
  const o = ownerOf(ctx);
  return isReply(o)
    ? o
    : page(
        ctx,
        o.keys.map((k) => render(o, k)),
      );
}

function get(ctx: Ctx): Reply {
  const o = ownerOf(ctx);
  if (isReply(o)) return o;
  const k = find(o, ctx);
  return k ? { status: 200, body: render(o, k) } : error(404, "Resource not found");
}

function create(ctx: Ctx): Reply {
  const o = ownerOf(ctx);
  if (isReply(o)) return o;
  const refused = refuseAccessTokens(ctx);
  if (refused) return refused;
  const b = body(ctx);
  const parsed = parsePublicKey(b.key);
  if (isKeyError(parsed))
    return error(400, "Invalid deploy key inputs", { fields: { key: ["Invalid SSH key"] } });
  if (o.keys.some((k) => k.fingerprint === parsed.fingerprint)) {
    return error(400, "Invalid deploy key inputs", { fields: { key: ["This key is already in use"] } });
  }
  const rec = ctx.store.keyRecord(
    parsed.normalized,
    parsed.comment,
    typeof b.label === "string" ? b.label : "",
    parsed.fingerprint,
  );
  o.keys.push(rec);
  return { status: 200, body: render(o, rec) };
}

function update(ctx: Ctx): Reply {
  const o = ownerOf(ctx);
  if (isReply(o)) return o;
  const refused = refuseAccessTokens(ctx);
  if (refused) return refused;
  const k = find(o, ctx);
  if (!k) return error(404, "Resource not found");
  const b = body(ctx);
  const parsed = parsePublicKey(b.key);
  // "The same key needs to be passed in but the comment and label can change."
  if (isKeyError(parsed) || parsed.fingerprint !== k.fingerprint) {
    return error(400, "Invalid deploy key inputs", { fields: { key: ["The key cannot be changed"] } });
  }
  k.comment = parsed.comment;
  if (typeof b.label === "string") k.label = b.label;
  return { status: 200, body: render(o, k) };
}

function remove(ctx: Ctx): Reply {
  const o = ownerOf(ctx);
  if (isReply(o)) return o;
  const refused = refuseAccessTokens(ctx);
  if (refused) return refused;
  const i = o.keys.findIndex((k) => String(k.id) === ctx.params.key_id);
  if (i < 0) return error(404, "Resource not found");
  o.keys.splice(i, 1);
  return { status: 204 };
}

const REPO = "/2.0/repositories/:workspace/:repo_slug/deploy-keys";
const PROJECT = "/2.0/workspaces/:workspace/projects/:project_key/deploy-keys";
const repoScopes = () => ["repository", "repository:admin"];
const projectScopes = () => ["project", "project:admin"];

export const deployKeyRoutes: Route[] = [
  { method: "GET", path: REPO, scopes: repoScopes, handle: list },
  { method: "POST", path: REPO, scopes: repoScopes, handle: create },
  { method: "GET", path: `${REPO}/:key_id`, scopes: repoScopes, handle: get },
  { method: "PUT", path: `${REPO}/:key_id`, scopes: repoScopes, handle: update },
  { method: "DELETE", path: `${REPO}/:key_id`, scopes: repoScopes, handle: remove },
  { method: "GET", path: PROJECT, scopes: projectScopes, handle: list },
  { method: "POST", path: PROJECT, scopes: projectScopes, handle: create },
  { method: "GET", path: `${PROJECT}/:key_id`, scopes: projectScopes, handle: get },
  { method: "DELETE", path: `${PROJECT}/:key_id`, scopes: projectScopes, handle: remove },
];
