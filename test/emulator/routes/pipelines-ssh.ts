// Pipelines SSH settings of a repository (shared/bitbucket-api.md §4.2, §4.3).
// key_pair: a singleton; PUT creates or replaces it, GET never returns the private key and
// is a 404 until a pair is set; DELETE 204 (404 when unset).
// known_hosts: POST 201 + Location, a duplicate hostname is a 409; the public key travels as
// {key_type, key} with the base64 blob only; fingerprints carry `md5:` / `SHA256:` prefixes.

import * as crypto from "crypto";
import { parsePublicKey, isKeyError } from "../../../provider/ssh";
import { error, page, type Ctx, type Reply, type Route } from "../server";
import { braced, type KnownHost } from "../store";
import { body, braces, isReply, repoOf } from "./common";

function keyPairGet(ctx: Ctx): Reply {
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  if (!r.repo.keyPair) return error(404, "No SSH key pair is configured for this repository.");
  return { status: 200, body: { type: "pipeline_ssh_key_pair", public_key: r.repo.keyPair.public_key } };
}

function keyPairPut(ctx: Ctx): Reply {
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  const b = body(ctx);
  if (typeof b.private_key !== "string" || !/PRIVATE KEY/.test(b.private_key)) {
    return error(400, "Bad request", { fields: { private_key: ["A private key is required."] } });
  }
  const pub = parsePublicKey(b.public_key);
  if (isKeyError(pub)) return error(400, "Bad request", { fields: { public_key: ["Invalid public key."] } });
  r.repo.keyPair = { private_key: b.private_key, public_key: pub.normalized };
  return { status: 200, body: { type: "pipeline_ssh_key_pair", public_key: pub.normalized } };
}

function keyPairDelete(ctx: Ctx): Reply {
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  if (!r.repo.keyPair) return error(404, "No SSH key pair is configured for this repository.");
  delete r.repo.keyPair;
  return { status: 204 };
}

function renderHost(h: KnownHost) {
  const blob = Buffer.from(h.key, "base64");
  const md5 = crypto
    .createHash("md5")
    .update(blob)
    .digest("hex")
    .replace(/(..)(?!$)/g, "$1:");
  return {
    type: "pipeline_known_host",
    uuid: h.uuid,
    hostname: h.hostname,
    public_key: {
      type: "pipeline_ssh_public_key",
      key_type: h.key_type,
      key: h.key,
      md5_fingerprint: `md5:${md5}`,
      sha256_fingerprint: `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
    },
  };
}

function hostBody(b: Record<string, unknown>): { hostname: string; key_type: string; key: string } | Reply {
  const pk = (b.public_key ?? {}) as { key_type?: unknown; key?: unknown };
  if (typeof b.hostname !== "string" || b.hostname === "")
    return error(400, "Bad request", { fields: { hostname: ["This field is required."] } });
  const parsed = parsePublicKey(`${String(pk.key_type)} ${String(pk.key)}`);
  if (isKeyError(parsed))
    return error(400, "Bad request", { fields: { public_key: ["Invalid public key."] } });
  return { hostname: b.hostname, key_type: parsed.type, key: parsed.base64 };
}

const knownHostRoutes = (base: string): Route[] => [
  {
    method: "GET",
    path: base,
    scopes: () => ["pipeline"],
    handle: (ctx) => {
      const r = repoOf(ctx);
      return isReply(r) ? r : page(ctx, r.repo.knownHosts.map(renderHost));
    },
  },
  {
    method: "POST",
    path: base,
    scopes: () => ["pipeline:variable"],
    handle: (ctx) => {
      const r = repoOf(ctx);
      if (isReply(r)) return r;
      const h = hostBody(body(ctx));
      if (isReply(h)) return h;
      if (r.repo.knownHosts.some((k) => k.hostname === h.hostname))
        return error(409, "A known host with the provided hostname already exists.");
      const rec: KnownHost = { uuid: braced(), ...h };
      r.repo.knownHosts.push(rec);
      return {
        status: 201,
        body: renderHost(rec),
        headers: { Location: `${ctx.origin}${ctx.path}/${encodeURIComponent(rec.uuid)}` },
      };
    },
  },
  {
    method: "GET",
    path: `${base}/:known_host_uuid`,
    scopes: () => ["pipeline"],
    handle: (ctx) => {
      const r = repoOf(ctx);
      if (isReply(r)) return r;
      const h = r.repo.knownHosts.find((k) => k.uuid === braces(ctx.params.known_host_uuid ?? ""));
      return h ? { status: 200, body: renderHost(h) } : error(404, "Known host not found");
    },
  },
  {
    method: "PUT",
    path: `${base}/:known_host_uuid`,
    scopes: () => ["pipeline:variable"],
    handle: (ctx) => {
      const r = repoOf(ctx);
      if (isReply(r)) return r;
      const rec = r.repo.knownHosts.find((k) => k.uuid === braces(ctx.params.known_host_uuid ?? ""));
      if (!rec) return error(404, "Known host not found");
      const h = hostBody(body(ctx));
      if (isReply(h)) return h;
      if (h.hostname !== rec.hostname && r.repo.knownHosts.some((k) => k.hostname === h.hostname)) {
        return error(409, "A known host with the provided hostname already exists.");
      }
      Object.assign(rec, h);
      return { status: 200, body: renderHost(rec) };
    },
  },
  {
    method: "DELETE",
    path: `${base}/:known_host_uuid`,
    scopes: () => ["pipeline:variable"],
    handle: (ctx) => {
      const r = repoOf(ctx);
      if (isReply(r)) return r;
      const i = r.repo.knownHosts.findIndex((k) => k.uuid === braces(ctx.params.known_host_uuid ?? ""));
      if (i < 0) return error(404, "Known host not found");
      r.repo.knownHosts.splice(i, 1);
      return { status: 204 };
    },
  },
];

const KEY_PAIR = "/2.0/repositories/:workspace/:repo_slug/pipelines_config/ssh/key_pair";

export const pipelinesSshRoutes: Route[] = [
  { method: "GET", path: KEY_PAIR, scopes: () => ["pipeline"], handle: keyPairGet },
  { method: "PUT", path: KEY_PAIR, scopes: () => ["pipeline:variable"], handle: keyPairPut },
  { method: "DELETE", path: KEY_PAIR, scopes: () => ["pipeline:variable"], handle: keyPairDelete },
  ...knownHostRoutes("/2.0/repositories/:workspace/:repo_slug/pipelines_config/ssh/known_hosts"),
];
