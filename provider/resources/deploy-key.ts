// DeployKey: an SSH key that can read (and push to) one repository, or every repository of a
// project, without a user account. Cloud deploy keys; on Data Center, SSH access keys. One
// lifecycle, a small adapter per flavor (KEY_API).
//
//   create  list {keys} (adopt the key with the same fingerprint), else POST {keys} -> Cloud 200, DC 201
//   read    from the run's listing of {keys}; not listed = gone
//   update  Cloud repository keys: PUT {keys}/{id} (label); DC: PUT {keys}/{id}/permission/{perm}
//   delete  DELETE {keys}/{id} -> 204, 404 = already gone (DC answers 204 even then)
// where {keys} is /repositories/{ws}/{repo}/deploy-keys or /workspaces/{ws}/projects/{key}/deploy-keys
// (Cloud), /rest/keys/latest/projects/{p}/repos/{r}/ssh or /rest/keys/latest/projects/{p}/ssh (DC).
//
// API facts that shaped it (shared/bitbucket-api.md §3.1, §3.2, §8.3):
// - Cloud create answers 200 (not 201) and the id is an integer.
// - Bitbucket strips the comment from `key` into `comment`: keys are compared as `type base64`
//   (by fingerprint), and the comment never causes a diff.
// - Key material cannot change: a new key replaces the old one, deleting it first, because
//   Bitbucket rejects the same key twice.
// - Cloud project deploy keys have no PUT: a label change replaces them too.
// - Access tokens cannot add, update or delete Cloud deploy keys (Cloud narrative, "Access tokens").
// - Data Center: the id is the underlying key's (`key.id`), shared by every repository and project
//   the same key is added to, so claims and ids include where; the permission (REPO_READ,
//   REPO_WRITE, REPO_ADMIN; PROJECT_* on projects) is the only thing that updates in place; the
//   label replaces.

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { request, deleteIfExists } from "../api/client";
import { deployKeysPath, ownerLabel, seg, type KeyOwner } from "../api/cloud";
import { dcAccessKeyPermissionPath, dcAccessKeysPath, dcScopeLabel } from "../api/datacenter";
import { isApiError } from "../api/errors";
import { findIn, readListed } from "../api/paginate";
import { isKeyError, parsePublicKey } from "../ssh";
import { configure, partialFailure, withContext, type CheckFailure } from "./common";
import {
  claim,
  createOrAdopt,
  diffOf,
  holdUnlessReplaced,
  keptByThisRun,
  ownershipOf,
  type Changes,
  type Difference,
  type Lookup,
  type Ownership,
  replacedFields,
} from "./ownership";
import { naturalKey } from "../names";
import {
  checkFlavor,
  checkOwner,
  checkProjectKey,
  checkPublicKey,
  checkSlug,
  checkText,
  stateFlavor,
  type Flavor,
} from "./validate";
import type { Policy } from "../policy/rules";

export interface DeployKeyArgs {
  /** `cloud` or `datacenter`. Default: the provider's `bitbucket:flavor`. Changing it replaces the key. */
  flavor?: pulumi.Input<Flavor>;
  /** Cloud: workspace slug (or `{uuid}`). Changing it replaces the key. */
  workspace?: pulumi.Input<string>;
  /** Repository slug: a repository deploy key. Cloud: give this or `project`; Data Center: with `project`. Changing it replaces the key. */
  repository?: pulumi.Input<string>;
  /** Project key (e.g. `PROJ`). Cloud: a project deploy key, for every repository in it. Data Center: the repository's project, or alone a project access key. Changing it replaces the key. */
  project?: pulumi.Input<string>;
  /** Data Center: what the key may do: `REPO_READ` (default), `REPO_WRITE` or `REPO_ADMIN` on a repository; `PROJECT_READ` (default), `PROJECT_WRITE` or `PROJECT_ADMIN` on a project. Updates in place. */
  permission?: pulumi.Input<string>;
  /** OpenSSH public key, e.g. the contents of `id_ed25519.pub`. Its comment is kept apart and never causes a change. Changing the key material replaces it (the old one is deleted first). */
  key: pulumi.Input<string>;
  /** Label shown in Bitbucket. Default "". Updates a Cloud repository key in place; replaces a Cloud project key and a Data Center key (no update for those). */
  label?: pulumi.Input<string>;
  /** Take over the same key already on the repository or project even when its label differs. Default false: only an identical key is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Rules of a policy this key must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
}

export type DeployKeyInputs = pulumi.Unwrap<DeployKeyArgs>;

/** Inputs after `check`. */
interface Normalized extends Omit<KeyOwner, "workspace">, Ownership {
  flavor: Flavor;
  /** Cloud only. */
  workspace?: string;
  /** Data Center only. */
  permission?: string;
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

export const REPLACE_ON = ["flavor", "workspace", "repository", "project", "key"] as const;

export const DC_REPO_PERMISSIONS = ["REPO_READ", "REPO_WRITE", "REPO_ADMIN"] as const;
export const DC_PROJECT_PERMISSIONS = ["PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN"] as const;
export const SECRET_OUTPUTS: string[] = [];

export interface ApiKey {
  id: number;
  key: string;
  comment?: string;
  label?: string;
  created_on?: string;
  added_on?: string;
}

/** Data Center's RestSshAccessKey as we read it. */
export interface DcAccessKey {
  key: { id: number; text: string; label?: string; createdDate?: number };
  permission: string;
}

/** A key as both flavors' adapters present it: Cloud's shape, plus Data Center's permission. */
type KeyView = ApiKey & { permission?: string };

/** What differs per flavor: where keys live and how one goes over the wire. */
interface KeyApi {
  collection(o: Normalized | Where): string;
  place(o: Normalized | Where): string;
  body(n: Normalized): Record<string, unknown>;
  view(raw: unknown): KeyView;
}

/** Where a key lives, as state records it. */
type Where = Pick<Normalized, "flavor" | "workspace" | "repository" | "project">;

const cloudOwner = (o: Where): KeyOwner => ({
  workspace: o.workspace ?? "",
  repository: o.repository,
  project: o.project,
});
const dcScope = (o: Where) => ({ project: o.project ?? "", repository: o.repository });

const KEY_API: Record<Flavor, KeyApi> = {
  cloud: {
    collection: (o) => deployKeysPath(cloudOwner(o)),
    place: (o) => ownerLabel(cloudOwner(o)),
    body: (n) => ({ key: fullKey(n), label: n.label }),
    view: (raw) => raw as ApiKey,
  },
  datacenter: {
    collection: (o) => dcAccessKeysPath(dcScope(o)),
    place: (o) => dcScopeLabel(dcScope(o)),
    body: (n) => ({
      key: { text: fullKey(n), ...(n.label && { label: n.label }) },
      permission: n.permission,
    }),
    view: (raw) => {
      const k = raw as DcAccessKey;
      const p = parsePublicKey(k.key.text);
      return {
        id: k.key.id,
        key: isKeyError(p) ? k.key.text : p.normalized,
        comment: isKeyError(p) ? "" : p.comment,
        label: k.key.label ?? "",
        permission: k.permission,
        ...(typeof k.key.createdDate === "number" && {
          created_on: new Date(k.key.createdDate).toISOString(),
        }),
      };
    },
  },
};

const apiOf = (o: { flavor?: Flavor }) => KEY_API[o.flavor ?? "cloud"];

// ---- normalize, toApi, fromApi ---------------------------------------------------------

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const flavor = checkFlavor(raw, failures, { cloudOnly: ["workspace"], dcOnly: ["permission"] });
  let where: Omit<Where, "flavor">;
  let permission: string | undefined;
  if (flavor === "cloud") where = checkOwner(raw, failures);
  else {
    const project = checkProjectKey(raw, failures, { required: true });
    const repository = checkSlug(raw, "repository", failures);
    where = { ...(project !== undefined && { project }), ...(repository !== undefined && { repository }) };
    const allowed: readonly string[] =
      repository === undefined ? DC_PROJECT_PERMISSIONS : DC_REPO_PERMISSIONS;
    permission =
      raw.permission === undefined || raw.permission === null ? allowed[0] : String(raw.permission).trim();
    if (!allowed.includes(permission ?? ""))
      failures.push({
        property: "permission",
        reason: `"${permission}" is not a permission for ${repository === undefined ? "a project" : "a repository"} access key; use ${allowed.join(", ")}`,
      });
  }
  const { key, keyComment } = checkPublicKey(raw, "key", failures);
  const label = checkText(raw, "label", failures);
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      flavor,
      ...where,
      key,
      keyComment,
      label,
      ...(permission !== undefined && { permission }),
    },
    failures,
  };
}

const fullKey = (n: Normalized) => `${n.key} ${n.keyComment}`.trim();

function fingerprintOfApi(k: { key: string }): string {
  const p = parsePublicKey(k.key);
  return isKeyError(p) ? "" : p.fingerprint;
}

function fromApi(o: Where, k: KeyView): DeployKeyOutputs {
  const p = parsePublicKey(k.key);
  return {
    flavor: o.flavor,
    ...(o.workspace !== undefined && { workspace: o.workspace }),
    ...(o.repository !== undefined && { repository: o.repository }),
    ...(o.project !== undefined && { project: o.project }),
    key: isKeyError(p) ? k.key : p.normalized,
    keyComment: k.comment ?? "",
    label: k.label ?? "",
    ...(k.permission !== undefined && { permission: k.permission }),
    keyId: k.id,
    fingerprint: isKeyError(p) ? "" : p.fingerprint,
    comment: k.comment ?? "",
    ...((k.created_on ?? k.added_on) && { createdOn: k.created_on ?? k.added_on }),
  };
}

const keyPath = (o: Where, keyId: number | string) => `${apiOf(o).collection(o)}/${seg(String(keyId))}`;

/**
 * Claims per object. Cloud deploy key ids are integers per kind (repository or project keys); a
 * Data Center key id is shared by every place the key is added to, so the place is part of it.
 */
const objectKey = (o: Where, keyId: number | string) =>
  o.flavor === "datacenter"
    ? `DeployKey:dc:${o.project?.toUpperCase()}/${o.repository?.toLowerCase() ?? ""}:${keyId}`
    : `DeployKey:${o.project !== undefined ? "project" : "repository"}:${keyId}`;

function idOf(o: Where, keyId: number): string {
  if (o.flavor === "datacenter")
    return o.repository !== undefined ? `${o.project}/${o.repository}/${keyId}` : `${o.project}/${keyId}`;
  return o.project !== undefined
    ? `${o.workspace}/projects/${o.project}/${keyId}`
    : `${o.workspace}/${o.repository}/${keyId}`;
}

/** Owner and key id from state, or from the id when state lacks them. */
function locate(id: string, props: Partial<DeployKeyOutputs>): { owner: Where; keyId: string } {
  const flavor = stateFlavor(props.flavor, props.keyId !== undefined);
  if ((props.workspace || props.project) && props.keyId !== undefined) {
    return {
      owner: { flavor, workspace: props.workspace, repository: props.repository, project: props.project },
      keyId: String(props.keyId),
    };
  }
  const p = id.split("/");
  if (flavor === "datacenter")
    return p.length === 3
      ? { owner: { flavor, project: p[0], repository: p[1] }, keyId: p[2] ?? "" }
      : { owner: { flavor, project: p[0] }, keyId: p[1] ?? "" };
  return p.length === 4
    ? { owner: { flavor, workspace: p[0] ?? "", project: p[2] }, keyId: p[3] ?? "" }
    : { owner: { flavor, workspace: p[0] ?? "", repository: p[1] }, keyId: p[2] ?? "" };
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

/** How an existing key differs from the declaration. */
function differences(k: KeyView, n: Normalized): Difference[] {
  const out: Difference[] = [];
  if ((k.label ?? "") !== n.label) out.push({ field: "label", live: k.label ?? "", declared: n.label });
  if (n.permission !== undefined && k.permission !== n.permission)
    out.push({ field: "permission", live: k.permission ?? null, declared: n.permission });
  return out;
}

/** Where the declared key would be found (same fingerprint in the same place), and how one found compares. */
export function lookup(n: Normalized): Lookup<KeyView> {
  const api = apiOf(n);
  const fingerprint = fingerprintOfApi({ key: n.key });
  const owner =
    n.flavor === "datacenter"
      ? `dc:${n.project}/${n.repository ?? ""}`
      : n.project !== undefined
        ? `project:${n.project}`
        : (n.repository ?? "");
  return {
    what: `deploy key ${fingerprint} on ${api.place(n)}`,
    natural: naturalKey.deployKey(n.workspace ?? "", owner, fingerprint),
    reads: [api.collection(n)],
    find: async (fresh) => {
      const raw = await findIn<unknown>(
        api.collection(n),
        (k) => fingerprintOfApi(api.view(k)) === fingerprint,
        {
          fresh,
        },
      );
      return raw === undefined ? undefined : api.view(raw);
    },
    differences: (k) => differences(k, n),
  };
}

/** Brings an adopted key to the declaration: Cloud repository keys by PUT; a label elsewhere by re-adding; DC permission in place. */
async function bringToDeclared(n: Normalized, k: KeyView): Promise<KeyView> {
  const api = apiOf(n);
  if ((k.label ?? "") !== n.label && (n.flavor === "datacenter" || n.project !== undefined)) {
    // The label cannot change in place: re-add the key with the declared label (and permission).
    await deleteIfExists(keyPath(n, k.id));
    return api.view((await request("POST", api.collection(n), { body: api.body(n) })).data);
  }
  if ((k.label ?? "") !== n.label)
    return api.view((await request("PUT", keyPath(n, k.id), { body: api.body(n) })).data);
  if (n.permission !== undefined && k.permission !== n.permission) return setPermission(n, k.id);
  return k;
}

/** Data Center: the permission changes through its own endpoint (PUT, no body). */
async function setPermission(n: Normalized, keyId: number | string): Promise<KeyView> {
  const path = dcAccessKeyPermissionPath(dcScope(n), String(keyId), n.permission ?? "");
  return apiOf(n).view((await request("PUT", path)).data);
}

/** What diff finds for a key the stack holds (state `olds`); plan calls it too. */
export async function changesOf(olds: DeployKeyOutputs, news: Normalized): Promise<Changes> {
  const replaces: string[] = await replacedFields(
    REPLACE_ON,
    { ...olds, flavor: olds.flavor ?? "cloud" },
    news,
  );
  const changed = [...replaces];
  if ((olds.label ?? "") !== news.label) {
    changed.push("label");
    if (news.project !== undefined || news.flavor === "datacenter") replaces.push("label");
  }
  if (news.permission !== undefined && olds.permission !== news.permission) changed.push("permission");
  return { changed, replaces, deleteBeforeReplace: true };
}

// ---- the provider -------------------------------------------------------------------------

export const deployKeyProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(id: string, olds: DeployKeyOutputs, news: Normalized) {
    const { owner, keyId } = locate(id, olds);
    return holdUnlessReplaced(
      diffOf(await changesOf(olds, news)),
      objectKey(owner, keyId),
      news.resourceName,
    );
  },

  async create(inputs: Normalized) {
    const api = apiOf(inputs);
    const found = lookup(inputs);
    const what = found.what;
    return createOrAdopt<KeyView, DeployKeyOutputs>({
      ...found,
      ownership: inputs,
      post: async () =>
        api.view((await request("POST", api.collection(inputs), { body: api.body(inputs) })).data),
      created: (k) => ({ id: idOf(inputs, k.id), outs: withInputComment(fromApi(inputs, k), inputs) }),
      key: (k) => objectKey(inputs, k.id),
      adopt: async (k) => {
        try {
          const now = await bringToDeclared(inputs, k);
          return { id: idOf(inputs, now.id), outs: withInputComment(fromApi(inputs, now), inputs) };
        } catch (e) {
          throw partialFailure(
            hint403(e),
            idOf(inputs, k.id),
            fromApi(inputs, k),
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
    const api = apiOf(owner);
    let raw: unknown;
    try {
      raw = await readListed<unknown>(api.collection(owner), (x) => String(api.view(x).id) === String(keyId));
    } catch (e) {
      throw withContext(e, `read deploy key ${keyId} on ${api.place(owner)}`);
    }
    if (raw === undefined) return {};
    const k = api.view(raw);
    const outs = fromApi(owner, k);
    const { keyId: _i, fingerprint: _f, comment: _c, createdOn: _o, ...inputs } = outs;
    return { id: idOf(owner, k.id), props: { ...outs, ...(props.adopted && { adopted: true }) }, inputs };
  },

  async update(id: string, olds: DeployKeyOutputs, news: Normalized) {
    const { owner, keyId } = locate(id, olds);
    const api = apiOf(owner);
    const what = `deploy key ${olds.fingerprint} on ${api.place(owner)}`;
    claim(objectKey(owner, keyId), what, news.resourceName, "updated");
    try {
      const k =
        owner.flavor === "datacenter"
          ? await setPermission(news, keyId)
          : api.view((await request("PUT", keyPath(owner, keyId), { body: api.body(news) })).data);
      return {
        outs: { ...withInputComment(fromApi(owner, k), news), ...(olds.adopted && { adopted: true }) },
      };
    } catch (e) {
      throw explain(e, `update ${what}`);
    }
  },

  async delete(id: string, props: DeployKeyOutputs) {
    const { owner, keyId } = locate(id, props);
    const what = `deploy key ${props.fingerprint ?? keyId} on ${apiOf(owner).place(owner)}`;
    if (keptByThisRun(objectKey(owner, keyId), what)) return;
    try {
      await deleteIfExists(keyPath(owner, keyId));
    } catch (e) {
      throw explain(e, `delete ${what}`);
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
  declare public readonly flavor: pulumi.Output<Flavor>;
  declare public readonly workspace: pulumi.Output<string | undefined>;
  declare public readonly repository: pulumi.Output<string | undefined>;
  declare public readonly project: pulumi.Output<string | undefined>;
  declare public readonly permission: pulumi.Output<string | undefined>;
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
