// PipelineKnownHost: a host Bitbucket Pipelines trusts when its builds connect over SSH
// (the known_hosts entry for a deploy target).
//
//   create  GET {hosts}?pagelen=100 (adopt the entry for the same hostname), else POST {hosts}
//           -> 201 (409 = the hostname exists: adopt it)
//   read    GET {hosts}/{uuid} -> 200, 404 = gone
//   update  PUT {hosts}/{uuid} -> 200
//   delete  DELETE {hosts}/{uuid} -> 204, 404 = already gone
// where {hosts} is /repositories/{ws}/{repo}/pipelines_config/ssh/known_hosts.
//
// API facts that shaped it (shared/bitbucket-api.md §4.3):
// - The key travels as {key_type, key}, the base64 blob alone; we take a normal
//   `type base64 [comment]` line and split it.
// - Hostnames are unique per repository (409). Whether PUT may rename one is undocumented, so a
//   hostname change replaces the entry.

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { request, deleteIfExists } from "../api/client";
import { pipelinesSshPath, seg } from "../api/cloud";
import { findIn, readListed } from "../api/paginate";
import { isKeyError, KEY_TYPES, keyShown, parsePublicKey } from "../ssh";
import { configure, partialFailure, statusOf, withContext, type CheckFailure } from "./common";
import {
  claim,
  createOrAdopt,
  diffOf,
  holdUnlessReplaced,
  keptByThisRun,
  ownershipOf,
  type Changes,
  type Lookup,
  type Ownership,
  replacedFields,
} from "./ownership";
import { naturalKey } from "../names";
import { checkSlug, checkCloudOnly } from "./validate";

export interface PipelineKnownHostArgs {
  /** Workspace slug. Changing it replaces the entry. */
  workspace: pulumi.Input<string>;
  /** Repository slug. Changing it replaces the entry. */
  repository: pulumi.Input<string>;
  /** Host name, or `[host]:port` for a non-standard port. Changing it replaces the entry. */
  hostname: pulumi.Input<string>;
  /** The host's public key, e.g. a line of `ssh-keyscan` output without the host name. Updates in place. */
  publicKey: pulumi.Input<string>;
  /** Take over an existing entry for the same host name even when its key differs. Default false: only an identical entry is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
}

export type PipelineKnownHostInputs = pulumi.Unwrap<PipelineKnownHostArgs>;

interface Normalized extends Ownership {
  workspace: string;
  repository: string;
  hostname: string;
  publicKey: string;
}

export interface PipelineKnownHostOutputs extends Omit<Normalized, "adopt" | "resourceName"> {
  /** True when the entry existed and was adopted rather than created. */
  adopted?: boolean;
  uuid: string;
  md5Fingerprint?: string;
  sha256Fingerprint?: string;
}

export const REPLACE_ON = ["workspace", "repository", "hostname"] as const;
export const SECRET_OUTPUTS: string[] = [];

export interface ApiHost {
  uuid: string;
  hostname: string;
  public_key?: { key_type?: string; key?: string; md5_fingerprint?: string; sha256_fingerprint?: string };
}

// ---- normalize, toApi, fromApi ---------------------------------------------------------

const HOSTNAME = /^(\[[^\]\s]+\]:\d+|[^\s[\]]+)$/;

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  checkCloudOnly(
    "PipelineKnownHost",
    failures,
    "Data Center has no Pipelines; keep known hosts in your CI server",
  );
  const workspace =
    checkSlug(raw, "workspace", failures, { required: "the workspace slug, e.g. acme" }) ?? "";
  const repository = checkSlug(raw, "repository", failures, { required: "the repository slug" }) ?? "";
  const hostname =
    checkSlug(raw, "hostname", failures, {
      required: "the host name, e.g. deploy.example.com",
      pattern: HOSTNAME,
      what: "a host name or [host]:port",
    }) ?? "";
  const pub = parsePublicKey(withoutHost(raw.publicKey));
  if (isKeyError(pub)) failures.push({ property: "publicKey", reason: `publicKey ${pub.error}` });
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      workspace,
      repository,
      hostname,
      publicKey: isKeyError(pub) ? "" : pub.normalized,
    },
    failures,
  };
}

/** `ssh-keyscan` prints `host type base64`: accept such a line, dropping the host. */
function withoutHost(text: unknown): unknown {
  if (typeof text !== "string") return text;
  const parts = text.trim().split(/\s+/);
  return parts.length >= 3 && !KEY_TYPES.includes(parts[0] ?? "") && KEY_TYPES.includes(parts[1] ?? "")
    ? parts.slice(1).join(" ")
    : text;
}

function toApi(n: Normalized) {
  const [key_type, key] = n.publicKey.split(" ");
  return { hostname: n.hostname, public_key: { key_type, key } };
}

function fromApi(n: { workspace: string; repository: string }, h: ApiHost): PipelineKnownHostOutputs {
  return {
    workspace: n.workspace,
    repository: n.repository,
    hostname: h.hostname,
    publicKey: `${h.public_key?.key_type ?? ""} ${h.public_key?.key ?? ""}`.trim(),
    uuid: h.uuid,
    ...(h.public_key?.md5_fingerprint && { md5Fingerprint: h.public_key.md5_fingerprint }),
    ...(h.public_key?.sha256_fingerprint && { sha256Fingerprint: h.public_key.sha256_fingerprint }),
  };
}

const hostsPath = (n: { workspace: string; repository: string }) =>
  `${pipelinesSshPath(n.workspace, n.repository)}/known_hosts`;
const hostPath = (n: { workspace: string; repository: string }, uuid: string) =>
  `${hostsPath(n)}/${seg(uuid)}`;
const objectKey = (uuid: string) => `PipelineKnownHost:${uuid}`;
const idOf = (n: { workspace: string; repository: string }, uuid: string) =>
  `${n.workspace}/${n.repository}/${uuid}`;

function locate(id: string, props: Partial<PipelineKnownHostOutputs>) {
  const [workspace = "", repository = "", uuid = ""] = id.split("/");
  return {
    where: { workspace: props.workspace ?? workspace, repository: props.repository ?? repository },
    uuid: props.uuid ?? uuid,
  };
}

/** Where the declared entry would be found (same host name), and how one found compares. */
export function lookup(n: Normalized): Lookup<ApiHost> {
  return {
    what: `known host ${n.hostname} on ${n.workspace}/${n.repository}`,
    natural: naturalKey.knownHost(n.workspace, n.repository, n.hostname),
    reads: [hostsPath(n)],
    find: (fresh) => findIn<ApiHost>(hostsPath(n), (h) => h.hostname === n.hostname, { fresh }),
    differences: (h) => {
      const live = fromApi(n, h).publicKey;
      return live === n.publicKey
        ? []
        : [{ field: "publicKey", live: keyShown(live), declared: keyShown(n.publicKey) }];
    },
  };
}

/** What diff finds for a known host the stack holds (state `olds`); plan calls it too. */
export async function changesOf(olds: PipelineKnownHostOutputs, news: Normalized): Promise<Changes> {
  const replaces: string[] = await replacedFields(REPLACE_ON, olds, news);
  const changed = olds.publicKey !== news.publicKey ? [...replaces, "publicKey"] : [...replaces];
  return { changed, replaces, deleteBeforeReplace: false };
}

// ---- the provider -------------------------------------------------------------------------

export const pipelineKnownHostProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(id: string, olds: PipelineKnownHostOutputs, news: Normalized) {
    const { uuid } = locate(id, olds);
    return holdUnlessReplaced(diffOf(await changesOf(olds, news)), objectKey(uuid), news.resourceName);
  },

  async create(inputs: Normalized) {
    const found = lookup(inputs);
    const what = found.what;
    return createOrAdopt<ApiHost, PipelineKnownHostOutputs>({
      ...found,
      ownership: inputs,
      key: (h) => objectKey(h.uuid),
      post: async () => (await request<ApiHost>("POST", hostsPath(inputs), { body: toApi(inputs) })).data,
      exists: (e) => statusOf(e) === 409,
      created: (h) => ({ id: idOf(inputs, h.uuid), outs: fromApi(inputs, h) }),
      adopt: async (h) => {
        const id = idOf(inputs, h.uuid);
        if (fromApi(inputs, h).publicKey === inputs.publicKey) return { id, outs: fromApi(inputs, h) };
        try {
          const { data } = await request<ApiHost>("PUT", hostPath(inputs, h.uuid), { body: toApi(inputs) });
          return { id, outs: fromApi(inputs, data) };
        } catch (e) {
          throw partialFailure(e, id, fromApi(inputs, h), `create ${what} (adopting the existing entry)`);
        }
      },
    });
  },

  async read(id: string, props: PipelineKnownHostOutputs) {
    const { where, uuid } = locate(id, props);
    let h: ApiHost | undefined;
    try {
      h = await readListed<ApiHost>(hostsPath(where), (x) => x.uuid === uuid);
    } catch (e) {
      throw withContext(
        e,
        `read known host ${props.hostname ?? uuid} on ${where.workspace}/${where.repository}`,
      );
    }
    if (!h) return {};
    const outs = { ...fromApi(where, h), ...(props.adopted && { adopted: true }) };
    const { uuid: _u, md5Fingerprint: _m, sha256Fingerprint: _s, adopted: _a, ...inputs } = outs;
    return { id, props: outs, inputs };
  },

  async update(id: string, olds: PipelineKnownHostOutputs, news: Normalized) {
    const { where, uuid } = locate(id, olds);
    claim(
      objectKey(uuid),
      `known host ${news.hostname} on ${where.workspace}/${where.repository}`,
      news.resourceName,
      "updated",
    );
    try {
      const { data } = await request<ApiHost>("PUT", hostPath(where, uuid), { body: toApi(news) });
      return { outs: { ...fromApi(where, data), ...(olds.adopted && { adopted: true }) } };
    } catch (e) {
      throw withContext(e, `update known host ${news.hostname} on ${where.workspace}/${where.repository}`);
    }
  },

  async delete(id: string, props: PipelineKnownHostOutputs) {
    const { where, uuid } = locate(id, props);
    const what = `known host ${props.hostname ?? uuid} on ${where.workspace}/${where.repository}`;
    if (keptByThisRun(objectKey(uuid), what)) return;
    try {
      await deleteIfExists(hostPath(where, uuid));
    } catch (e) {
      throw withContext(
        e,
        `delete known host ${props.hostname ?? uuid} on ${where.workspace}/${where.repository}`,
      );
    }
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class PipelineKnownHost extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly workspace: pulumi.Output<string>;
  declare public readonly repository: pulumi.Output<string>;
  declare public readonly hostname: pulumi.Output<string>;
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly uuid: pulumi.Output<string>;
  declare public readonly md5Fingerprint: pulumi.Output<string | undefined>;
  declare public readonly sha256Fingerprint: pulumi.Output<string | undefined>;
  /** True when the entry existed and was adopted rather than created. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: PipelineKnownHostArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      resourceName: name,
      uuid: undefined,
      md5Fingerprint: undefined,
      sha256Fingerprint: undefined,
      adopted: undefined,
    };
    super(shim("PipelineKnownHost"), name, props, opts, "bitbucket", "PipelineKnownHost");
  }
}
