// DeployKey: an SSH key that can read (and push to) one repository, or every repository of a
// project, without a user account.
//
//   create  GET  {keys}?pagelen=100 (adopt the key with the same fingerprint), else POST {keys} -> 200
//   read    GET  {keys}/{id} -> 200, 404 = gone
//   update  PUT  {keys}/{id} -> 200 (repository keys only: label and comment; same key material)
//   delete  DELETE {keys}/{id} -> 204, 404 = already gone
// where {keys} is /repositories/{ws}/{repo}/deploy-keys or /workspaces/{ws}/projects/{key}/deploy-keys.
//
// API facts that shaped it (shared/bitbucket-api.md §3.1, §3.2):
// - Create answers 200 (not 201) and the id is an integer.
// - Bitbucket strips the comment from `key` into `comment`: keys are compared as `type base64`
//   (by fingerprint), and the comment never causes a diff.
// - Key material cannot change: a new key replaces the old one, deleting it first, because
//   Bitbucket rejects the same key twice.
// - Project deploy keys have no PUT: a label change replaces them too.
// - Access tokens cannot add, update or delete deploy keys (Cloud narrative, "Access tokens").

import * as pulumi from "@pulumi/pulumi";
import { shim } from "./shim";
import { request, deleteIfExists } from "../api/client";
import { deployKeysPath, ownerLabel, seg, type KeyOwner } from "../api/cloud";
import { isApiError } from "../api/errors";
import { findIn, readListed } from "../api/paginate";
import { isKeyError, parsePublicKey } from "../ssh";
import { configure, partialFailure, withContext, type CheckFailure } from "./common";
import {
  claim,
  createOrAdopt,
  keptByThisRun,
  ownershipOf,
  type Lookup,
  type Ownership,
  replacedFields,
} from "./ownership";
import { naturalKey } from "../names";
import { checkOwner, checkPublicKey, checkText } from "./validate";

export interface DeployKeyArgs {
  /** Workspace slug (or `{uuid}`). Changing it replaces the key. */
  workspace: pulumi.Input<string>;
  /** Repository slug: a repository deploy key. Give this or `project`. Changing it replaces the key. */
  repository?: pulumi.Input<string>;
  /** Project key (e.g. `PROJ`): a project deploy key, for every repository in it. Changing it replaces the key. */
  project?: pulumi.Input<string>;
  /** OpenSSH public key, e.g. the contents of `id_ed25519.pub`. Its comment is kept apart and never causes a change. Changing the key material replaces it (the old one is deleted first). */
  key: pulumi.Input<string>;
  /** Label shown in Bitbucket. Default "". Updates a repository key in place; replaces a project key (Bitbucket has no update for those). */
  label?: pulumi.Input<string>;
  /** Take over the same key already on the repository or project even when its label differs. Default false: only an identical key is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
}

export type DeployKeyInputs = pulumi.Unwrap<DeployKeyArgs>;

/** Inputs after `check`. */
interface Normalized extends KeyOwner, Ownership {
  /** `type base64`. */
  key: string;
  /** The comment that followed the key, sent on create; informational. */
  keyComment: string;
  label: string;
}

export interface DeployKeyOutputs extends Omit<Normalized, "adopt" | "resourceName"> {
  /** True when the key was already there and was adopted rather than added. */
  adopted?: boolean;
  /** Bitbucket's integer id for the key. */
  keyId: number;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** The comment Bitbucket stored. */
  comment: string;
  createdOn?: string;
}

export const REPLACE_ON = ["workspace", "repository", "project", "key"] as const;
export const SECRET_OUTPUTS: string[] = [];

export interface ApiKey {
  id: number;
  key: string;
  comment?: string;
  label?: string;
  created_on?: string;
  added_on?: string;
}

// ---- normalize, toApi, fromApi ---------------------------------------------------------

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const owner = checkOwner(raw, failures);
  const { key, keyComment } = checkPublicKey(raw, "key", failures);
  const label = checkText(raw, "label", failures);
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      ...owner,
      key,
      keyComment,
      label,
    },
    failures,
  };
}

const fullKey = (n: Normalized) => `${n.key} ${n.keyComment}`.trim();
const toApi = (n: Normalized) => ({ key: fullKey(n), label: n.label });

function fingerprintOfApi(k: ApiKey): string {
  const p = parsePublicKey(k.key);
  return isKeyError(p) ? "" : p.fingerprint;
}

function fromApi(owner: KeyOwner, k: ApiKey): DeployKeyOutputs {
  const p = parsePublicKey(k.key);
  return {
    workspace: owner.workspace,
    ...(owner.repository !== undefined && { repository: owner.repository }),
    ...(owner.project !== undefined && { project: owner.project }),
    key: isKeyError(p) ? k.key : p.normalized,
    keyComment: k.comment ?? "",
    label: k.label ?? "",
    keyId: k.id,
    fingerprint: isKeyError(p) ? "" : p.fingerprint,
    comment: k.comment ?? "",
    ...((k.created_on ?? k.added_on) && { createdOn: k.created_on ?? k.added_on }),
  };
}

const keyPath = (o: KeyOwner, keyId: number | string) => `${deployKeysPath(o)}/${seg(String(keyId))}`;

/** Deploy key ids are integers per kind (repository or project keys). */
const objectKey = (o: KeyOwner, keyId: number | string) =>
  `DeployKey:${o.project !== undefined ? "project" : "repository"}:${keyId}`;

function idOf(o: KeyOwner, keyId: number): string {
  return o.project !== undefined
    ? `${o.workspace}/projects/${o.project}/${keyId}`
    : `${o.workspace}/${o.repository}/${keyId}`;
}

/** Owner and key id from state, or from the id when state lacks them. */
function locate(id: string, props: Partial<DeployKeyOutputs>): { owner: KeyOwner; keyId: string } {
  if (props.workspace && props.keyId !== undefined) {
    return {
      owner: { workspace: props.workspace, repository: props.repository, project: props.project },
      keyId: String(props.keyId),
    };
  }
  const p = id.split("/");
  return p.length === 4
    ? { owner: { workspace: p[0] ?? "", project: p[2] }, keyId: p[3] ?? "" }
    : { owner: { workspace: p[0] ?? "", repository: p[1] }, keyId: p[2] ?? "" };
}

/** Bitbucket's 403 for an access token managing deploy keys says little; say what to use instead. */
function hint403(e: unknown): unknown {
  if (isApiError(e) && e.status === 403 && !e.requiredScopes) {
    e.message +=
      " - access tokens cannot add, update or delete deploy keys: use an OAuth consumer or an API token with repository:admin";
  }
  return e;
}

const explain = (e: unknown, what: string) => withContext(hint403(e), what);

/** Where the declared key would be found (same fingerprint in the same place), and how one found compares. */
export function lookup(n: Normalized): Lookup<ApiKey> {
  const fingerprint = fingerprintOfApi({ id: 0, key: n.key });
  return {
    what: `deploy key ${fingerprint} on ${ownerLabel(n)}`,
    natural: naturalKey.deployKey(
      n.workspace,
      n.project !== undefined ? `project:${n.project}` : (n.repository ?? ""),
      fingerprint,
    ),
    find: (fresh) => findIn<ApiKey>(deployKeysPath(n), (k) => fingerprintOfApi(k) === fingerprint, { fresh }),
    differences: (k) =>
      (k.label ?? "") === n.label
        ? []
        : [{ field: "label", live: `"${k.label ?? ""}"`, declared: `"${n.label}"` }],
  };
}

// ---- the provider -------------------------------------------------------------------------

export const deployKeyProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: DeployKeyOutputs, news: Normalized) {
    const replaces: string[] = await replacedFields(REPLACE_ON, olds, news);
    const labelChanged = (olds.label ?? "") !== news.label;
    if (labelChanged && news.project !== undefined) replaces.push("label");
    return { changes: replaces.length > 0 || labelChanged, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: Normalized) {
    const owner: KeyOwner = inputs;
    const found = lookup(inputs);
    const what = found.what;
    return createOrAdopt<ApiKey, DeployKeyOutputs>({
      ...found,
      ownership: inputs,
      post: async () => (await request<ApiKey>("POST", deployKeysPath(owner), { body: toApi(inputs) })).data,
      created: (k) => ({ id: idOf(owner, k.id), outs: withInputComment(fromApi(owner, k), inputs) }),
      key: (k) => objectKey(owner, k.id),
      adopt: async (k) => {
        const id = idOf(owner, k.id);
        if ((k.label ?? "") === inputs.label)
          return { id, outs: withInputComment(fromApi(owner, k), inputs) };
        try {
          if (owner.project === undefined) {
            const { data } = await request<ApiKey>("PUT", keyPath(owner, k.id), {
              body: toApi(inputs),
            });
            return { id, outs: withInputComment(fromApi(owner, data), inputs) };
          }
          // A project key's label cannot change: re-add it with the declared label.
          await deleteIfExists(keyPath(owner, k.id));
          const { data } = await request<ApiKey>("POST", deployKeysPath(owner), { body: toApi(inputs) });
          return { id: idOf(owner, data.id), outs: withInputComment(fromApi(owner, data), inputs) };
        } catch (e) {
          throw partialFailure(
            hint403(e),
            id,
            fromApi(owner, k),
            `create ${what} (adopting existing key ${k.id})`,
          );
        }
      },
    }).catch((e) => {
      throw hint403(e);
    });
  },

  async read(id: string, props: DeployKeyOutputs) {
    const { owner, keyId } = locate(id, props);
    let k: ApiKey | undefined;
    try {
      k = await readListed<ApiKey>(deployKeysPath(owner), (x) => String(x.id) === String(keyId));
    } catch (e) {
      throw withContext(e, `read deploy key ${keyId} on ${ownerLabel(owner)}`);
    }
    if (!k) return {};
    const outs = fromApi(owner, k);
    const { keyId: _i, fingerprint: _f, comment: _c, createdOn: _o, ...inputs } = outs;
    return { id: idOf(owner, k.id), props: { ...outs, ...(props.adopted && { adopted: true }) }, inputs };
  },

  async update(id: string, olds: DeployKeyOutputs, news: Normalized) {
    const { owner, keyId } = locate(id, olds);
    claim(
      objectKey(owner, keyId),
      `deploy key ${olds.fingerprint} on ${ownerLabel(owner)}`,
      news.resourceName,
      "updated",
    );
    try {
      const { data } = await request<ApiKey>("PUT", keyPath(owner, keyId), {
        body: toApi(news),
      });
      return {
        outs: { ...withInputComment(fromApi(owner, data), news), ...(olds.adopted && { adopted: true }) },
      };
    } catch (e) {
      throw explain(e, `update deploy key ${olds.fingerprint} on ${ownerLabel(owner)}`);
    }
  },

  async delete(id: string, props: DeployKeyOutputs) {
    const { owner, keyId } = locate(id, props);
    if (
      keptByThisRun(
        objectKey(owner, keyId),
        `deploy key ${props.fingerprint ?? keyId} on ${ownerLabel(owner)}`,
      )
    )
      return;
    try {
      await deleteIfExists(keyPath(owner, keyId));
    } catch (e) {
      throw explain(e, `delete deploy key ${props.fingerprint ?? keyId} on ${ownerLabel(owner)}`);
    }
  },
};

/** State keeps the declared comment as `keyComment`, so a later check compares like with like. */
function withInputComment(outs: DeployKeyOutputs, n: Normalized): DeployKeyOutputs {
  return { ...outs, keyComment: n.keyComment };
}

// ---- the resource ---------------------------------------------------------------------------

export class DeployKey extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly workspace: pulumi.Output<string>;
  declare public readonly repository: pulumi.Output<string | undefined>;
  declare public readonly project: pulumi.Output<string | undefined>;
  declare public readonly key: pulumi.Output<string>;
  declare public readonly label: pulumi.Output<string>;
  declare public readonly keyId: pulumi.Output<number>;
  declare public readonly fingerprint: pulumi.Output<string>;
  declare public readonly comment: pulumi.Output<string>;
  declare public readonly createdOn: pulumi.Output<string | undefined>;
  /** True when the key was already there and was adopted rather than added. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: DeployKeyArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      resourceName: name,
      adopted: undefined,
      keyId: undefined,
      fingerprint: undefined,
      comment: undefined,
      createdOn: undefined,
    };
    super(shim("DeployKey"), name, props, opts, "bitbucket", "DeployKey");
  }
}
