// SshKey: an SSH key on a user account (what platforms such as Puppet Pipelines ask you to add
// to the account, so they can reach every repository that user can).
//
//   create  GET /user (when `user` is not given; once per process), GET {keys}?pagelen=100 (adopt the key with the
//           same fingerprint), else POST {keys} -> 201
//   read    GET {keys}/{uuid} -> 200, 404 = gone
//   update  PUT {keys}/{uuid} {label} -> 200
//   delete  DELETE {keys}/{uuid} -> 204, 404 = already gone
// where {keys} is /users/{selected_user}/ssh-keys.
//
// API facts that shaped it (shared/bitbucket-api.md §3.3):
// - `selected_user` is an account_id or a braced uuid; the caller's come from GET /2.0/user.
// - Keys are addressed by uuid; the comment is split off like deploy keys'.
// - Only the label changes in place (the spec's PUT example); key material replaces, deleting
//   the old key first since Bitbucket refuses the same key twice.

import * as pulumi from "@pulumi/pulumi";
import { shim } from "./shim";
import { request, deleteIfExists, getCached } from "../api/client";
import { seg, sshKeysPath } from "../api/cloud";
import { findIn, readListed } from "../api/paginate";
import { isKeyError, parsePublicKey } from "../ssh";
import { configure, partialFailure, withContext, type CheckFailure } from "./common";
import { claim, createOrAdopt, keptByThisRun, ownershipOf, type Lookup, type Ownership } from "./ownership";
import { naturalKey } from "../names";
import { checkPublicKey, checkSlug, checkText } from "./validate";

export interface SshKeyArgs {
  /** The account: an Atlassian account_id or `{uuid}`. Default: the account the credentials belong to. Changing it replaces the key. */
  user?: pulumi.Input<string>;
  /** OpenSSH public key (one line, e.g. the contents of `id_ed25519.pub`). Its comment never causes a change. Changing the key material replaces it (the old one is deleted first). */
  key: pulumi.Input<string>;
  /** Label shown in Bitbucket. Default "". Updates in place. */
  label?: pulumi.Input<string>;
  /** Take over the same key already on the account even when its label differs. Default false: only an identical key is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
}

export type SshKeyInputs = pulumi.Unwrap<SshKeyArgs>;

interface Normalized extends Ownership {
  user?: string;
  key: string;
  keyComment: string;
  label: string;
}

export interface SshKeyOutputs extends Omit<Normalized, "adopt" | "resourceName"> {
  /** True when the key was already on the account and was adopted rather than added. */
  adopted?: boolean;
  /** The owner's uuid (braced), resolved when `user` was not given. */
  owner: string;
  ownerAccountId?: string;
  /** Bitbucket's id for the key (braced uuid). */
  keyUuid: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  comment: string;
  createdOn?: string;
}

export const REPLACE_ON = ["user", "key"] as const;
export const SECRET_OUTPUTS: string[] = [];

export interface ApiKey {
  uuid: string;
  key: string;
  comment?: string;
  label?: string;
  created_on?: string;
  owner?: { uuid?: string; account_id?: string };
}

// ---- normalize, toApi, fromApi ---------------------------------------------------------

const ACCOUNT = /^(\{[0-9a-f-]{36}\}|[A-Za-z0-9:_-]+)$/;

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const user = checkSlug(raw, "user", failures, {
    pattern: ACCOUNT,
    what: "an Atlassian account_id or {uuid}",
  });
  const { key, keyComment } = checkPublicKey(raw, "key", failures);
  const label = checkText(raw, "label", failures);
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      ...(user !== undefined && { user }),
      key,
      keyComment,
      label,
    },
    failures,
  };
}

const fingerprint = (key: string) => {
  const p = parsePublicKey(key);
  return isKeyError(p) ? "" : p.fingerprint;
};

function fromApi(user: string | undefined, owner: string, k: ApiKey, keyComment: string): SshKeyOutputs {
  return {
    ...(user !== undefined && { user }),
    key: k.key,
    keyComment,
    label: k.label ?? "",
    owner: k.owner?.uuid ?? owner,
    ...(k.owner?.account_id && { ownerAccountId: k.owner.account_id }),
    keyUuid: k.uuid,
    fingerprint: fingerprint(k.key),
    comment: k.comment ?? "",
    ...(k.created_on && { createdOn: k.created_on }),
  };
}

/** The uuid of the account the credentials act as: GET /user once per run, however many keys. */
const currentUser = async () => (await getCached<{ uuid: string }>("/user")).uuid;

const objectKey = (uuid: string) => `SshKey:${uuid}`;
const keyPath = (owner: string, uuid: string) => `${sshKeysPath(owner)}/${seg(uuid)}`;

function locate(id: string, props: Partial<SshKeyOutputs>): { owner: string; uuid: string } {
  if (props.owner && props.keyUuid) return { owner: props.owner, uuid: props.keyUuid };
  const [owner = "", uuid = ""] = id.split("/");
  return { owner, uuid };
}

/**
 * Where the declared key would be found (same fingerprint on the user's account: the credentials'
 * own account when no user is given), and how one found compares.
 */
export async function lookup(n: Normalized): Promise<Lookup<ApiKey> & { user: string }> {
  const user = n.user ?? (await currentUser());
  const fp = fingerprint(n.key);
  return {
    user,
    what: `SSH key ${fp} of user ${user}`,
    natural: naturalKey.sshKey(user, fp),
    find: (fresh) => findIn<ApiKey>(sshKeysPath(user), (k) => fingerprint(k.key) === fp, { fresh }),
    differences: (k) =>
      (k.label ?? "") === n.label
        ? []
        : [{ field: "label", live: `"${k.label ?? ""}"`, declared: `"${n.label}"` }],
  };
}

// ---- the provider -------------------------------------------------------------------------

export const sshKeyProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: SshKeyOutputs, news: Normalized) {
    const replaces: string[] = [];
    if (olds.key !== news.key) replaces.push("key");
    // A user given now must be the owner the key was created for (by account_id or uuid).
    if (news.user !== undefined && ![olds.user, olds.owner, olds.ownerAccountId].includes(news.user))
      replaces.push("user");
    const labelChanged = (olds.label ?? "") !== news.label;
    return { changes: replaces.length > 0 || labelChanged, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: Normalized) {
    let found: Lookup<ApiKey> & { user: string };
    try {
      found = await lookup(inputs);
    } catch (e) {
      throw withContext(e, "find the account the credentials belong to (to add the SSH key to it)");
    }
    const { user, what } = found;
    return createOrAdopt<ApiKey, SshKeyOutputs>({
      ...found,
      ownership: inputs,
      key: (k) => objectKey(k.uuid),
      post: async () =>
        (
          await request<ApiKey>("POST", sshKeysPath(user), {
            body: { key: `${inputs.key} ${inputs.keyComment}`.trim(), label: inputs.label },
          })
        ).data,
      created: (k) => ({
        id: `${k.owner?.uuid ?? user}/${k.uuid}`,
        outs: fromApi(inputs.user, user, k, inputs.keyComment),
      }),
      adopt: async (k) => {
        const id = `${k.owner?.uuid ?? user}/${k.uuid}`;
        if ((k.label ?? "") === inputs.label)
          return { id, outs: fromApi(inputs.user, user, k, inputs.keyComment) };
        try {
          const { data } = await request<ApiKey>("PUT", keyPath(user, k.uuid), {
            body: { label: inputs.label },
          });
          return { id, outs: fromApi(inputs.user, user, data, inputs.keyComment) };
        } catch (e) {
          throw partialFailure(
            e,
            id,
            fromApi(inputs.user, user, k, inputs.keyComment),
            `create ${what} (adopting existing key ${k.uuid})`,
          );
        }
      },
    });
  },

  async read(id: string, props: SshKeyOutputs) {
    const { owner, uuid } = locate(id, props);
    let k: ApiKey | undefined;
    try {
      k = await readListed<ApiKey>(sshKeysPath(owner), (x) => x.uuid === uuid);
    } catch (e) {
      throw withContext(e, `read SSH key ${uuid} of user ${owner}`);
    }
    if (!k) return {};
    const outs = fromApi(props.user, owner, k, props.keyComment ?? k.comment ?? "");
    const {
      owner: _o,
      ownerAccountId: _a,
      keyUuid: _u,
      fingerprint: _f,
      comment: _c,
      createdOn: _d,
      ...inputs
    } = outs;
    return {
      id: `${outs.owner}/${k.uuid}`,
      props: { ...outs, ...(props.adopted && { adopted: true }) },
      inputs,
    };
  },

  async update(id: string, olds: SshKeyOutputs, news: Normalized) {
    const { owner, uuid } = locate(id, olds);
    claim(objectKey(uuid), `SSH key ${olds.fingerprint} of user ${owner}`, news.resourceName, "updated");
    try {
      const { data } = await request<ApiKey>("PUT", keyPath(owner, uuid), { body: { label: news.label } });
      return {
        outs: { ...fromApi(news.user, owner, data, news.keyComment), ...(olds.adopted && { adopted: true }) },
      };
    } catch (e) {
      throw withContext(e, `update SSH key ${olds.fingerprint} of user ${owner}`);
    }
  },

  async delete(id: string, props: SshKeyOutputs) {
    const { owner, uuid } = locate(id, props);
    if (keptByThisRun(objectKey(uuid), `SSH key ${props.fingerprint ?? uuid} of user ${owner}`)) return;
    try {
      await deleteIfExists(keyPath(owner, uuid));
    } catch (e) {
      throw withContext(e, `delete SSH key ${props.fingerprint ?? uuid} of user ${owner}`);
    }
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class SshKey extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly user: pulumi.Output<string | undefined>;
  declare public readonly key: pulumi.Output<string>;
  declare public readonly label: pulumi.Output<string>;
  declare public readonly owner: pulumi.Output<string>;
  declare public readonly keyUuid: pulumi.Output<string>;
  declare public readonly fingerprint: pulumi.Output<string>;
  declare public readonly comment: pulumi.Output<string>;
  /** True when the key was already on the account and was adopted rather than added. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: SshKeyArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      resourceName: name,
      adopted: undefined,
      owner: undefined,
      ownerAccountId: undefined,
      keyUuid: undefined,
      fingerprint: undefined,
      comment: undefined,
      createdOn: undefined,
    };
    super(shim("SshKey"), name, props, opts, "bitbucket", "SshKey");
  }
}
