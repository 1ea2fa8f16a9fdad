// PipelineSshKeyPair: the SSH key pair Bitbucket Pipelines puts in a repository's build
// containers as their default identity (to clone other repositories, or reach a server).
//
//   create  GET {pair} (an existing pair is adopted only with adopt: true: its private key cannot
//           be compared), then PUT {pair} -> 200 (creates or replaces: one pair per repository)
//   read    GET {pair} -> 200 (public key only), 404 = none set
//   update  PUT {pair} -> 200
//   delete  DELETE {pair} -> 204, 404 = already gone
// where {pair} is /repositories/{ws}/{repo}/pipelines_config/ssh/key_pair.
//
// API facts that shaped it (shared/bitbucket-api.md §4.2):
// - The private key is write-only: we keep a salted hash to notice a changed one.
// - The pair must not have a passphrase (it is used unattended); check refuses an encrypted
//   key, and a public key that does not belong to the private key, before anything is sent.

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { request, getOrUndefined, deleteIfExists } from "../api/client";
import { pipelinesSshPath } from "../api/cloud";
import { fingerprintOf, isKeyError, keyShown, parsePublicKey, privateKeyInfo } from "../ssh";
import {
  configure,
  findAfterWrite,
  hashSecret,
  mayHaveCommitted,
  partialFailure,
  secretMatches,
  withContext,
  type CheckFailure,
  withSecretOutputs,
} from "./common";
import {
  claim,
  diffOf,
  holdUnlessReplaced,
  holdsAny,
  keptByThisRun,
  locationOf,
  ownershipOf,
  said,
  takeoverRefused,
  replacedFields,
  writeOnly,
  type Changes,
  type Lookup,
  type Ownership,
} from "./ownership";
import { notice } from "../api/shared";
import { checkSlug, checkCloudOnly } from "./validate";
import type { Policy } from "../policy/rules";

export interface PipelineSshKeyPairArgs {
  /** Workspace slug. Changing it replaces the pair. */
  workspace: pulumi.Input<string>;
  /** Repository slug. Changing it replaces the pair. */
  repository: pulumi.Input<string>;
  /** Private key (OpenSSH or PEM), without a passphrase. Secret; write-only. Updates in place. */
  privateKey: pulumi.Input<string>;
  /** The matching OpenSSH public key line. Updates in place. */
  publicKey: pulumi.Input<string>;
  /** Replace a key pair the repository already has (its private key cannot be compared, so an existing pair is never taken over silently). Default false: create fails if a pair exists, changing nothing. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Rules of a policy this key pair must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
}

export type PipelineSshKeyPairInputs = pulumi.Unwrap<PipelineSshKeyPairArgs>;

interface Normalized extends Ownership {
  workspace: string;
  repository: string;
  privateKey: string;
  publicKey: string;
}

export interface PipelineSshKeyPairOutputs extends Omit<Normalized, "privateKey" | "adopt" | "resourceName"> {
  /** True when the repository had a pair before and it was replaced (adopt: true). */
  adopted?: boolean;
  /** `SHA256:...` of the public key. */
  fingerprint: string;
  /** Salted hash of the private key (secret output). */
  privateKeyHash?: string;
}

export const REPLACE_ON = ["workspace", "repository"] as const;
export const SECRET_OUTPUTS = ["privateKeyHash"];

// ---- normalize, toApi, fromApi ---------------------------------------------------------

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  checkCloudOnly(
    "PipelineSshKeyPair",
    failures,
    "Data Center has no Pipelines; give your CI server its key, and add the public key as a DeployKey or SshKey",
  );
  const workspace =
    checkSlug(raw, "workspace", failures, { required: "the workspace slug, e.g. acme" }) ?? "";
  const repository =
    checkSlug(raw, "repository", failures, { required: "the repository slug the pair is for" }) ?? "";
  const pub = parsePublicKey(raw.publicKey);
  if (isKeyError(pub)) failures.push({ property: "publicKey", reason: `publicKey ${pub.error}` });
  const priv = typeof raw.privateKey === "string" ? raw.privateKey : "";
  // Reasons below never include the private key.
  if (!priv.trim())
    failures.push({
      property: "privateKey",
      reason: "privateKey is required: the private half of the pair (OpenSSH or PEM)",
    });
  else {
    const info = privateKeyInfo(priv);
    if (!info) {
      failures.push({
        property: "privateKey",
        reason: "privateKey is not a private key in OpenSSH (BEGIN OPENSSH PRIVATE KEY) or PEM format",
      });
    } else if (info.encrypted) {
      failures.push({
        property: "privateKey",
        reason: "privateKey has a passphrase: Pipelines uses it unattended, so give a key without one",
      });
    } else if (info.blob && !isKeyError(pub) && fingerprintOf(info.blob) !== pub.fingerprint) {
      failures.push({
        property: "publicKey",
        reason: `publicKey (${pub.fingerprint}) does not belong to privateKey (${fingerprintOf(info.blob)})`,
      });
    }
  }
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      workspace,
      repository,
      privateKey: priv.trim() + "\n",
      publicKey: isKeyError(pub) ? "" : pub.normalized,
    },
    failures,
  };
}

function outputs(
  n: { workspace: string; repository: string },
  publicKey: string,
  privateKeyHash: string | undefined,
): PipelineSshKeyPairOutputs {
  const pub = parsePublicKey(publicKey);
  return {
    workspace: n.workspace,
    repository: n.repository,
    publicKey: isKeyError(pub) ? publicKey : pub.normalized,
    fingerprint: isKeyError(pub) ? "" : pub.fingerprint,
    ...(privateKeyHash !== undefined && { privateKeyHash }),
  };
}

const pairPath = (n: { workspace: string; repository: string }) =>
  `${pipelinesSshPath(n.workspace, n.repository)}/key_pair`;

/**
 * One pair per repository: the repository is the object. A `{uuid}` repository names it alone
 * (repository uuids are unique across Bitbucket); a slug needs its workspace.
 */
const objectKey = (n: { workspace: string; repository: string }) =>
  `PipelineSshKeyPair:${(n.repository.startsWith("{") ? n.repository : `${n.workspace}/${n.repository}`).toLowerCase()}`;

/**
 * Every key a resource holding this repository's pair may have used: the place as written, and
 * as Bitbucket names it (slugs, the workspace's uuid, the repository's uuid), read at delete time
 * (a cached GET of the repository). Without that read, only the place as written.
 */
async function objectKeysOf(n: { workspace: string; repository: string }): Promise<string[]> {
  const at = await locationOf(n);
  if (at?.repositoryUuid === undefined || at.repository === undefined) return [objectKey(n)];
  const slug = at.repository;
  return [
    ...new Set([
      objectKey(n),
      objectKey({ workspace: at.workspace, repository: slug }),
      objectKey({ workspace: at.workspaceUuid, repository: slug }),
      objectKey({ workspace: at.workspace, repository: at.repositoryUuid }),
    ]),
  ];
}

async function put(n: Normalized, what: string) {
  try {
    const { data } = await request<{ public_key: string }>("PUT", pairPath(n), {
      body: { private_key: n.privateKey, public_key: n.publicKey },
    });
    return outputs(n, data.public_key ?? n.publicKey, hashSecret(n.privateKey));
  } catch (e) {
    throw withContext(e, what);
  }
}

interface ApiPair {
  public_key?: string;
}

/** The repository's pair, if it has one, and how it compares: its private key never can. */
export function lookup(n: Normalized): Lookup<ApiPair> {
  return {
    what: `the Pipelines SSH key pair of ${n.workspace}/${n.repository}`,
    natural: objectKey(n),
    find: () => getOrUndefined<ApiPair>(pairPath(n)),
    differences: (existing) => {
      const pub = parsePublicKey(existing.public_key ?? "");
      return [
        writeOnly("privateKey"),
        ...(!isKeyError(pub) && pub.normalized === n.publicKey
          ? []
          : [
              {
                field: "publicKey",
                live: keyShown(existing.public_key ?? ""),
                declared: keyShown(n.publicKey),
              },
            ]),
      ];
    },
  };
}

/** What diff finds for the key pair the stack holds (state `olds`); plan calls it too. */
export async function changesOf(olds: PipelineSshKeyPairOutputs, news: Normalized): Promise<Changes> {
  const replaces: string[] = await replacedFields(REPLACE_ON, olds, news);
  const changed = [...replaces];
  if (olds.publicKey !== news.publicKey) changed.push("publicKey");
  if (!secretMatches(news.privateKey, olds.privateKeyHash)) changed.push("privateKey");
  return { changed, replaces, deleteBeforeReplace: false };
}

// ---- the provider -------------------------------------------------------------------------

export const pipelineSshKeyPairProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: PipelineSshKeyPairOutputs, news: Normalized) {
    return holdUnlessReplaced(diffOf(await changesOf(olds, news)), objectKey(olds), news.resourceName);
  },

  async create(inputs: Normalized) {
    const found = lookup(inputs);
    const what = found.what;
    const key = objectKey(inputs);
    claim(key, what, inputs.resourceName, "created");
    let existing: ApiPair | undefined;
    try {
      existing = await found.find();
    } catch (e) {
      throw withContext(e, `create ${what}`);
    }
    if (existing !== undefined) {
      const differs = found.differences(existing).map(said);
      if (!inputs.adopt) throw takeoverRefused(what, differs);
      claim(key, what, inputs.resourceName, "adopted");
      notice(`adopted the existing ${what}, replacing it with the declared pair`);
    }
    const id = `${inputs.workspace}/${inputs.repository}`;
    let outs: PipelineSshKeyPairOutputs;
    try {
      outs = await put(inputs, `set ${what}`);
    } catch (e) {
      // The PUT may have set the pair and lost its answer: when the pair there is ours, the
      // engine records it (the next run updates it) rather than leave it for a takeover refusal.
      const now = mayHaveCommitted(e) ? await findAfterWrite(() => found.find()) : undefined;
      const pub = parsePublicKey(now?.public_key ?? "");
      if (isKeyError(pub) || pub.normalized !== inputs.publicKey) throw e;
      const set = outputs(inputs, pub.normalized, hashSecret(inputs.privateKey));
      throw partialFailure(e, id, set, "the pair was set but the answer was lost (kept in state)");
    }
    return { id, outs: { ...outs, ...(existing !== undefined && { adopted: true }) } };
  },

  async read(id: string, props: PipelineSshKeyPairOutputs) {
    const [workspace = "", repository = ""] = id.split("/");
    const where = { workspace: props.workspace ?? workspace, repository: props.repository ?? repository };
    let pair: { public_key?: string } | undefined;
    try {
      pair = await getOrUndefined<{ public_key?: string }>(pairPath(where));
    } catch (e) {
      throw withContext(e, `read the Pipelines SSH key pair of ${where.workspace}/${where.repository}`);
    }
    if (!pair) return {};
    // A different public key means the pair was replaced by hand: our hash no longer describes it.
    const same = parsePublicKey(pair.public_key ?? "");
    const keepHash =
      !isKeyError(same) && same.normalized === props.publicKey ? props.privateKeyHash : undefined;
    const outs = {
      ...outputs(where, pair.public_key ?? "", keepHash),
      ...(props.adopted && { adopted: true }),
    };
    return {
      id,
      props: outs,
      inputs: { workspace: outs.workspace, repository: outs.repository, publicKey: outs.publicKey },
    };
  },

  async update(_id: string, olds: PipelineSshKeyPairOutputs, news: Normalized) {
    const what = `the Pipelines SSH key pair of ${olds.workspace}/${olds.repository}`;
    claim(objectKey(olds), what, news.resourceName, "updated");
    return { outs: { ...(await put(news, `update ${what}`)), ...(olds.adopted && { adopted: true }) } };
  },

  async delete(_id: string, props: PipelineSshKeyPairOutputs) {
    const what = `the Pipelines SSH key pair of ${props.workspace}/${props.repository}`;
    if (keptByThisRun(objectKey(props), what)) return;
    // Held under another name of the same repository ({uuid}, another case): it stays too. The
    // repository is read only when some pair is held at all (a plain destroy makes no extra call).
    if (holdsAny("PipelineSshKeyPair:")) {
      for (const key of await objectKeysOf(props)) if (keptByThisRun(key, what)) return;
    }
    try {
      await deleteIfExists(pairPath(props));
    } catch (e) {
      throw withContext(e, `delete the Pipelines SSH key pair of ${props.workspace}/${props.repository}`);
    }
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class PipelineSshKeyPair extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly workspace: pulumi.Output<string>;
  declare public readonly repository: pulumi.Output<string>;
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly fingerprint: pulumi.Output<string>;
  declare public readonly privateKeyHash: pulumi.Output<string | undefined>;
  /** True when the repository had a pair before and it was replaced (adopt: true). */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: PipelineSshKeyPairArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      resourceName: name,
      adopted: undefined,
      privateKey: pulumi.secret(args.privateKey),
      fingerprint: undefined,
      privateKeyHash: undefined,
    };
    super(
      shim("PipelineSshKeyPair"),
      name,
      props,
      withSecretOutputs(opts, SECRET_OUTPUTS),
      "bitbucket",
      "PipelineSshKeyPair",
    );
  }
}
