// AccessToken: a Bitbucket Data Center HTTP access token of a project, a repository or a user:
// what a platform (Platform.sh's bitbucket_server integration, CI servers) authenticates with.
// Data Center only: Bitbucket Cloud has no API that creates access tokens.
//
//   create  list {tokens} (a token with the same name?), else PUT {tokens} -> 200 with the raw token
//   read    from the run's listing of {tokens}; not listed = gone (revoked); one due for renewal is reported
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
//   Data Center cannot renew a token: its expiry date is fixed once set (Atlassian, "Managing HTTP
//   access tokens"), and an expired token stays listed until it is deleted (KB "How to renew
//   personal access tokens via REST"). So a token past `expiresAt`, or within
//   `bitbucket:tokenRenewDays` of it, is replaced too: read says so (`renewDue`), diff replaces on
//   `expiresAt`, and the replacement's create makes the new token before the old one is deleted.
// - A replacement keeps the name, so its create would find the old token and refuse it (its value
//   cannot be read): diff records the token it replaces (process-wide, one host serves a run), and
//   that token is no candidate for the replacement's lookup.

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { deleteIfExists, request } from "../api/client";
import { dcScopeLabel, dcTokensPath, type TokenOwner } from "../api/datacenter";
import { seg } from "../api/cloud";
import { isApiError } from "../api/errors";
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
  diffOf,
  holdUnlessReplaced,
  keptByThisRun,
  ownershipOf,
  writeOnly,
  type Changes,
  type Lookup,
  type Ownership,
} from "./ownership";
import { notice, processWide } from "../api/shared";
import { credentialsOf, loadSettings, tokenRenewDays } from "../api/auth";
import { now } from "../api/clock";
import { checkFlavor, checkProjectKey, checkSlug } from "./validate";
import type { Policy } from "../policy/rules";

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
  /**
   * Days until the token expires, counted from its creation. Default: never (as the server allows). Changing it makes a
   * new token. From `bitbucket:tokenRenewDays` days before it expires (default 7; 0: once expired), refresh says so and
   * `pulumi up` replaces it with a new token (its holders must be given the new value).
   */
  expiryDays?: pulumi.Input<number>;
  /** Any text; changing it makes a new token (rotation), e.g. a date. Default "". */
  rotate?: pulumi.Input<string>;
  /** Replace an existing token of the same name (it is revoked, a new one made). Default false: create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Rules of a policy this token must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
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
  /** When it expires, with `expiryDays`. From `bitbucket:tokenRenewDays` before it (default 7), the next `up` replaces it. */
  expiresAt?: string;
  /** True when refresh found it expired or within `bitbucket:tokenRenewDays` of expiring: the next `up` replaces it. */
  renewDue?: boolean;
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
  expiryDays?: number;
  /** Epoch ms; not in the spec's RestAccessToken, but in real answers (bitbucket-api.md §8.5). */
  expiryDate?: number;
  token?: string;
}

const DAY = 86_400_000;

/** A token due for renewal: when it expires (epoch ms), and whether it has. */
export interface Renewal {
  expiresAt: number;
  expired: boolean;
}

/**
 * Whether a token is due for renewal at `at`: from `renewDays` before it expires, but never in the
 * first half of its life (a token shorter-lived than twice the margin would otherwise be replaced at
 * every run). A token without an expiry never is.
 */
export function renewalOf(
  t: { createdAt?: number; expiresAt?: number },
  at: number,
  renewDays: number,
): Renewal | undefined {
  if (t.expiresAt === undefined || !Number.isFinite(t.expiresAt)) return undefined;
  const life =
    t.createdAt !== undefined && Number.isFinite(t.createdAt) ? t.expiresAt - t.createdAt : Infinity;
  const margin = Math.max(0, Math.min(renewDays * DAY, life / 2));
  if (at < t.expiresAt - margin) return undefined;
  return { expiresAt: t.expiresAt, expired: at >= t.expiresAt };
}

/**
 * The renewal due now (the clock, `bitbucket:tokenRenewDays`) for a token's dates in epoch ms, if
 * any. The setting is read only for a token that expires.
 */
function renewalDue(createdAt: number | undefined, expiresAt: number | undefined): Renewal | undefined {
  return expiresAt === undefined ? undefined : renewalOf({ createdAt, expiresAt }, now(), tokenRenewDays());
}

/** The renewal due for a token's outputs (state), if any. */
const renewalOfState = (o: Pick<AccessTokenOutputs, "createdAt" | "expiresAt">) =>
  renewalDue(
    o.createdAt === undefined ? undefined : Date.parse(o.createdAt),
    o.expiresAt === undefined ? undefined : Date.parse(o.expiresAt),
  );

/** `6 days`, `1 day`, `less than a day`. */
function daysSaid(ms: number): string {
  const n = Math.floor(ms / DAY);
  return n < 1 ? "less than a day" : `${n} day${n === 1 ? "" : "s"}`;
}

/** `expired on <date> (1 day ago)` or `expires on <date> (in 6 days, within bitbucket:tokenRenewDays = 7)`. */
function renewalSaid(r: Renewal): string {
  const at = new Date(r.expiresAt).toISOString();
  return r.expired
    ? `expired on ${at} (${daysSaid(now() - r.expiresAt)} ago)`
    : `expires on ${at} (in ${daysSaid(r.expiresAt - now())}, within bitbucket:tokenRenewDays = ${tokenRenewDays()})`;
}

/** Tokens a replacement is about to replace, by the replacement's natural key (set by diff, read by create). */
const replacing = () =>
  processWide("token-replacements", () => new Map<string, { tokenId: string; why: string }>());

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

/** When a token expires (epoch ms): Data Center's `expiryDate`, else its creation plus the days. */
function expiryOf(t: ApiToken, expiryDays = t.expiryDays): number | undefined {
  if (typeof t.expiryDate === "number") return t.expiryDate;
  return expiryDays !== undefined && typeof t.createdDate === "number"
    ? t.createdDate + expiryDays * DAY
    : undefined;
}

function fromApi(n: Normalized, t: ApiToken, token: string, adopted?: boolean): AccessTokenOutputs {
  const { adopt: _a, resourceName: _r, ...declared } = n;
  const createdAt = iso(t.createdDate);
  const expiresAt = iso(expiryOf(t, n.expiryDays));
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

/**
 * Where a token of the declared name would be found (other than `except`, the token a replacement
 * replaces); its value can never be compared, and one due for renewal is replaced.
 */
export function lookup(n: Normalized, except?: string): Lookup<ApiToken> {
  return {
    what: `access token "${n.name}" of ${placeOf(n)}`,
    natural: `access-token ${idOf(n, "").toLowerCase()} ${n.name}`,
    reads: [dcTokensPath(ownerOf(n))],
    find: (fresh) =>
      findIn<ApiToken>(dcTokensPath(ownerOf(n)), (t) => t.name === n.name && t.id !== except, { fresh }),
    differences: (t) => {
      const due = renewalDue(t.createdDate, expiryOf(t, n.expiryDays));
      if (!due) return [writeOnly("token")];
      const when = due.expired ? "expired" : `expires in ${daysSaid(due.expiresAt - now())}`;
      return [
        writeOnly("token"),
        {
          field: "expiresAt",
          live: `${iso(due.expiresAt)} (${when})`,
          declared: "a new token: pulumi up replaces it",
        },
      ];
    },
  };
}

const objectKey = (tokenId: string) => `AccessToken:${tokenId}`;

/** PUT creates; never repeated (a repeat would make a second token). */
async function createToken(n: Normalized): Promise<ApiToken> {
  try {
    // The raw token is in this answer only: the run's listing of the tokens gets it without.
    const listed = (t: unknown) => ({ ...(t as ApiToken), token: undefined });
    return (
      await request<ApiToken>("PUT", dcTokensPath(ownerOf(n)), { body: body(n), idempotent: false, listed })
    ).data;
  } catch (e) {
    // Bitbucket: "You can't use a token to perform changes on behalf of a user (for example, create
    // new tokens ...)": a personal token is made by its user signed in with a password.
    if (
      isApiError(e) &&
      (e.status === 401 || e.status === 403) &&
      n.user !== undefined &&
      signedInWithToken()
    )
      e.message += ` (a personal token is made by ${n.user} signed in with a password, not with a token: set bitbucket:username ${n.user} and its password in bitbucket:apiToken, and unset bitbucket:token)`;
    throw e;
  }
}

/** Whether the connection signs in with an HTTP access token (Bearer), which cannot make tokens. */
const signedInWithToken = () => {
  try {
    return credentialsOf(loadSettings()).kind === "bearer";
  } catch {
    return false;
  }
};

/**
 * What diff finds for a token the stack holds (state `olds`); plan calls it too. A token due for
 * renewal is replaced (`expiresAt`).
 */
export async function changesOf(olds: AccessTokenOutputs, news: Normalized): Promise<Changes> {
  const replaces: string[] = changedFields(REPLACE_ON, olds, news);
  if (renewalOfState(olds)) replaces.push("expiresAt");
  const same = (a: string[] = [], b: string[] = []) => a.join(",") === [...b].sort().join(",");
  const changed = [...replaces];
  if (olds.name !== news.name) changed.push("name");
  if (!same(olds.permissions, news.permissions)) changed.push("permissions");
  return { changed, replaces, deleteBeforeReplace: false };
}

// ---- the provider -------------------------------------------------------------------------

export const accessTokenProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: AccessTokenOutputs, news: Normalized) {
    const c = await changesOf(olds, news);
    const due = renewalOfState(olds);
    if (due) {
      notice(
        `access token "${olds.name}" of ${placeOf(olds)} ${renewalSaid(due)}: pulumi up replaces it: a new token is made, then the old one revoked (kept if the resource is retainOnDelete or protected: revoke it by hand); give its holders the new token output`,
      );
    }
    if (c.replaces.length > 0 && typeof olds.tokenId === "string") {
      const why = due ? renewalSaid(due) : `${c.replaces.join(", ")} changed`;
      replacing().set(lookup(news).natural, { tokenId: olds.tokenId, why });
    }
    return holdUnlessReplaced(diffOf(c), objectKey(olds.tokenId), news.resourceName);
  },

  async create(inputs: Normalized) {
    // A replacement: the old token (same name) is not a token to adopt; it is deleted after this.
    const old = replacing().get(lookup(inputs).natural);
    const found = lookup(inputs, old?.tokenId);
    return createOrAdopt<ApiToken, AccessTokenOutputs>({
      ...found,
      ownership: inputs,
      post: () => createToken(inputs),
      created: (t) => {
        if (old)
          notice(
            `${found.what}: made token ${t.id} to replace token ${old.tokenId} (${old.why}); the engine revokes the old one next, unless the resource is retainOnDelete`,
          );
        return { id: idOf(inputs, t.id), outs: fromApi(inputs, t, t.token ?? "") };
      },
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
    const due = renewalOfState(outs);
    if (due)
      notice(
        `access token "${props.name}" of ${placeOf(props)} ${renewalSaid(due)}: the next pulumi up replaces it with a new token; give its holders the new token output`,
      );
    const { tokenId: _i, token: _t, createdAt: _c, expiresAt: _e, adopted: _d, ...inputs } = outs;
    return { id, props: due ? { ...outs, renewDue: true } : outs, inputs };
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
  /** True when refresh found it expired or within `bitbucket:tokenRenewDays` of expiring: the next `up` replaces it. */
  declare public readonly renewDue: pulumi.Output<boolean | undefined>;
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
      renewDue: undefined,
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
