// SshKey: an SSH key on a user account (what platforms such as Puppet Pipelines ask you to add
// to the account, so they can reach every repository that user can). One lifecycle for Cloud and
// Data Center; what differs is the adapter SSH_API.
//
//   create  Cloud: GET /user (when `user` is not given; once per process); list {keys} (adopt the
//           key with the same fingerprint), else POST {keys} -> 201
//   read    from the run's listing of {keys}; not listed = gone
//   update  Cloud: PUT {keys}/{uuid} {label} -> 200. Data Center has no update: the label replaces.
//   delete  DELETE {key} -> 204, 404 = already gone (DC answers 204 even then)
// where {keys} is /users/{selected_user}/ssh-keys (Cloud) or /rest/ssh/latest/keys[?user=] (DC).
//
// API facts that shaped it (shared/bitbucket-api.md §3.3, §8.4):
// - Cloud `selected_user` is an account_id or a braced uuid; the caller's come from GET /2.0/user.
//   Data Center names users by slug; without `user` the credentials' own keys are listed.
// - Cloud keys are addressed by uuid, Data Center's by integer id; the comment is split off.
// - Only the Cloud label changes in place (the spec's PUT example); key material replaces, deleting
//   the old key first since Bitbucket refuses the same key twice (DC: 409 when the key exists anywhere
//   on the server).

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { request, deleteIfExists, getCached } from "../api/client";
import { seg, sshKeysPath } from "../api/cloud";
import { dcSshKeyPath, dcSshKeysPath } from "../api/datacenter";
import { statusOf } from "./common";
import { findIn, readListed } from "../api/paginate";
import { isKeyError, parsePublicKey } from "../ssh";
import { escapeUnprintable } from "../text";
import { configure, partialFailure, withContext, type CheckFailure } from "./common";
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
} from "./ownership";
import { naturalKey } from "../names";
import { checkFlavor, checkPublicKey, checkSlug, checkText, stateFlavor, type Flavor } from "./validate";
import type { Policy } from "../policy/rules";

export interface SshKeyArgs {
  /** `cloud` or `datacenter`. Default: the provider's `bitbucket:flavor`. Changing it replaces the key. */
  flavor?: pulumi.Input<Flavor>;
  /** The account: Cloud, an Atlassian account_id or `{uuid}`; Data Center, a user slug (adding to another user's account needs ADMIN). Default: the account the credentials belong to. Changing it replaces the key. */
  user?: pulumi.Input<string>;
  /** OpenSSH public key (one line, e.g. the contents of `id_ed25519.pub`). Its comment never causes a change. Changing the key material replaces it (the old one is deleted first). */
  key: pulumi.Input<string>;
  /** Label shown in Bitbucket. Default "". Updates in place on Cloud; replaces the key on Data Center (no update there). */
  label?: pulumi.Input<string>;
  /** Take over the same key already on the account even when its label differs. Default false: only an identical key is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Rules of a policy this key must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
}

export type SshKeyInputs = pulumi.Unwrap<SshKeyArgs>;

interface Normalized extends Ownership {
  flavor: Flavor;
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
  /** Bitbucket's id for the key: Cloud's braced uuid, Data Center's integer as text. */
  keyId: string;
  /** Cloud: the key's braced uuid (= keyId). */
  keyUuid?: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  comment: string;
  createdOn?: string;
}

export const REPLACE_ON = ["flavor", "user", "key"] as const;
export const SECRET_OUTPUTS: string[] = [];

export interface ApiKey {
  uuid: string;
  key: string;
  comment?: string;
  label?: string;
  created_on?: string;
  owner?: { uuid?: string; account_id?: string };
}

/** Data Center's RestSshKey as we read it. */
export interface DcSshKey {
  id: number;
  text: string;
  label?: string;
  createdDate?: number;
}

/** What differs per flavor: where a user's keys live and how a key reads. */
const SSH_API = {
  cloud: {
    collection: (user: string) => sshKeysPath(user),
    item: (user: string, id: string) => `${sshKeysPath(user)}/${seg(id)}`,
    view: (raw: unknown) => raw as ApiKey,
    labelUpdates: true,
  },
  datacenter: {
    collection: (user: string) => dcSshKeysPath(user === "" ? undefined : user),
    item: (_user: string, id: string) => dcSshKeyPath(id),
    view: (raw: unknown): ApiKey => {
      const k = raw as DcSshKey;
      const p = parsePublicKey(k.text);
      return {
        uuid: String(k.id),
        key: isKeyError(p) ? k.text : p.normalized,
        comment: isKeyError(p) ? "" : p.comment,
        label: k.label ?? "",
        ...(typeof k.createdDate === "number" && { created_on: new Date(k.createdDate).toISOString() }),
      };
    },
    labelUpdates: false,
  },
} satisfies Record<Flavor, unknown>;

const apiOf = (o: { flavor?: Flavor }) => SSH_API[o.flavor ?? "cloud"];

/** "user alice", or the credentials' own account on Data Center (no user given). */
const whose = (user: string) => (user === "" ? "the credentials' user" : `user ${user}`);

// ---- normalize, toApi, fromApi ---------------------------------------------------------

const ACCOUNT = /^(\{[0-9a-f-]{36}\}|[A-Za-z0-9:_-]+)$/;

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const flavor = checkFlavor(raw, failures);
  const user = checkSlug(
    raw,
    "user",
    failures,
    flavor === "cloud"
      ? { pattern: ACCOUNT, what: "an Atlassian account_id or {uuid}" }
      : { pattern: /^[A-Za-z0-9@._-]+$/, what: "a Data Center user slug" },
  );
  const { key, keyComment } = checkPublicKey(raw, "key", failures);
  const label = checkText(raw, "label", failures);
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      flavor,
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

function fromApi(
  flavor: Flavor,
  user: string | undefined,
  owner: string,
  k: ApiKey,
  keyComment: string,
): SshKeyOutputs {
  return {
    flavor,
    ...(user !== undefined && { user }),
    key: k.key,
    keyComment,
    label: k.label ?? "",
    owner: k.owner?.uuid ?? owner,
    ...(k.owner?.account_id && { ownerAccountId: k.owner.account_id }),
    keyId: k.uuid,
    ...(flavor === "cloud" && { keyUuid: k.uuid }),
    fingerprint: fingerprint(k.key),
    comment: k.comment ?? "",
    ...(k.created_on && { createdOn: k.created_on }),
  };
}

/** Cloud's user object, as far as it names the account (shared/bitbucket-api.md §3.3; spec `account`, `user`). */
export interface CloudUser {
  uuid: string;
  display_name?: string;
  nickname?: string;
}

/**
 * An account as people know it: its display name, and its nickname when that differs (Cloud's user
 * object); its uuid only when it has neither.
 */
export function accountShown(a: CloudUser): string {
  const name = a.display_name?.trim();
  const nick = a.nickname?.trim();
  const shown = name && nick && name !== nick ? `${name} (${nick})` : name || nick;
  return shown ? escapeUnprintable(shown) : `user ${a.uuid}`;
}

/** The account the credentials act as: GET /user once per run, however many keys. */
const currentUser = () => getCached<CloudUser>("/user");

const objectKey = (flavor: Flavor, id: string) =>
  flavor === "datacenter" ? `SshKey:dc:${id}` : `SshKey:${id}`;

/** The Pulumi id: `{owner}/{keyId}` (Data Center, own account: `~/{keyId}`). */
const idOf = (owner: string, keyId: string) => `${owner || "~"}/${keyId}`;

function locate(id: string, props: Partial<SshKeyOutputs>): { flavor: Flavor; owner: string; uuid: string } {
  const keyId = props.keyId ?? props.keyUuid;
  const flavor = stateFlavor(props.flavor, keyId !== undefined);
  if (props.owner !== undefined && keyId) return { flavor, owner: props.owner, uuid: keyId };
  const [owner = "", uuid = ""] = id.split("/");
  return { flavor, owner: owner === "~" ? "" : owner, uuid };
}

/**
 * Where the declared key would be found (same fingerprint on the user's account: the credentials'
 * own account when no user is given), and how one found compares.
 */
export async function lookup(n: Normalized): Promise<Lookup<ApiKey> & { user: string }> {
  const api = apiOf(n);
  // The credentials' own Cloud account is addressed by its uuid, and named by its name.
  const me = n.user === undefined && n.flavor !== "datacenter" ? await currentUser() : undefined;
  const user = n.user ?? me?.uuid ?? "";
  const fp = fingerprint(n.key);
  return {
    user,
    what: `SSH key ${fp} of ${me ? accountShown(me) : whose(user)}`,
    natural: naturalKey.sshKey(n.flavor === "datacenter" ? `dc:${user}` : user, fp),
    reads: [...(n.user === undefined && n.flavor !== "datacenter" ? ["/user"] : []), api.collection(user)],
    find: async (fresh) => {
      const raw = await findIn<unknown>(api.collection(user), (k) => fingerprint(api.view(k).key) === fp, {
        fresh,
      });
      return raw === undefined ? undefined : api.view(raw);
    },
    differences: (k) =>
      (k.label ?? "") === n.label ? [] : [{ field: "label", live: k.label ?? "", declared: n.label }],
  };
}

/** What diff finds for a key the stack holds (state `olds`); plan calls it too. */
export async function changesOf(olds: SshKeyOutputs, news: Normalized): Promise<Changes> {
  const replaces: string[] = [];
  if ((olds.flavor ?? "cloud") !== news.flavor) replaces.push("flavor");
  if (olds.key !== news.key) replaces.push("key");
  // A user given now must be the owner the key was created for (by account_id or uuid).
  if (news.user !== undefined && ![olds.user, olds.owner, olds.ownerAccountId].includes(news.user))
    replaces.push("user");
  const changed = [...replaces];
  if ((olds.label ?? "") !== news.label) {
    changed.push("label");
    if (!apiOf(news).labelUpdates) replaces.push("label");
  }
  return { changed, replaces, deleteBeforeReplace: true };
}

// ---- the provider -------------------------------------------------------------------------

export const sshKeyProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(id: string, olds: SshKeyOutputs, news: Normalized) {
    const { flavor, uuid } = locate(id, olds);
    return holdUnlessReplaced(
      diffOf(await changesOf(olds, news)),
      objectKey(flavor, uuid),
      news.resourceName,
    );
  },

  async create(inputs: Normalized) {
    const api = apiOf(inputs);
    let found: Lookup<ApiKey> & { user: string };
    try {
      found = await lookup(inputs);
    } catch (e) {
      throw withContext(e, "find the account the credentials belong to (to add the SSH key to it)");
    }
    const { user, what } = found;
    const text = `${inputs.key} ${inputs.keyComment}`.trim();
    const post = async () =>
      api.view(
        (
          await request("POST", api.collection(user), {
            body:
              inputs.flavor === "datacenter"
                ? { text, label: inputs.label }
                : { key: text, label: inputs.label },
          })
        ).data,
      );
    const outs = (k: ApiKey) => fromApi(inputs.flavor, inputs.user, user, k, inputs.keyComment);
    return createOrAdopt<ApiKey, SshKeyOutputs>({
      ...found,
      ownership: inputs,
      key: (k) => objectKey(inputs.flavor, k.uuid),
      post,
      // Data Center: 409 when the key is already on the server (on this account, found and adopted
      // per the policy; elsewhere, the 409 stands).
      exists: (e) => inputs.flavor === "datacenter" && statusOf(e) === 409,
      created: (k) => ({ id: idOf(k.owner?.uuid ?? user, k.uuid), outs: outs(k) }),
      adopt: async (k) => {
        const id = idOf(k.owner?.uuid ?? user, k.uuid);
        if ((k.label ?? "") === inputs.label) return { id, outs: outs(k) };
        try {
          if (!api.labelUpdates) {
            // No update on Data Center: re-add the key with the declared label.
            await deleteIfExists(api.item(user, k.uuid));
            const again = await post();
            return { id: idOf(user, again.uuid), outs: outs(again) };
          }
          const { data } = await request("PUT", api.item(user, k.uuid), { body: { label: inputs.label } });
          return { id, outs: outs(api.view(data)) };
        } catch (e) {
          throw partialFailure(e, id, outs(k), `create ${what} (adopting existing key ${k.uuid})`);
        }
      },
    });
  },

  async read(id: string, props: SshKeyOutputs) {
    const { flavor, owner, uuid } = locate(id, props);
    const api = apiOf({ flavor });
    let raw: unknown;
    try {
      raw = await readListed<unknown>(api.collection(owner), (x) => api.view(x).uuid === uuid);
    } catch (e) {
      throw withContext(e, `read SSH key ${uuid} of ${whose(owner)}`);
    }
    if (raw === undefined) return {};
    const k = api.view(raw);
    const outs = fromApi(flavor, props.user, owner, k, props.keyComment ?? k.comment ?? "");
    const {
      owner: _o,
      ownerAccountId: _a,
      keyId: _i,
      keyUuid: _u,
      fingerprint: _f,
      comment: _c,
      createdOn: _d,
      ...inputs
    } = outs;
    return {
      id: idOf(outs.owner, k.uuid),
      props: { ...outs, ...(props.adopted && { adopted: true }) },
      inputs,
    };
  },

  async update(id: string, olds: SshKeyOutputs, news: Normalized) {
    const { flavor, owner, uuid } = locate(id, olds);
    const what = `SSH key ${olds.fingerprint} of ${whose(owner)}`;
    claim(objectKey(flavor, uuid), what, news.resourceName, "updated");
    // Data Center has no update: every change it could hold replaces the key (diff), so nothing to send.
    if (!apiOf({ flavor }).labelUpdates) return { outs: { ...olds, keyComment: news.keyComment } };
    try {
      const { data } = await request("PUT", apiOf({ flavor }).item(owner, uuid), {
        body: { label: news.label },
      });
      return {
        outs: {
          ...fromApi(flavor, news.user, owner, apiOf({ flavor }).view(data), news.keyComment),
          ...(olds.adopted && { adopted: true }),
        },
      };
    } catch (e) {
      throw withContext(e, `update ${what}`);
    }
  },

  async delete(id: string, props: SshKeyOutputs) {
    const { flavor, owner, uuid } = locate(id, props);
    const what = `SSH key ${props.fingerprint ?? uuid} of ${whose(owner)}`;
    if (keptByThisRun(objectKey(flavor, uuid), what)) return;
    try {
      await deleteIfExists(apiOf({ flavor }).item(owner, uuid));
    } catch (e) {
      throw withContext(e, `delete ${what}`);
    }
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class SshKey extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly flavor: pulumi.Output<Flavor>;
  declare public readonly user: pulumi.Output<string | undefined>;
  declare public readonly key: pulumi.Output<string>;
  declare public readonly label: pulumi.Output<string>;
  declare public readonly owner: pulumi.Output<string>;
  declare public readonly keyId: pulumi.Output<string>;
  declare public readonly keyUuid: pulumi.Output<string | undefined>;
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
      keyId: undefined,
      keyUuid: undefined,
      fingerprint: undefined,
      comment: undefined,
      createdOn: undefined,
    };
    super(shim("SshKey"), name, props, opts, "bitbucket", "SshKey");
  }
}
