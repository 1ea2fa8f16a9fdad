// Webhook: a webhook on a repository, or on a whole Cloud workspace or Data Center project.
// One lifecycle for both flavors; what differs (paths, body, ids) is a small adapter, HOOK_API.
//
//   create  list {hooks} (adopt a hook with the same URL), else POST {hooks} -> Cloud 201, DC 200
//   read    from the run's listing of {hooks}; not listed = gone
//   update  PUT  {hooks}/{id} -> 200, full object (PUT replaces)
//   delete  DELETE {hooks}/{id} -> 204, 404 = already gone
// where {hooks} is, on Cloud, /repositories/{ws}/{repo}/hooks or /workspaces/{ws}/hooks, and on
// Data Center /rest/api/latest/projects/{p}/repos/{r}/webhooks or /rest/api/latest/projects/{p}/webhooks.
//
// API facts that shaped it (shared/bitbucket-api.md §2, §8.2):
// - Cloud: the secret is write-only: never returned, only `secret_set`. On PUT an absent secret
//   is kept and "" removes it (the spec allows "" and null; "" is the one its schema accepts).
//   We keep a salted hash in state to tell whether the desired secret changed.
// - Data Center: the secret travels in `configuration.secret`, and PUT replaces the configuration,
//   so every PUT carries the secret wanted (none: an empty configuration). DC may return the secret
//   on GET (Atlassian does not document it for 9.x; a server may mask it): an answer that carries
//   one says a secret is set, one that does not says nothing, and state keeps what was last sent
//   (secretSet, secretHash). We never store the secret itself. Ids are integers;
//   hooks have a `name` (required) instead of a description; `sslVerificationRequired` is the
//   inverse of Cloud's `skip_cert_verification`.
// - Duplicate entries in `events` get a 400, so events are a sorted set.
// - A PUT without `url` is rejected, so every update sends the whole object.
// - Cloud hooks installed by Connect apps are `read_only`; they are never adopted.

import * as crypto from "crypto";
import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { request, deleteIfExists } from "../api/client";
import { hooksPath, scopeLabel, seg } from "../api/cloud";
import { dcHooksPath, dcScopeLabel } from "../api/datacenter";
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
  diffOf,
  holdUnlessReplaced,
  keptByThisRun,
  ownershipOf,
  writeOnly,
  type Changes,
  type Difference,
  type Lookup,
  type Ownership,
  replacedFields,
} from "./ownership";
import { notice } from "../api/shared";
import { hasCredentials, naturalKey, redactUrl, redactUrlIn } from "../names";
import { checkFlavor, checkProjectKey, checkSlug, stateFlavor, type Flavor } from "./validate";
import type { Policy } from "../policy/rules";

export interface WebhookArgs {
  /** `cloud` or `datacenter`. Default: the provider's `bitbucket:flavor`. Changing it replaces the webhook. */
  flavor?: pulumi.Input<Flavor>;
  /** Cloud: workspace slug (or `{uuid}`). Changing it replaces the webhook. */
  workspace?: pulumi.Input<string>;
  /** Data Center: project key, e.g. `PROJ`. Changing it replaces the webhook. */
  project?: pulumi.Input<string>;
  /** Repository slug. Absent: a workspace (Cloud) or project (Data Center) webhook. Changing it replaces the webhook. */
  repository?: pulumi.Input<string>;
  /** Data Center: the hook's name, shown in repository settings. Default: the URL's host. Updates in place. */
  name?: pulumi.Input<string>;
  /**
   * Where Bitbucket delivers events; must be https unless `allowHttp` is set. Updates in place.
   * Secret when it carries a credential (user:password@, a query such as `?token=`, a fragment):
   * kept encrypted in state and shown redacted (`?token=***`); a plain URL stays plain.
   */
  url: pulumi.Input<string>;
  /** Cloud: shown in Bitbucket's settings. Default "". Updates in place. */
  description?: pulumi.Input<string>;
  /** Events to deliver, e.g. `repo:push` (Cloud) or `repo:refs_changed` (Data Center); a set (order does not matter). Updates in place. */
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
  /**
   * Rules of a policy this webhook must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
}

export type WebhookInputs = pulumi.Unwrap<WebhookArgs>;

/** Inputs after `check`: defaults applied, events sorted. */
interface Normalized extends Ownership, Where {
  url: string;
  /** Cloud: the description ("" by default). */
  description?: string;
  /** Data Center: the name (the URL's host by default). */
  name?: string;
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
  /** Bitbucket's id for the hook: Cloud's braced uuid `{ec96bf6b-...}`, Data Center's integer as text. */
  hookId: string;
  /** Cloud: the hook's braced uuid (= hookId). */
  uuid?: string;
  /** Whether Bitbucket holds a secret for the hook. */
  secretSet: boolean;
  /** Salted hash of the secret we set (secret output), to detect a changed secret without storing it. */
  secretHash?: string;
  /** The secret we generated (secret output), with `generateSecret`. */
  generatedSecret?: string;
  /** When Bitbucket created the hook. */
  createdAt?: string;
}

export const REPLACE_ON = ["flavor", "workspace", "project", "repository"] as const;
/** Secret outputs; `url` too when it carries a credential (names.ts hasCredentials). */
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

/**
 * Event keys Data Center accepts (shared/bitbucket-api.md §8.2: the spec lists none; from
 * Atlassian's "Event payload" page as quoted by public clients). `pr:reviewer:needs_work` is the
 * name older servers use for `pr:reviewer:changes_requested`.
 */
export const DC_WEBHOOK_EVENTS = [
  "mirror:repo_synchronized", "pr:comment:added", "pr:comment:deleted", "pr:comment:edited", "pr:declined",
  "pr:deleted", "pr:from_ref_updated", "pr:merged", "pr:modified", "pr:opened", "pr:reviewer:approved",
  "pr:reviewer:changes_requested", "pr:reviewer:needs_work", "pr:reviewer:unapproved", "pr:reviewer:updated",
  "project:modified", "repo:comment:added", "repo:comment:deleted", "repo:comment:edited", "repo:forked",
  "repo:modified", "repo:refs_changed", "repo:secret_detected",
] as const; // prettier-ignore

/** The nearest event of the other flavor, for "did you mean" when a manifest or hook mixes them. */
const COUNTERPARTS: Array<[cloud: string, dc: string]> = [
  ["repo:push", "repo:refs_changed"], ["repo:updated", "repo:modified"], ["repo:fork", "repo:forked"],
  ["repo:commit_comment_created", "repo:comment:added"], ["pullrequest:created", "pr:opened"],
  ["pullrequest:updated", "pr:modified"], ["pullrequest:push", "pr:from_ref_updated"],
  ["pullrequest:fulfilled", "pr:merged"], ["pullrequest:rejected", "pr:declined"],
  ["pullrequest:approved", "pr:reviewer:approved"], ["pullrequest:unapproved", "pr:reviewer:unapproved"],
  ["pullrequest:changes_request_created", "pr:reviewer:changes_requested"],
  ["pullrequest:comment_created", "pr:comment:added"], ["pullrequest:comment_updated", "pr:comment:edited"],
  ["pullrequest:comment_deleted", "pr:comment:deleted"], ["project:updated", "project:modified"],
]; // prettier-ignore

/** The event of `flavor` that does what `event` (the other flavor's) does, where there is one. */
export function eventCounterpart(event: string, flavor: Flavor): string | undefined {
  const pair = COUNTERPARTS.find(([c, d]) => (flavor === "cloud" ? d : c) === event);
  return pair && (flavor === "cloud" ? pair[0] : pair[1]);
}

/**
 * Why `event` is not an event of `flavor` (undefined when it is): says when it is the other
 * flavor's, and suggests the counterpart or the nearest names.
 */
export function eventProblem(event: string, flavor: Flavor): string | undefined {
  const [mine, other] =
    flavor === "cloud"
      ? [CLOUD_WEBHOOK_EVENTS, DC_WEBHOOK_EVENTS]
      : [DC_WEBHOOK_EVENTS, CLOUD_WEBHOOK_EVENTS];
  if ((mine as readonly string[]).includes(event)) return undefined;
  const counterpart = eventCounterpart(event, flavor);
  const close = counterpart ? [counterpart] : closeMatches(event, mine);
  const elsewhere = (other as readonly string[]).includes(event)
    ? ` (a ${flavor === "cloud" ? "Data Center" : "Cloud"} event; this webhook is on ${flavor === "cloud" ? "Bitbucket Cloud" : "Data Center"})`
    : "";
  return `unknown event "${event}"${elsewhere}${close.length ? `; did you mean ${close.join(", ")}?` : ""}`;
}

const SECRET_MAX = 128;

/** Where a hook lives: a Cloud workspace or Data Center project, and maybe a repository in it. */
interface Where {
  flavor: Flavor;
  /** Cloud only. */
  workspace?: string;
  /** Data Center only. */
  project?: string;
  repository?: string;
}

/** A hook as both flavors' adapters present it: the one shape the lifecycle compares and records. */
interface HookView {
  id: string;
  url: string;
  /** Cloud description, Data Center name. */
  label: string;
  active: boolean;
  events: string[];
  /** Whether a secret is set; undefined when the answer does not say (Data Center may mask it). */
  secretSet: boolean | undefined;
  skipCertVerification: boolean;
  /** Installed by an app (Cloud Connect): never adopted. */
  readOnly: boolean;
  createdAt?: string;
}

/** What differs per flavor: where hooks live, and how a hook goes over the wire. */
interface HookApi {
  collection(w: Where): string;
  place(w: Where): string;
  /** The label's field name in the Args (`description` or `name`). */
  labelField: "description" | "name";
  /**
   * The POST/PUT body. `secret` is the secret to send as Cloud's PUT reads it (a string sets it,
   * "" removes it, undefined keeps it); `want` is the secret the hook should end with.
   */
  body(n: Normalized, secret: string | undefined, want: string | undefined): Record<string, unknown>;
  view(raw: unknown): HookView;
  /** Whether a PUT without a secret keeps the one set (Cloud) or removes it (DC: PUT replaces `configuration`). */
  putKeepsSecret: boolean;
}

/** Bitbucket Data Center's RestWebhook as we read it. */
export interface DcHook {
  id: number;
  name?: string;
  url: string;
  active?: boolean;
  events?: string[];
  configuration?: { secret?: string };
  sslVerificationRequired?: boolean;
  createdDate?: number;
  scopeType?: string;
}

const HOOK_API: Record<Flavor, HookApi> = {
  cloud: {
    collection: (w) => hooksPath({ workspace: w.workspace ?? "", repository: w.repository }),
    place: (w) => scopeLabel({ workspace: w.workspace ?? "", repository: w.repository }),
    labelField: "description",
    body: (n, secret) => ({
      url: n.url,
      description: n.description ?? "",
      active: n.active,
      events: n.events,
      skip_cert_verification: n.skipCertVerification,
      ...(secret !== undefined && { secret }),
    }),
    view: (raw) => {
      const h = raw as ApiHook;
      return {
        id: h.uuid,
        url: h.url,
        label: h.description ?? "",
        active: h.active !== false,
        events: [...(h.events ?? [])].sort(),
        secretSet: h.secret_set === true,
        skipCertVerification: h.skip_cert_verification === true,
        readOnly: h.read_only === true,
        ...(h.created_at && { createdAt: h.created_at }),
      };
    },
    putKeepsSecret: true,
  },
  datacenter: {
    collection: (w) => dcHooksPath({ project: w.project ?? "", repository: w.repository }),
    place: (w) => dcScopeLabel({ project: w.project ?? "", repository: w.repository }),
    labelField: "name",
    body: (n, _secret, want) => ({
      name: n.name ?? "",
      url: n.url,
      active: n.active,
      events: n.events,
      sslVerificationRequired: !n.skipCertVerification,
      configuration: want === undefined ? {} : { secret: want },
    }),
    view: (raw) => {
      const h = raw as DcHook;
      const secret = h.configuration?.secret;
      return {
        id: String(h.id),
        url: h.url,
        label: h.name ?? "",
        active: h.active !== false,
        events: [...(h.events ?? [])].sort(),
        // An answer without the secret may come from a server that masks it: it tells nothing.
        secretSet: typeof secret === "string" && secret !== "" ? true : undefined,
        skipCertVerification: h.sslVerificationRequired === false,
        readOnly: false,
        ...(typeof h.createdDate === "number" && { createdAt: new Date(h.createdDate).toISOString() }),
      };
    },
    putKeepsSecret: false,
  },
};

const apiOf = (w: { flavor?: Flavor }) => HOOK_API[w.flavor ?? "cloud"];
const hookPath = (w: Where, id: string) => `${apiOf(w).collection(w)}/${seg(id)}`;
const placeOf = (w: Where) => apiOf(w).place(w);

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
  const flavor = checkFlavor(raw, failures, {
    dcOnly: ["project", "name"],
    cloudOnly: ["workspace", "description"],
  });
  const workspace =
    flavor === "cloud"
      ? (checkSlug(raw, "workspace", failures, { required: "the workspace slug, e.g. acme" }) ?? "")
      : undefined;
  const project = flavor === "datacenter" ? checkProjectKey(raw, failures, { required: true }) : undefined;
  const repository = checkSlug(raw, "repository", failures);
  const url = checkUrl(raw, failures);
  const events = checkEvents(raw, flavor, failures);
  const secret = checkSecret(raw, failures);
  checkSwitchesAndLabels(raw, failures);

  const inputs: Normalized = {
    ...ownershipOf(raw, failures),
    flavor,
    ...(workspace !== undefined && { workspace }),
    ...(project !== undefined && { project }),
    ...(repository && { repository }),
    url,
    ...(flavor === "cloud"
      ? { description: typeof raw.description === "string" ? raw.description : "" }
      : { name: dcName(raw, url) }),
    events,
    active: raw.active !== false,
    ...(secret !== undefined && { secret }),
    generateSecret: raw.generateSecret === true,
    skipCertVerification: raw.skipCertVerification === true,
    allowHttp: raw.allowHttp === true,
  };
  return { inputs, failures };
}

/** The url, trimmed: required, valid, and https unless `allowHttp: true`. */
function checkUrl(raw: Record<string, unknown>, failures: CheckFailure[]): string {
  const fail = (reason: string) => failures.push({ property: "url", reason });
  const url = typeof raw.url === "string" ? raw.url.trim() : "";
  if (!url) {
    fail("url is required: where Bitbucket delivers the events");
    return url;
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    fail(`"${redactUrl(url)}" is not a valid URL`);
  }
  if (parsed && parsed.protocol === "http:" && raw.allowHttp !== true) {
    fail(
      `"${redactUrl(url)}" is not https: payloads would travel in plain text; use https, or set allowHttp: true`,
    );
  } else if (parsed && parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    fail(`"${redactUrl(url)}" must be an https URL`);
  }
  return url;
}

/** The events, trimmed and sorted: at least one, each known to the flavor, none twice. */
function checkEvents(raw: Record<string, unknown>, flavor: Flavor, failures: CheckFailure[]): string[] {
  if (!Array.isArray(raw.events) || raw.events.length === 0) {
    failures.push({ property: "events", reason: `events must list at least one event, e.g. ["repo:push"]` });
    return [];
  }
  const seen = new Set<string>();
  for (const [i, e] of raw.events.entries()) {
    const ev = typeof e === "string" ? e.trim() : "";
    const problem = eventProblem(typeof e === "string" ? ev : String(e), flavor);
    if (problem) {
      failures.push({ property: `events[${i}]`, reason: problem });
    } else if (seen.has(ev)) {
      failures.push({
        property: `events[${i}]`,
        reason: `"${ev}" is listed twice (Bitbucket rejects duplicate events)`,
      });
    } else seen.add(ev);
  }
  return [...seen].sort();
}

/** The secret when one is given: text, not too long, and not together with `generateSecret: true`. */
function checkSecret(raw: Record<string, unknown>, failures: CheckFailure[]): string | undefined {
  const secret = typeof raw.secret === "string" && raw.secret !== "" ? raw.secret : undefined;
  if (raw.secret !== undefined && raw.secret !== null && typeof raw.secret !== "string") {
    failures.push({ property: "secret", reason: "secret must be text" });
  } else if (secret !== undefined && secret.length > SECRET_MAX) {
    // The length only: never the secret itself.
    failures.push({
      property: "secret",
      reason: `secret is ${secret.length} characters; Bitbucket allows at most ${SECRET_MAX}`,
    });
  }
  if (secret !== undefined && raw.generateSecret === true) {
    failures.push({ property: "generateSecret", reason: "give secret or generateSecret: true, not both" });
  }
  return secret;
}

/** The switches are true or false; the description and name are text. */
function checkSwitchesAndLabels(raw: Record<string, unknown>, failures: CheckFailure[]): void {
  for (const b of ["active", "skipCertVerification", "allowHttp", "generateSecret"]) {
    if (raw[b] !== undefined && typeof raw[b] !== "boolean") {
      failures.push({ property: b, reason: `${b} must be true or false` });
    }
  }
  for (const k of ["description", "name"]) {
    if (raw[k] !== undefined && raw[k] !== null && typeof raw[k] !== "string") {
      failures.push({ property: k, reason: `${k} must be text` });
    }
  }
}

/** A Data Center webhook's name: the one given, or the url's host. */
function dcName(raw: Record<string, unknown>, url: string): string {
  const name = typeof raw.name === "string" ? raw.name.trim() : undefined;
  if (name) return name;
  try {
    return new URL(url).hostname;
  } catch {
    return ""; // the url's problem is reported by checkUrl
  }
}

/**
 * What state knows of the secret: whether one was sent (or, on read, recorded), its hash, and the
 * value when we generated it. `set` stands in when Bitbucket's answer does not say.
 */
interface SecretState {
  set?: boolean;
  hash?: string;
  generated?: string;
}

function fromApi(
  w: Where,
  h: HookView,
  n: { allowHttp: boolean; generateSecret: boolean },
  secret: SecretState,
  adopted?: boolean,
): WebhookOutputs {
  const secretSet = h.secretSet ?? secret.set === true;
  return {
    ...(adopted && { adopted: true }),
    flavor: w.flavor,
    ...(w.workspace !== undefined && { workspace: w.workspace }),
    ...(w.project !== undefined && { project: w.project }),
    ...(w.repository && { repository: w.repository }),
    url: h.url,
    [apiOf(w).labelField]: h.label,
    events: h.events,
    active: h.active,
    skipCertVerification: h.skipCertVerification,
    allowHttp: n.allowHttp,
    generateSecret: n.generateSecret,
    hookId: h.id,
    ...(w.flavor === "cloud" && { uuid: h.id }),
    secretSet,
    // A hash only means something while Bitbucket still holds a secret; a generated secret is
    // kept regardless, so a hook whose secret was removed by hand gets the same one back.
    ...(secretSet && secret.hash !== undefined && { secretHash: secret.hash }),
    ...(secret.generated !== undefined && { generatedSecret: secret.generated }),
    ...(h.createdAt && { createdAt: h.createdAt }),
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
  set: want !== undefined,
  hash: want === undefined ? undefined : (hash ?? hashSecret(want)),
  generated: n.generateSecret ? want : undefined,
});

/** The Pulumi id: `ws/repo/{uuid}`, `ws/{uuid}` (Cloud); `PROJ/repo/12`, `PROJ/12` (Data Center). */
function idOf(w: Where, hookId: string): string {
  const top = w.flavor === "datacenter" ? w.project : w.workspace;
  return w.repository ? `${top}/${w.repository}/${hookId}` : `${top}/${hookId}`;
}

/** Where the hook is and its id, from state (or, when state lacks them, from the id). */
function locate(id: string, props: Partial<WebhookOutputs>): { where: Where; hookId: string } {
  const hookId = props.hookId ?? props.uuid;
  const flavor = stateFlavor(props.flavor, hookId !== undefined);
  const top = flavor === "datacenter" ? props.project : props.workspace;
  if (top && hookId) {
    return {
      where: {
        flavor,
        [flavor === "datacenter" ? "project" : "workspace"]: top,
        repository: props.repository,
      },
      hookId,
    };
  }
  const parts = id.split("/");
  const last = parts.pop() ?? "";
  const key = flavor === "datacenter" ? "project" : "workspace";
  return { where: { flavor, [key]: parts[0] ?? "", repository: parts[1] }, hookId: last };
}

const sameSet = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

const labelOf = (n: Normalized) => (n.flavor === "datacenter" ? (n.name ?? "") : (n.description ?? ""));

/** How an existing hook differs from the declaration; a secret it holds cannot be compared. */
function differences(h: HookView, n: Normalized): Difference[] {
  const out: Difference[] = [];
  if (h.label !== labelOf(n)) out.push({ field: apiOf(n).labelField, live: h.label, declared: labelOf(n) });
  if (h.active !== n.active) out.push({ field: "active", live: h.active, declared: n.active });
  if (h.skipCertVerification !== n.skipCertVerification)
    out.push({
      field: "skipCertVerification",
      live: h.skipCertVerification,
      declared: n.skipCertVerification,
    });
  if (!sameSet(h.events, n.events))
    out.push({ field: "events", live: [...h.events].sort(), declared: [...n.events].sort() });
  // A server that masks the secret (Data Center) leaves it unknown: a declared one cannot be
  // compared; with none declared there is nothing to compare.
  if (h.secretSet && n.secret === undefined && !n.generateSecret)
    // None declared: adopting removes it (deliveries then go unsigned). A certain change.
    out.push({ field: "secret", writeOnly: true, live: "set", declared: "none" });
  else if (h.secretSet) out.push(writeOnly("secret"));
  else if (n.secret !== undefined || n.generateSecret)
    out.push({
      field: "secret",
      writeOnly: true,
      live: h.secretSet === undefined ? "unknown" : "none",
      declared: n.generateSecret ? "generated" : "set",
    });
  return out;
}

/** Where the declared hook would be found (same URL in the same place), and how one found compares. */
export function lookup(n: Normalized): Lookup<HookView> {
  const api = apiOf(n);
  return {
    what: `webhook ${redactUrl(n.url)} on ${placeOf(n)}`,
    natural: naturalKey.webhook(
      n.flavor === "datacenter" ? `project ${n.project}` : (n.workspace ?? ""),
      n.repository,
      n.url,
    ),
    reads: [api.collection(n)],
    // Made by hand, or by a run that lost its answer; never an app's read-only hook.
    find: async (fresh) => {
      const same = (raw: unknown) => {
        const h = api.view(raw);
        return h.url === n.url && !h.readOnly;
      };
      const raw = await findIn<unknown>(api.collection(n), same, { fresh });
      return raw === undefined ? undefined : api.view(raw);
    },
    differences: (h) => differences(h, n),
  };
}

/** What diff finds for a hook the stack holds (state `olds`); plan calls it too. */
export async function changesOf(olds: WebhookOutputs, news: Normalized): Promise<Changes> {
  const replaces = await replacedFields(REPLACE_ON, { ...olds, flavor: olds.flavor ?? "cloud" }, news);
  const changed: string[] = [...replaces];
  if (olds.url !== news.url) changed.push("url");
  if ((olds.description ?? "") !== (news.description ?? "")) changed.push("description");
  if ((olds.name ?? "") !== (news.name ?? "")) changed.push("name");
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
  return { changed, replaces, deleteBeforeReplace: false };
}

/** Claims are per object: flavor (Cloud uuids and DC integers never meet) and Bitbucket's id. */
const objectKey = (w: Where, hookId: string) =>
  w.flavor === "datacenter" ? `Webhook:dc:${w.project?.toUpperCase()}:${hookId}` : `Webhook:${hookId}`;

// ---- the provider -------------------------------------------------------------------------

export const webhookProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const { inputs, failures } = normalize(news);
    return { inputs, failures };
  },

  async diff(id: string, olds: WebhookOutputs, news: Normalized) {
    const c = await changesOf(olds, news);
    if (c.replaces.length > 0 && news.generateSecret && olds.generatedSecret !== undefined) {
      // The replacement is a new hook with a new random secret: the receiver must be told.
      notice(
        `replacing webhook ${redactUrl(news.url)} (${c.replaces.join(", ")} changed) generates a new secret: give the receiving side the new generatedSecret after the update`,
      );
    }
    const { where, hookId } = locate(id, olds);
    return holdUnlessReplaced(diffOf(c), objectKey(where, hookId), news.resourceName);
  },

  async create(inputs: Normalized) {
    const api = apiOf(inputs);
    const found = lookup(inputs);
    const want = desiredSecret(inputs);
    return withoutCredentials(inputs.url, () =>
      createOrAdopt<HookView, WebhookOutputs>({
        ...found,
        ownership: inputs,
        post: async () =>
          api.view(
            (await request("POST", api.collection(inputs), { body: api.body(inputs, want, want) })).data,
          ),
        created: (h) => ({
          id: idOf(inputs, h.id),
          outs: fromApi(inputs, h, inputs, secretState(inputs, want, undefined)),
        }),
        adopt: (h) => adopt(h, inputs, want, `create ${found.what}`),
        key: (h) => objectKey(inputs, h.id),
      }),
    );
  },

  async read(id: string, props: WebhookOutputs) {
    const { where, hookId } = locate(id, props);
    const api = apiOf(where);
    let raw: unknown;
    try {
      raw = await readListed<unknown>(api.collection(where), (h) => api.view(h).id === hookId);
    } catch (e) {
      throw withContext(e, `read webhook ${hookId} on ${placeOf(where)}`);
    }
    if (raw === undefined) return {}; // deleted out of band: no id tells the engine it is gone
    const hook = api.view(raw);
    const outs = fromApi(
      where,
      hook,
      { allowHttp: props.allowHttp === true, generateSecret: props.generateSecret === true },
      { set: props.secretSet === true, hash: props.secretHash, generated: props.generatedSecret },
      props.adopted,
    );
    const {
      hookId: _i,
      uuid: _u,
      secretSet: _s,
      secretHash: _h,
      generatedSecret: _g,
      createdAt: _c,
      adopted: _a,
      ...inputs
    } = outs;
    return { id: idOf(where, hook.id), props: outs, inputs };
  },

  async update(id: string, olds: WebhookOutputs, news: Normalized) {
    const { where, hookId } = locate(id, olds);
    const api = apiOf(where);
    claim(
      objectKey(where, hookId),
      `webhook ${redactUrl(news.url)} on ${placeOf(where)}`,
      news.resourceName,
      "updated",
    );
    const want = desiredSecret(news, olds);
    // Send the secret only when it changed; "" removes one that is no longer wanted.
    const unchanged = want !== undefined && olds.secretSet && secretMatches(want, olds.secretHash);
    const send = want === undefined ? (olds.secretSet ? "" : undefined) : unchanged ? undefined : want;
    try {
      const { data } = await request("PUT", hookPath(where, hookId), { body: api.body(news, send, want) });
      return {
        outs: fromApi(
          where,
          api.view(data),
          news,
          secretState(news, want, unchanged ? olds.secretHash : undefined),
          olds.adopted,
        ),
      };
    } catch (e) {
      throw redacted(withContext(e, `update webhook ${redactUrl(news.url)} on ${placeOf(where)}`), news.url);
    }
  },

  async delete(id: string, props: WebhookOutputs) {
    const { where, hookId } = locate(id, props);
    const what = `webhook ${redactUrl(props.url ?? hookId)} on ${placeOf(where)}`;
    if (keptByThisRun(objectKey(where, hookId), what)) return;
    try {
      await deleteIfExists(hookPath(where, hookId));
    } catch (e) {
      throw redacted(withContext(e, `delete ${what}`), props.url ?? "");
    }
  },
};

/**
 * `e` with every URL, and every trace of `url`'s credentials, redacted from what the host sends
 * and prints (its message, a partial failure's reasons, its stack): Bitbucket's own message may
 * quote the URL.
 */
function redacted(e: unknown, url: string): unknown {
  if (typeof e !== "object" || e === null) return e;
  const err = e as { message?: unknown; stack?: unknown; reasons?: unknown };
  for (const k of ["message", "stack"] as const)
    if (typeof err[k] === "string") err[k] = redactUrlIn(err[k] as string, url);
  if (Array.isArray(err.reasons))
    err.reasons = err.reasons.map((r: unknown) => (typeof r === "string" ? redactUrlIn(r, url) : r));
  return e;
}

/** Runs `op`; what it throws has `url`'s credentials redacted. */
async function withoutCredentials<T>(url: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw redacted(e, url);
  }
}

/** Brings an existing hook to the desired state (one PUT, skipped when nothing differs). */
async function adopt(h: HookView, n: Normalized, want: string | undefined, what: string) {
  const api = apiOf(n);
  const id = idOf(n, h.id);
  const send = want ?? (h.secretSet ? "" : undefined);
  if (send === undefined && differences(h, n).length === 0) {
    return { id, outs: fromApi(n, h, n, {}) };
  }
  try {
    const { data } = await request("PUT", hookPath(n, h.id), { body: api.body(n, send, want) });
    return { id, outs: fromApi(n, api.view(data), n, secretState(n, want, undefined)) };
  } catch (e) {
    // The hook exists: record it in state so the next run updates it instead of duplicating it.
    throw partialFailure(e, id, fromApi(n, h, n, {}), `${what} (adopting existing hook ${h.id})`);
  }
}

// ---- the resource ---------------------------------------------------------------------------

export class Webhook extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly flavor: pulumi.Output<Flavor>;
  declare public readonly workspace: pulumi.Output<string | undefined>;
  declare public readonly project: pulumi.Output<string | undefined>;
  declare public readonly repository: pulumi.Output<string | undefined>;
  declare public readonly url: pulumi.Output<string>;
  declare public readonly description: pulumi.Output<string | undefined>;
  declare public readonly name: pulumi.Output<string | undefined>;
  declare public readonly events: pulumi.Output<string[]>;
  declare public readonly active: pulumi.Output<boolean>;
  declare public readonly skipCertVerification: pulumi.Output<boolean>;
  declare public readonly hookId: pulumi.Output<string>;
  declare public readonly uuid: pulumi.Output<string | undefined>;
  declare public readonly secretSet: pulumi.Output<boolean>;
  declare public readonly secretHash: pulumi.Output<string | undefined>;
  /** The generated secret, with `generateSecret` (secret). */
  declare public readonly generatedSecret: pulumi.Output<string | undefined>;
  declare public readonly createdAt: pulumi.Output<string | undefined>;
  /** True when an existing hook was adopted rather than created. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: WebhookArgs, opts?: pulumi.CustomResourceOptions) {
    // A URL that carries a credential is a secret: encrypted in state (the engine marks the `url`
    // output secret after a secret input; listed too when known now). Plain URLs stay plain.
    const credentials = typeof args.url === "string" && hasCredentials(args.url);
    const props = {
      ...args,
      url:
        typeof args.url === "string"
          ? credentials
            ? pulumi.secret(args.url)
            : args.url
          : pulumi
              .output(args.url)
              .apply((u) => (typeof u === "string" && hasCredentials(u) ? pulumi.secret(u) : u)),
      schemaVersion: undefined,
      resourceName: name,
      adopted: undefined,
      // A secret stays secret in state and previews even if given as a plain string.
      secret: args.secret === undefined ? undefined : pulumi.secret(args.secret),
      hookId: undefined,
      uuid: undefined,
      secretSet: undefined,
      secretHash: undefined,
      generatedSecret: undefined,
      createdAt: undefined,
    };
    const secretOutputs = credentials ? [...SECRET_OUTPUTS, "url"] : SECRET_OUTPUTS;
    super(shim("Webhook"), name, props, withSecretOutputs(opts, secretOutputs), "bitbucket", "Webhook");
  }
}
