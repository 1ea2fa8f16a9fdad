// AccessToken: a Bitbucket Data Center HTTP access token of a project, a repository or a user:
// what a platform (Platform.sh's bitbucket_server integration, CI servers) authenticates with.
// Data Center only: Bitbucket Cloud has no API that creates access tokens.
//
//   create  list {tokens} (a token with the same name?), else PUT {tokens} -> 200 with the raw token
//   read    from the run's listing of {tokens}; not listed = gone (revoked)
//   update  POST {tokens}/{id} -> 200: name and permissions change in place, the token stays valid
//   delete  DELETE {tokens}/{id} -> 204, 404 = already gone
// where {tokens} is /rest/access-tokens/latest/projects/{p}[/repos/{r}] or .../users/{slug}.
//
// API facts that shaped it (shared/bitbucket-api.md §8.5):
// - Create is a PUT and update a POST. The raw `token` is in the create answer only: it is kept
//   in state as a secret output, and a PUT is never repeated (a retry would make a second token).
// - A token's value can never be read back, so an existing token with the same name cannot be
//   adopted as it is: without `adopt: true` create refuses; with it, the old token is revoked and
//   a new one made (its holders must be given the new value). A token our own PUT made but whose
//   answer was lost is revoked and made again the same way (its value was never seen).
// - `expiryDays` counts from creation: changing it, or `rotate`, makes a new token (replace).

import * as pulumi from "@pulumi/pulumi";
import { shim } from "./shim";
import { deleteIfExists, request } from "../api/client";
import { dcScopeLabel, dcTokensPath, type TokenOwner } from "../api/datacenter";
import { seg } from "../api/cloud";
import { findIn, readListed } from "../api/paginate";
import {
  changedFields,
  configure,
  findAfterWrite,
  mayHaveCommitted,
  withContext,
  withSecretOutputs,
  type CheckFailure,
} from "./common";
import {
  claim,
  createOrAdopt,
  keptByThisRun,
  ownershipOf,
  writeOnly,
  type Lookup,
  type Ownership,
} from "./ownership";
import { notice } from "../api/shared";
import { checkFlavor, checkProjectKey, checkSlug } from "./validate";

export interface AccessTokenArgs {
  /** Must be `datacenter` (the default when the provider's `bitbucket:flavor` is datacenter): Cloud has no access-token API. */
  flavor?: pulumi.Input<"datacenter">;
  /** Project key: a project token, or with `repository` a repository token. Give this or `user`. Changing it replaces the token. */
  project?: pulumi.Input<string>;
  /** Repository slug (with `project`): a repository token. Changing it replaces the token. */
  repository?: pulumi.Input<string>;
  /** User slug: a personal token of that user (another user's needs ADMIN). Changing it replaces the token. */
  user?: pulumi.Input<string>;
  /** The token's name, shown in Bitbucket; unique per owner here (it is how an existing one is found). Updates in place. */
  name: pulumi.Input<string>;
  /** What the token may do, e.g. `["PROJECT_READ", "REPO_ADMIN"]`; a set. Repository tokens take REPO_* only. Updates in place. */
  permissions: pulumi.Input<pulumi.Input<string>[]>;
  /** Days until the token expires, counted from its creation. Default: never (as the server allows). Changing it makes a new token. */
  expiryDays?: pulumi.Input<number>;
  /** Any text; changing it makes a new token (rotation), e.g. a date. Default "". */
  rotate?: pulumi.Input<string>;
  /** Replace an existing token of the same name (it is revoked, a new one made). Default false: create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
}

export type AccessTokenInputs = pulumi.Unwrap<AccessTokenArgs>;

interface Normalized extends Ownership {
  flavor: "datacenter";
  project?: string;
  repository?: string;
  user?: string;
  name: string;
  permissions: string[];
  expiryDays?: number;
  rotate: string;
}

export interface AccessTokenOutputs extends Omit<Normalized, "adopt" | "resourceName"> {
  /** Bitbucket's id for the token (digits). */
  tokenId: string;
  /** The token (secret): the only time Bitbucket shows it is at creation. */
  token: string;
  createdAt?: string;
  /** When it expires, with `expiryDays`. */
  expiresAt?: string;
  /** True when a token of the same name existed and was replaced by this one. */
  adopted?: boolean;
}

export const REPLACE_ON = ["project", "repository", "user", "expiryDays", "rotate"] as const;
export const SECRET_OUTPUTS = ["token"];

/** Permissions a token can hold (RestAccessTokenRequest; repository tokens: REPO_* only). */
export const TOKEN_PERMISSIONS = [
  "PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN", "REPO_READ", "REPO_WRITE", "REPO_ADMIN",
] as const; // prettier-ignore

/** Data Center's RestAccessToken (and, from create, RestRawAccessToken) as we read it. */
export interface ApiToken {
  id: string;
  name: string;
  permissions?: string[];
  createdDate?: number;
  expiryDate?: number;
  token?: string;
}

// ---- normalize, toApi, fromApi ---------------------------------------------------------

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const flavor = checkFlavor(raw, failures);
  if (flavor !== "datacenter")
    fail(
      "flavor",
      "AccessToken is for Bitbucket Data Center (HTTP access tokens); Bitbucket Cloud has no API that creates access tokens: create them in repository, project or workspace settings",
    );
  const project = checkProjectKey(raw, failures);
  const repository = checkSlug(raw, "repository", failures);
  const user = checkSlug(raw, "user", failures, {
    pattern: /^[A-Za-z0-9@._-]+$/,
    what: "a Data Center user slug",
  });
  if ((project === undefined) === (user === undefined))
    fail(
      "project",
      "give project (a project token, or with repository a repository token) or user (a personal token), not both",
    );
  if (repository !== undefined && project === undefined)
    fail("repository", "a repository token needs project too: the repository's project key");
  const name = typeof raw.name === "string" ? raw.name.trim() : "";
  if (!name) fail("name", "name is required: the token's name, shown in Bitbucket");
  const allowed: readonly string[] =
    repository !== undefined ? TOKEN_PERMISSIONS.filter((p) => p.startsWith("REPO_")) : TOKEN_PERMISSIONS;
  const permissions: string[] = [];
  if (!Array.isArray(raw.permissions) || raw.permissions.length === 0)
    fail("permissions", `permissions must list at least one of ${allowed.join(", ")}`);
  else
    for (const [i, p] of raw.permissions.entries()) {
      const v = typeof p === "string" ? p.trim().toUpperCase() : "";
      if (!allowed.includes(v))
        fail(
          `permissions[${i}]`,
          `"${String(p)}" is not a permission ${repository !== undefined ? "a repository token" : "a token"} can have; use ${allowed.join(", ")}`,
        );
      else if (!permissions.includes(v)) permissions.push(v);
    }
  let expiryDays: number | undefined;
  if (raw.expiryDays !== undefined && raw.expiryDays !== null) {
    if (typeof raw.expiryDays !== "number" || !Number.isInteger(raw.expiryDays) || raw.expiryDays < 1)
      fail("expiryDays", "expiryDays must be a whole number of days, at least 1");
    else expiryDays = raw.expiryDays;
  }
  if (raw.rotate !== undefined && typeof raw.rotate !== "string") fail("rotate", "rotate must be text");
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      flavor: "datacenter",
      ...(project !== undefined && { project }),
      ...(repository !== undefined && { repository }),
      ...(user !== undefined && { user }),
      name,
      permissions: permissions.sort(),
      ...(expiryDays !== undefined && { expiryDays }),
      rotate: typeof raw.rotate === "string" ? raw.rotate : "",
    },
    failures,
  };
}

const ownerOf = (n: Pick<Normalized, "project" | "repository" | "user">): TokenOwner =>
  n.user !== undefined ? { user: n.user } : { project: n.project ?? "", repository: n.repository };

const placeOf = (n: Pick<Normalized, "project" | "repository" | "user">) =>
  n.user !== undefined
    ? `user ${n.user}`
    : dcScopeLabel({ project: n.project ?? "", repository: n.repository });

/** The Pulumi id: `users/{slug}/{id}` or `{project}[/{repo}]/{id}`. */
const idOf = (n: Pick<Normalized, "project" | "repository" | "user">, tokenId: string) =>
  n.user !== undefined
    ? `users/${n.user}/${tokenId}`
    : `${n.project}/${n.repository !== undefined ? `${n.repository}/` : ""}${tokenId}`;

const iso = (ms: number | undefined) => (typeof ms === "number" ? new Date(ms).toISOString() : undefined);

function fromApi(n: Normalized, t: ApiToken, token: string, adopted?: boolean): AccessTokenOutputs {
  const { adopt: _a, resourceName: _r, ...declared } = n;
  const createdAt = iso(t.createdDate);
  const expiresAt =
    iso(t.expiryDate) ??
    (n.expiryDays !== undefined && t.createdDate !== undefined
      ? iso(t.createdDate + n.expiryDays * 86_400_000)
      : undefined);
  return {
    ...declared,
    name: t.name,
    ...(t.permissions && { permissions: [...t.permissions].sort() }),
    tokenId: t.id,
    token,
    ...(createdAt && { createdAt }),
    ...(expiresAt && { expiresAt }),
    ...(adopted && { adopted: true }),
  };
}

const body = (n: Normalized) => ({
  name: n.name,
  permissions: n.permissions,
  ...(n.expiryDays !== undefined && { expiryDays: n.expiryDays }),
});

/** Where a token of the declared name would be found; its value can never be compared. */
export function lookup(n: Normalized): Lookup<ApiToken> {
  return {
    what: `access token "${n.name}" of ${placeOf(n)}`,
    natural: `access-token ${idOf(n, "").toLowerCase()} ${n.name}`,
    find: (fresh) => findIn<ApiToken>(dcTokensPath(ownerOf(n)), (t) => t.name === n.name, { fresh }),
    differences: () => [writeOnly("token")],
  };
}

const objectKey = (tokenId: string) => `AccessToken:${tokenId}`;

/** PUT creates; never repeated (a repeat would make a second token). */
async function createToken(n: Normalized): Promise<ApiToken> {
  return (await request<ApiToken>("PUT", dcTokensPath(ownerOf(n)), { body: body(n), idempotent: false }))
    .data;
}

// ---- the provider -------------------------------------------------------------------------

export const accessTokenProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: AccessTokenOutputs, news: Normalized) {
    const replaces: string[] = changedFields(REPLACE_ON, olds, news);
    const same = (a: string[] = [], b: string[] = []) => a.join(",") === [...b].sort().join(",");
    const changes =
      replaces.length > 0 || olds.name !== news.name || !same(olds.permissions, news.permissions);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: Normalized) {
    const found = lookup(inputs);
    return createOrAdopt<ApiToken, AccessTokenOutputs>({
      ...found,
      ownership: inputs,
      post: () => createToken(inputs),
      created: (t) => ({ id: idOf(inputs, t.id), outs: fromApi(inputs, t, t.token ?? "") }),
      key: (t) => objectKey(t.id),
      // Its value cannot be read: revoke it and make a new one, which this run then knows.
      adopt: async (old) => {
        try {
          await deleteIfExists(`${dcTokensPath(ownerOf(inputs))}/${seg(old.id)}`);
          const t = await createToken(inputs);
          notice(
            `${found.what}: revoked the existing token ${old.id} and made a new one (${t.id}); give its holders the new token output`,
          );
          return { id: idOf(inputs, t.id), outs: fromApi(inputs, t, t.token ?? "") };
        } catch (e) {
          // That PUT's answer may be lost too: revoke what it made (its value was never seen either).
          const left = mayHaveCommitted(e) ? await findAfterWrite(() => found.find(true)) : undefined;
          if (left === undefined)
            throw withContext(e, `create ${found.what} (replacing existing token ${old.id})`);
          const revoked = await deleteIfExists(`${dcTokensPath(ownerOf(inputs))}/${seg(left.id)}`).then(
            () => "the token that PUT made was revoked: run again",
            () => `token ${left.id} that PUT made may remain, its value unknown: revoke it in Bitbucket`,
          );
          throw withContext(e, `create ${found.what} (replacing existing token ${old.id}; ${revoked})`);
        }
      },
    });
  },

  async read(id: string, props: AccessTokenOutputs) {
    const path = dcTokensPath(ownerOf(props));
    let t: ApiToken | undefined;
    try {
      t = await readListed<ApiToken>(path, (x) => x.id === props.tokenId);
    } catch (e) {
      throw withContext(e, `read access token "${props.name}" of ${placeOf(props)}`);
    }
    if (!t) return {}; // revoked or expired away
    const declared: Normalized = {
      flavor: "datacenter",
      ...(props.project !== undefined && { project: props.project }),
      ...(props.repository !== undefined && { repository: props.repository }),
      ...(props.user !== undefined && { user: props.user }),
      name: props.name,
      permissions: props.permissions,
      ...(props.expiryDays !== undefined && { expiryDays: props.expiryDays }),
      rotate: props.rotate ?? "",
      adopt: false,
    };
    const outs = fromApi(declared, t, props.token, props.adopted);
    const { tokenId: _i, token: _t, createdAt: _c, expiresAt: _e, adopted: _d, ...inputs } = outs;
    return { id, props: outs, inputs };
  },

  async update(id: string, olds: AccessTokenOutputs, news: Normalized) {
    const what = `access token "${news.name}" of ${placeOf(news)}`;
    claim(objectKey(olds.tokenId), what, news.resourceName, "updated");
    try {
      // POST updates the fields it names and keeps the token valid; repeating it is harmless.
      const { data } = await request<ApiToken>(
        "POST",
        `${dcTokensPath(ownerOf(news))}/${seg(olds.tokenId)}`,
        {
          body: { name: news.name, permissions: news.permissions },
          idempotent: true,
        },
      );
      return { outs: fromApi(news, data, olds.token, olds.adopted) };
    } catch (e) {
      throw withContext(e, `update ${what}`);
    }
  },

  async delete(id: string, props: AccessTokenOutputs) {
    const what = `access token "${props.name}" of ${placeOf(props)}`;
    if (keptByThisRun(objectKey(props.tokenId), what)) return;
    try {
      await deleteIfExists(`${dcTokensPath(ownerOf(props))}/${seg(props.tokenId)}`);
    } catch (e) {
      throw withContext(e, `delete ${what}`);
    }
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class AccessToken extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly project: pulumi.Output<string | undefined>;
  declare public readonly repository: pulumi.Output<string | undefined>;
  declare public readonly user: pulumi.Output<string | undefined>;
  declare public readonly name: pulumi.Output<string>;
  declare public readonly permissions: pulumi.Output<string[]>;
  declare public readonly expiryDays: pulumi.Output<number | undefined>;
  declare public readonly tokenId: pulumi.Output<string>;
  /** The token (secret). */
  declare public readonly token: pulumi.Output<string>;
  declare public readonly createdAt: pulumi.Output<string | undefined>;
  declare public readonly expiresAt: pulumi.Output<string | undefined>;
  /** True when a token of the same name existed and was replaced by this one. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: AccessTokenArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      resourceName: name,
      adopted: undefined,
      tokenId: undefined,
      token: undefined,
      createdAt: undefined,
      expiresAt: undefined,
    };
    super(
      shim("AccessToken"),
      name,
      props,
      withSecretOutputs(opts, SECRET_OUTPUTS),
      "bitbucket",
      "AccessToken",
    );
  }
}
