// Webhook: a Bitbucket Cloud webhook on a repository, or on a whole workspace.
//
//   create  GET  {hooks}?pagelen=100 (adopt a hook with the same URL), else POST {hooks} -> 201
//   read    GET  {hooks}/{uuid} -> 200, 404 = gone
//   update  PUT  {hooks}/{uuid} -> 200, full object (PUT replaces)
//   delete  DELETE {hooks}/{uuid} -> 204, 404 = already gone
// where {hooks} is /repositories/{ws}/{repo}/hooks or /workspaces/{ws}/hooks.
//
// API facts that shaped it (shared/bitbucket-api.md §2):
// - The secret is write-only: never returned, only `secret_set`. On PUT an absent secret
//   is kept and "" removes it (the spec allows "" and null; "" is the one its schema
//   accepts). We keep a salted hash in state to tell whether the desired secret changed.
// - Duplicate entries in `events` get a plain-text 400, so events are a sorted set.
// - A PUT without `url` is rejected, so every update sends the whole object.
// - Hooks installed by Connect apps are `read_only`; they are never adopted.

import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { shim } from "./shim";
import { request, deleteIfExists } from "../api/client";
import { hookPath, hooksPath, scopeLabel, type HookScope } from "../api/cloud";
import { findIn, readListed } from "../api/paginate";
import {
  closeMatches,
  configure,
  hashSecret,
  partialFailure,
  secretMatches,
  withContext,
  type CheckFailure,
  withSecretOutputs,
} from "./common";
import {
  claim,
  createOrAdopt,
  keptByThisRun,
  ownershipOf,
  writeOnly,
  type Difference,
  type Lookup,
  type Ownership,
  replacedFields,
} from "./ownership";
import { notice } from "../api/shared";
import { naturalKey, urlForMessages } from "../names";
import { checkSlug } from "./validate";

export interface WebhookArgs {
  /** Workspace slug (or `{uuid}`). Changing it replaces the webhook. */
  workspace: pulumi.Input<string>;
  /** Repository slug. Absent: a workspace webhook (needs a workspace owner). Changing it replaces the webhook. */
  repository?: pulumi.Input<string>;
  /** Where Bitbucket delivers events; must be https unless `allowHttp` is set. Updates in place. */
  url: pulumi.Input<string>;
  /** Shown in Bitbucket's settings. Default "". Updates in place. */
  description?: pulumi.Input<string>;
  /** Events to deliver, e.g. `repo:push`, `pullrequest:created`; a set (order does not matter). Updates in place. */
  events: pulumi.Input<pulumi.Input<string>[]>;
  /** Whether deliveries are on. Default true. Updates in place. */
  active?: pulumi.Input<boolean>;
  /** Secret (up to 128 characters) Bitbucket signs deliveries with (`X-Hub-Signature`). Secret; write-only. Omit for none. Updates in place. */
  secret?: pulumi.Input<string>;
  /** Generate a random secret instead of giving one: kept in state and exposed as the secret output `generatedSecret`. Default false. */
  generateSecret?: pulumi.Input<boolean>;
  /** Deliver even when the receiver's TLS certificate does not verify. Default false. Updates in place. */
  skipCertVerification?: pulumi.Input<boolean>;
  /** Allow an `http://` URL. Default false: a plain-text receiver exposes payloads. */
  allowHttp?: pulumi.Input<boolean>;
  /** Take over an existing hook with the same URL even when it differs (events, secret...): it is then brought to this declaration. Default false: only an identical hook is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
}

export type WebhookInputs = pulumi.Unwrap<WebhookArgs>;

/** Inputs after `check`: defaults applied, events sorted. */
interface Normalized extends Ownership {
  workspace: string;
  repository?: string;
  url: string;
  description: string;
  events: string[];
  active: boolean;
  secret?: string;
  generateSecret: boolean;
  skipCertVerification: boolean;
  allowHttp: boolean;
}

export interface WebhookOutputs extends Omit<Normalized, "secret" | "adopt" | "resourceName"> {
  /** True when the hook existed before and was adopted (taken over) rather than created. */
  adopted?: boolean;
  /** Bitbucket's id for the hook, braced: `{ec96bf6b-...}`. */
  uuid: string;
  /** Whether Bitbucket holds a secret for the hook. */
  secretSet: boolean;
  /** Salted hash of the secret we set (secret output), to detect a changed secret without storing it. */
  secretHash?: string;
  /** The secret we generated (secret output), with `generateSecret`. */
  generatedSecret?: string;
  /** When Bitbucket created the hook. */
  createdAt?: string;
}

export const REPLACE_ON = ["workspace", "repository"] as const;
export const SECRET_OUTPUTS = ["secretHash", "generatedSecret"];

/** Event ids the Cloud API accepts (webhook_subscription.events enum in the Cloud OpenAPI spec; a contract test keeps them equal). */
export const CLOUD_WEBHOOK_EVENTS = [
  "issue:comment_created", "issue:created", "issue:updated",
  "pipeline:span_created", "project:updated",
  "pullrequest:approved", "pullrequest:changes_request_created", "pullrequest:changes_request_removed",
  "pullrequest:comment_created", "pullrequest:comment_deleted", "pullrequest:comment_reopened",
  "pullrequest:comment_resolved", "pullrequest:comment_updated", "pullrequest:created", "pullrequest:fulfilled",
  "pullrequest:push", "pullrequest:rejected", "pullrequest:unapproved", "pullrequest:updated",
  "repo:commit_comment_created", "repo:commit_status_created", "repo:commit_status_updated", "repo:created",
  "repo:deleted", "repo:fork", "repo:imported", "repo:push", "repo:transfer", "repo:updated",
] as const; // prettier-ignore

const SECRET_MAX = 128;

/** Bitbucket's webhook_subscription as we read it. */
export interface ApiHook {
  uuid: string;
  url: string;
  description?: string;
  active?: boolean;
  events?: string[];
  secret_set?: boolean;
  skip_cert_verification?: boolean;
  read_only?: boolean | null;
  created_at?: string;
}

// ---- normalize, toApi, fromApi ---------------------------------------------------------

/** Validates and normalizes raw inputs; every problem is reported, each naming its property. */
export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const str = (v: unknown) => (typeof v === "string" ? v.trim() : undefined);

  const workspace =
    checkSlug(raw, "workspace", failures, { required: "the workspace slug, e.g. acme" }) ?? "";
  const repository = checkSlug(raw, "repository", failures);

  const allowHttp = raw.allowHttp === true;
  const url = str(raw.url) ?? "";
  if (!url) fail("url", "url is required: where Bitbucket delivers the events");
  else {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      fail("url", `"${urlForMessages(url)}" is not a valid URL`);
    }
    if (parsed && parsed.protocol === "http:" && !allowHttp) {
      fail(
        "url",
        `"${urlForMessages(url)}" is not https: payloads would travel in plain text; use https, or set allowHttp: true`,
      );
    } else if (parsed && parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      fail("url", `"${urlForMessages(url)}" must be an https URL`);
    }
  }

  const events: string[] = [];
  if (!Array.isArray(raw.events) || raw.events.length === 0) {
    fail("events", `events must list at least one event, e.g. ["repo:push"]`);
  } else {
    const seen = new Set<string>();
    for (const [i, e] of raw.events.entries()) {
      const ev = typeof e === "string" ? e.trim() : "";
      if (!(CLOUD_WEBHOOK_EVENTS as readonly string[]).includes(ev)) {
        const close = closeMatches(ev, CLOUD_WEBHOOK_EVENTS);
        fail(
          `events[${i}]`,
          `unknown event "${String(e)}"${close.length ? `; did you mean ${close.join(", ")}?` : ""}`,
        );
      } else if (seen.has(ev)) {
        fail(`events[${i}]`, `"${ev}" is listed twice (Bitbucket rejects duplicate events)`);
      } else seen.add(ev);
    }
    events.push(...[...seen].sort());
  }

  const secret = typeof raw.secret === "string" && raw.secret !== "" ? raw.secret : undefined;
  if (raw.secret !== undefined && raw.secret !== null && typeof raw.secret !== "string") {
    fail("secret", "secret must be text");
  } else if (secret !== undefined && secret.length > SECRET_MAX) {
    // The length only: never the secret itself.
    fail("secret", `secret is ${secret.length} characters; Bitbucket allows at most ${SECRET_MAX}`);
  }

  if (secret !== undefined && raw.generateSecret === true) {
    fail("generateSecret", "give secret or generateSecret: true, not both");
  }
  for (const b of ["active", "skipCertVerification", "allowHttp", "generateSecret"]) {
    if (raw[b] !== undefined && typeof raw[b] !== "boolean") fail(b, `${b} must be true or false`);
  }
  const description = typeof raw.description === "string" ? raw.description : "";

  const inputs: Normalized = {
    ...ownershipOf(raw, failures),
    workspace,
    ...(repository && { repository }),
    url,
    description,
    events,
    active: raw.active !== false,
    ...(secret !== undefined && { secret }),
    generateSecret: raw.generateSecret === true,
    skipCertVerification: raw.skipCertVerification === true,
    allowHttp,
  };
  return { inputs, failures };
}

/**
 * The PUT/POST body. `secret`: a string sets it, "" removes it, undefined leaves it as is.
 */
function toApi(n: Normalized, secret: string | undefined): Record<string, unknown> {
  return {
    url: n.url,
    description: n.description,
    active: n.active,
    events: n.events,
    skip_cert_verification: n.skipCertVerification,
    ...(secret !== undefined && { secret }),
  };
}

/** What state knows of the secret: its hash, and the value when we generated it. */
interface SecretState {
  hash?: string;
  generated?: string;
}

function fromApi(
  scope: HookScope,
  h: ApiHook,
  n: { allowHttp: boolean; generateSecret: boolean },
  secret: SecretState,
  adopted?: boolean,
): WebhookOutputs {
  const secretSet = h.secret_set === true;
  return {
    ...(adopted && { adopted: true }),
    workspace: scope.workspace,
    ...(scope.repository && { repository: scope.repository }),
    url: h.url,
    description: h.description ?? "",
    events: [...(h.events ?? [])].sort(),
    active: h.active !== false,
    skipCertVerification: h.skip_cert_verification === true,
    allowHttp: n.allowHttp,
    generateSecret: n.generateSecret,
    uuid: h.uuid,
    secretSet,
    // A hash only means something while Bitbucket still holds a secret; a generated secret is
    // kept regardless, so a hook whose secret was removed by hand gets the same one back.
    ...(secretSet && secret.hash !== undefined && { secretHash: secret.hash }),
    ...(secret.generated !== undefined && { generatedSecret: secret.generated }),
    ...(h.created_at && { createdAt: h.created_at }),
  };
}

/**
 * The secret the hook should have: the one given, the one generated before (kept in state),
 * a new random one, or none.
 */
function desiredSecret(n: Normalized, olds?: Partial<WebhookOutputs>): string | undefined {
  if (n.secret !== undefined) return n.secret;
  if (!n.generateSecret) return undefined;
  return olds?.generatedSecret ?? crypto.randomBytes(32).toString("hex");
}

/** State for a secret that was just sent (or kept). */
const secretState = (n: Normalized, want: string | undefined, hash: string | undefined): SecretState => ({
  hash: want === undefined ? undefined : (hash ?? hashSecret(want)),
  generated: n.generateSecret ? want : undefined,
});

function idOf(scope: HookScope, uuid: string): string {
  return scope.repository ? `${scope.workspace}/${scope.repository}/${uuid}` : `${scope.workspace}/${uuid}`;
}

/** Scope and uuid from state, or from the id (`ws/repo/{uuid}` or `ws/{uuid}`) when state lacks them. */
function locate(id: string, props: Partial<WebhookOutputs>): { scope: HookScope; uuid: string } {
  if (props.workspace && props.uuid) {
    return { scope: { workspace: props.workspace, repository: props.repository }, uuid: props.uuid };
  }
  const parts = id.split("/");
  const uuid = parts.pop() ?? "";
  return { scope: { workspace: parts[0] ?? "", repository: parts[1] }, uuid };
}

const sameSet = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** Whether a hook already has everything in `n` but the secret. */
function matches(h: ApiHook, n: Normalized): boolean {
  return (
    h.url === n.url &&
    (h.description ?? "") === n.description &&
    (h.active !== false) === n.active &&
    (h.skip_cert_verification === true) === n.skipCertVerification &&
    sameSet(h.events, n.events)
  );
}

/** How an existing hook differs from the declaration; a secret it holds cannot be compared. */
function differences(h: ApiHook, n: Normalized): Difference[] {
  const out: Difference[] = [];
  const quoted = (s: string | undefined) => `"${s ?? ""}"`;
  const events = (e: readonly string[] | undefined) => [...(e ?? [])].sort().join(", ");
  if ((h.description ?? "") !== n.description)
    out.push({ field: "description", live: quoted(h.description), declared: quoted(n.description) });
  if ((h.active !== false) !== n.active)
    out.push({ field: "active", live: String(h.active !== false), declared: String(n.active) });
  if ((h.skip_cert_verification === true) !== n.skipCertVerification)
    out.push({
      field: "skipCertVerification",
      live: String(h.skip_cert_verification === true),
      declared: String(n.skipCertVerification),
    });
  if (!sameSet(h.events, n.events))
    out.push({ field: "events", live: events(h.events), declared: events(n.events) });
  if (h.secret_set === true) out.push(writeOnly("secret"));
  else if (n.secret !== undefined || n.generateSecret)
    out.push({ field: "secret", live: "none", declared: n.generateSecret ? "(generated)" : "(write-only)" });
  return out;
}

/** Where the declared hook would be found (same URL in the same place), and how one found compares. */
export function lookup(n: Normalized): Lookup<ApiHook> {
  const scope: HookScope = { workspace: n.workspace, repository: n.repository };
  return {
    what: `webhook ${urlForMessages(n.url)} on ${scopeLabel(scope)}`,
    natural: naturalKey.webhook(scope.workspace, scope.repository, n.url),
    // Made by hand, or by a run that lost its answer; never an app's read-only hook.
    find: (fresh) =>
      findIn<ApiHook>(hooksPath(scope), (h) => h.url === n.url && h.read_only !== true, { fresh }),
    differences: (h) => differences(h, n),
  };
}

const objectKey = (uuid: string) => `Webhook:${uuid}`;

// ---- the provider -------------------------------------------------------------------------

export const webhookProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const { inputs, failures } = normalize(news);
    return { inputs, failures };
  },

  async diff(_id: string, olds: WebhookOutputs, news: Normalized) {
    const replaces = await replacedFields(REPLACE_ON, olds, news);
    const changed: string[] = [...replaces];
    if (olds.url !== news.url) changed.push("url");
    if ((olds.description ?? "") !== news.description) changed.push("description");
    if (!sameSet(olds.events, news.events)) changed.push("events");
    if (olds.active !== news.active) changed.push("active");
    if (olds.skipCertVerification !== news.skipCertVerification) changed.push("skipCertVerification");
    if (Boolean(olds.allowHttp) !== news.allowHttp) changed.push("allowHttp");
    if (Boolean(olds.generateSecret) !== news.generateSecret) changed.push("generateSecret");
    const secretChanged =
      news.secret !== undefined
        ? !olds.secretSet || !secretMatches(news.secret, olds.secretHash)
        : news.generateSecret
          ? !olds.secretSet || olds.generatedSecret === undefined
          : olds.secretSet === true;
    if (secretChanged) changed.push("secret");
    if (replaces.length > 0 && news.generateSecret && olds.generatedSecret !== undefined) {
      // The replacement is a new hook with a new random secret: the receiver must be told.
      notice(
        `replacing webhook ${urlForMessages(news.url)} (${replaces.join(", ")} changed) generates a new secret: give the receiving side the new generatedSecret after the update`,
      );
    }
    return { changes: changed.length > 0, replaces: [...replaces], deleteBeforeReplace: false };
  },

  async create(inputs: Normalized) {
    const scope: HookScope = { workspace: inputs.workspace, repository: inputs.repository };
    const found = lookup(inputs);
    const want = desiredSecret(inputs);
    return createOrAdopt<ApiHook, WebhookOutputs>({
      ...found,
      ownership: inputs,
      post: async () =>
        (await request<ApiHook>("POST", hooksPath(scope), { body: toApi(inputs, want) })).data,
      created: (h) => ({
        id: idOf(scope, h.uuid),
        outs: fromApi(scope, h, inputs, secretState(inputs, want, undefined)),
      }),
      adopt: (h) => adopt(scope, h, inputs, want, `create ${found.what}`),
      key: (h) => objectKey(h.uuid),
    });
  },

  async read(id: string, props: WebhookOutputs) {
    const { scope, uuid } = locate(id, props);
    let hook: ApiHook | undefined;
    try {
      hook = await readListed<ApiHook>(hooksPath(scope), (h) => h.uuid === uuid);
    } catch (e) {
      throw withContext(e, `read webhook ${uuid} on ${scopeLabel(scope)}`);
    }
    if (!hook) return {}; // deleted out of band: no id tells the engine it is gone
    const outs = fromApi(
      scope,
      hook,
      { allowHttp: props.allowHttp === true, generateSecret: props.generateSecret === true },
      { hash: props.secretHash, generated: props.generatedSecret },
      props.adopted,
    );
    const {
      uuid: _u,
      secretSet: _s,
      secretHash: _h,
      generatedSecret: _g,
      createdAt: _c,
      adopted: _a,
      ...inputs
    } = outs;
    return { id: idOf(scope, hook.uuid), props: outs, inputs };
  },

  async update(id: string, olds: WebhookOutputs, news: Normalized) {
    const { scope, uuid } = locate(id, olds);
    claim(
      objectKey(uuid),
      `webhook ${urlForMessages(news.url)} on ${scopeLabel(scope)}`,
      news.resourceName,
      "updated",
    );
    const want = desiredSecret(news, olds);
    // Send the secret only when it changed; "" removes one that is no longer wanted.
    const unchanged = want !== undefined && olds.secretSet && secretMatches(want, olds.secretHash);
    const send = want === undefined ? (olds.secretSet ? "" : undefined) : unchanged ? undefined : want;
    try {
      const { data } = await request<ApiHook>("PUT", hookPath(scope, uuid), { body: toApi(news, send) });
      return {
        outs: fromApi(
          scope,
          data,
          news,
          secretState(news, want, unchanged ? olds.secretHash : undefined),
          olds.adopted,
        ),
      };
    } catch (e) {
      throw withContext(e, `update webhook ${urlForMessages(news.url)} on ${scopeLabel(scope)}`);
    }
  },

  async delete(id: string, props: WebhookOutputs) {
    const { scope, uuid } = locate(id, props);
    if (
      keptByThisRun(objectKey(uuid), `webhook ${urlForMessages(props.url ?? uuid)} on ${scopeLabel(scope)}`)
    )
      return;
    try {
      await deleteIfExists(hookPath(scope, uuid));
    } catch (e) {
      throw withContext(e, `delete webhook ${urlForMessages(props.url ?? uuid)} on ${scopeLabel(scope)}`);
    }
  },
};

/** Brings an existing hook to the desired state (one PUT, skipped when nothing differs). */
async function adopt(scope: HookScope, h: ApiHook, n: Normalized, want: string | undefined, what: string) {
  const id = idOf(scope, h.uuid);
  const send = want ?? (h.secret_set ? "" : undefined);
  if (send === undefined && matches(h, n)) {
    return { id, outs: fromApi(scope, h, n, {}) };
  }
  try {
    const { data } = await request<ApiHook>("PUT", hookPath(scope, h.uuid), { body: toApi(n, send) });
    return { id, outs: fromApi(scope, data, n, secretState(n, want, undefined)) };
  } catch (e) {
    // The hook exists: record it in state so the next run updates it instead of duplicating it.
    throw partialFailure(e, id, fromApi(scope, h, n, {}), `${what} (adopting existing hook ${h.uuid})`);
  }
}

// ---- the resource ---------------------------------------------------------------------------

export class Webhook extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly workspace: pulumi.Output<string>;
  declare public readonly repository: pulumi.Output<string | undefined>;
  declare public readonly url: pulumi.Output<string>;
  declare public readonly description: pulumi.Output<string>;
  declare public readonly events: pulumi.Output<string[]>;
  declare public readonly active: pulumi.Output<boolean>;
  declare public readonly skipCertVerification: pulumi.Output<boolean>;
  declare public readonly uuid: pulumi.Output<string>;
  declare public readonly secretSet: pulumi.Output<boolean>;
  declare public readonly secretHash: pulumi.Output<string | undefined>;
  /** The generated secret, with `generateSecret` (secret). */
  declare public readonly generatedSecret: pulumi.Output<string | undefined>;
  declare public readonly createdAt: pulumi.Output<string | undefined>;
  /** True when an existing hook was adopted rather than created. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: WebhookArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      resourceName: name,
      adopted: undefined,
      // A secret stays secret in state and previews even if given as a plain string.
      secret: args.secret === undefined ? undefined : pulumi.secret(args.secret),
      uuid: undefined,
      secretSet: undefined,
      secretHash: undefined,
      generatedSecret: undefined,
      createdAt: undefined,
    };
    super(shim("Webhook"), name, props, withSecretOutputs(opts, SECRET_OUTPUTS), "bitbucket", "Webhook");
  }
}
