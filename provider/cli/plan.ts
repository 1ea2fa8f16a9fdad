// `bitbucket-iac plan`: what `pulumi up` would do, read from live Bitbucket with read-only calls.
//
// 1. declared.ts runs the program under mocks: every resource, named as `pulumi up` names it.
// 2. Each goes through its provider's own `check` (normalize) and `lookup` (the natural-key
//    lookup and comparison create uses, ownership.ts): no second copy of the rules. Lookups
//    list each collection once per run (cache.ts), so the cost is one list per repository and kind.
// 3. Without state, the stack is taken to be new: an object found is adopted when identical (or
//    declared `adopt: true`), else it is a conflict, as the adoption policy says. With `--state`
//    (a `pulumi stack export`), the objects the stack manages are updates and what it manages but
//    no longer declares is deleted.
//
// Values are shown as JSON, plain variable values included. Secrets and secured values never
// are: write-only parts read "(write-only)", or "(none)" -> "(set)" where Bitbucket says whether
// one is set. URLs are
// shown redacted (names.ts redactUrl): a credential in one reads `?token=***`. A secret plan did
// not read (a reference) cannot be looked up by: a webhook whose URL is one is left to pulumi up.

import { isTooLarge, mib, readLimited } from "../read-limited";
import { KINDS } from "../kinds";
import type { LookupPlanner, VerifyPlanner } from "../kinds/kind";
import type { Difference, Lookup, Presence, Value } from "../resources/ownership";
import type { CheckFailure } from "../resources/common";
import { redactUrl } from "../names";
import { keyShown } from "../ssh";
import { SECRET_PLACEHOLDER, type Declared } from "./declared";

export type Action = "create" | "update" | "adopt" | "conflict" | "delete" | "nothing" | "verify";

/**
 * One field of a planned change: `from` (Bitbucket's, absent on create) and `to` (declared) as
 * JSON values, never a secret. A write-only field (a secret, a secured value) carries at most
 * whether one is set (`Presence`); with neither side it cannot be compared and is sent again.
 */
export type FieldChange =
  | { field: string; from?: Value; to: Value; writeOnly?: undefined }
  | { field: string; writeOnly: true; from?: Presence; to?: Presence };

export interface Planned {
  action: Action;
  /** Resource type: Webhook, DeployKey, ... */
  type: string;
  /** The Pulumi resource name. */
  name: string;
  /** The Bitbucket object: `webhook https://... on acme/api`. */
  what: string;
  changes: FieldChange[];
  /** Why, when the action needs saying more (a conflict, a delete kept by retainOnDelete). */
  note?: string;
  /** The resource could not be planned (a bad input, a failed read). */
  error?: string;
  /** Where it is declared to be (`acme/api`, `workspace acme`), to group a plan by. */
  place?: string;
}

/** Whether the planned step changes Bitbucket or the stack (an adoption of an object as it is does not). */
export const isChange = (p: Planned): boolean =>
  p.action === "create" ||
  p.action === "update" ||
  p.action === "delete" ||
  p.action === "conflict" ||
  (p.action === "adopt" && p.changes.some(certain));

/**
 * A field change that certainly happens: a value that differs, or a write-only part whose presence
 * Bitbucket says and the declaration changes (`(none) -> (set)`: a hook without the declared secret).
 */
const certain = (c: FieldChange): boolean =>
  !c.writeOnly || (c.from !== undefined && c.from !== "unknown" && c.to !== undefined && c.from !== c.to);

/** How each resource type is planned, from its kind's descriptor (kinds/). */
const PLANNERS = new Map<string, LookupPlanner | VerifyPlanner>(
  KINDS.flatMap((k) => (k.plan ? [[k.type, k.plan] as const] : [])),
);

/** A resource of a `pulumi stack export`: what plan needs to know the stack manages it. */
export interface StateResource {
  type: string;
  name: string;
  id?: string;
  retainOnDelete?: boolean;
}

/**
 * The most of a `--state` file that is read. A stack export holds every resource's inputs and
 * outputs, a few KiB each: 64 MiB is tens of thousands of resources, and bounds what a pipe or a
 * device (`--state /dev/zero`) can make plan hold in memory.
 */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

/**
 * The bitbucket-iac resources of a `pulumi stack export --file state.json`; an error that says
 * what is wrong with the file otherwise.
 */
export function readState(file: string, shown = file): StateResource[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readLimited(file, MAX_STATE_BYTES).toString("utf8"));
  } catch (e) {
    if (isTooLarge(e)) {
      const limit = mib(MAX_STATE_BYTES);
      const over =
        e.size !== undefined
          ? `the file is ${mib(e.size)}, and plan reads at most ${limit} of a stack export`
          : `more than ${limit} came from this pipe or device, and plan reads at most ${limit} of a stack export`;
      throw new Error(
        `--state ${shown}: ${over}: is this the output of \`pulumi stack export --file ${shown}\`? For a stack this large, plan without --state (it plans as for a new stack)`,
        { cause: e },
      );
    }
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new Error(`--state ${shown}: ${why}; give the output of \`pulumi stack export --file ${shown}\``, {
      cause: e,
    });
  }
  const resources = (doc as { deployment?: { resources?: unknown } })?.deployment?.resources;
  if (!Array.isArray(resources)) {
    throw new Error(
      `--state ${shown}: not a Pulumi stack export (no deployment.resources); make it with \`pulumi stack export --file ${shown}\``,
    );
  }
  const prefix = "pulumi-nodejs:dynamic/bitbucket:";
  return resources
    .filter(
      (r): r is { type: string; urn: string; id?: string; retainOnDelete?: boolean } =>
        typeof r?.type === "string" && r.type.startsWith(prefix) && typeof r.urn === "string",
    )
    .map((r) => ({
      type: r.type.slice(prefix.length),
      name: r.urn.split("::").pop() ?? r.urn,
      ...(r.id !== undefined && { id: r.id }),
      ...(r.retainOnDelete === true && { retainOnDelete: true }),
    }));
}

/** Fields of normalized inputs that are not the object's own (where it lives, ownership). */
const NOT_SHOWN = new Set([
  "adopt",
  "flavor",
  "resourceName",
  "workspace",
  "repository",
  "project",
  "user",
  "keyComment",
]);
/** Fields that are true unless declared otherwise: `false` there is news (an inactive hook, a plain variable). */
const TRUE_BY_DEFAULT = new Set(["active", "secured"]);
/** Fields shown by what they are, not their text. */
const KEY_FIELDS = new Set(["key", "publicKey"]);
/** Fields that hold a URL: shown redacted, secret or not (a secret one is a URL with credentials). */
const URL_FIELDS = new Set(["url", "callbackUrl"]);

/** The declared fields of an object to create; secrets and secured values write-only. */
function createdFields(inputs: Record<string, unknown>, secrets: Set<string>): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [field, v] of Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b))) {
    if (NOT_SHOWN.has(field) || v === undefined || v === "") continue;
    if (v === false && !TRUE_BY_DEFAULT.has(field)) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (URL_FIELDS.has(field) && typeof v === "string" && v !== SECRET_PLACEHOLDER) {
      out.push({ field, to: redactUrl(v) });
      continue;
    }
    if (secrets.has(field) || (field === "value" && inputs.secured !== false)) {
      out.push({ field, writeOnly: true, to: "set" });
      continue;
    }
    out.push({ field, to: KEY_FIELDS.has(field) && typeof v === "string" ? keyShown(v) : asValue(v) });
  }
  return out;
}

/** An input as a JSON value (inputs are JSON already: this only narrows the type). */
const asValue = (v: unknown): Value =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null
    ? v
    : Array.isArray(v)
      ? v.map(String)
      : JSON.stringify(v);

const fromDifference = (d: Difference, secrets: Set<string>): FieldChange =>
  "writeOnly" in d
    ? {
        field: d.field,
        writeOnly: true,
        ...(d.live && { from: d.live }),
        ...(d.declared && { to: d.declared }),
      }
    : secrets.has(d.field)
      ? { field: d.field, writeOnly: true }
      : { field: d.field, from: d.live, to: d.declared };

/** Plans one declared resource. `managed`: the stack's state holds it. */
export async function planOne(d: Declared, managed: boolean): Promise<Planned> {
  const base = { type: d.type, name: d.name, changes: [] as FieldChange[] };
  const planner = PLANNERS.get(d.type);
  if (planner !== undefined && "verify" in planner)
    return { ...base, action: "verify", ...planner.verify(d.inputs, d.name) };
  if (planner === undefined)
    return { ...base, action: "nothing", what: d.name, error: `no planner for ${d.type}` };
  const secrets = new Set(d.secrets);
  // Secrets plan did not read (references) are placeholders; others (a URL with credentials) are real.
  const unread = new Set(d.secrets.filter((k) => d.inputs[k] === SECRET_PLACEHOLDER));
  const checked = (await planner.check({}, d.inputs)) as {
    inputs: Record<string, unknown>;
    failures?: CheckFailure[];
  };
  // A placeholder stands for every secret: its own checks mean nothing here.
  const failures = (checked.failures ?? []).filter((f) => !unread.has(f.property.replace(/[.[].*$/, "")));
  if (failures.length) {
    return {
      ...base,
      action: "nothing",
      what: d.name,
      error: failures.map((f) => `${f.property}: ${f.reason}`).join("; "),
    };
  }
  let l: Lookup<unknown> | undefined;
  try {
    l = await planner.lookup(checked.inputs as never);
    const unknownKey = planner.keyFields?.filter((f) => unread.has(f)) ?? [];
    if (unknownKey.length) {
      return {
        ...base,
        action: "verify",
        what: l.what,
        note: `its ${unknownKey.join(", ")} comes from a secret reference, which plan does not read, so plan cannot look it up; pulumi up finds it by that value and adopts or creates it`,
      };
    }
    const found = await l.find();
    if (found === undefined) {
      return {
        ...base,
        action: "create",
        what: l.what,
        changes: createdFields(checked.inputs, secrets),
        ...(managed && {
          note: "the stack holds it but it is gone from Bitbucket: pulumi up --refresh creates it again",
        }),
      };
    }
    const diffs = l.differences(found).map((x) => fromDifference(x, secrets));
    const comparable = diffs.filter((c) => !c.writeOnly);
    if (managed) {
      return { ...base, action: comparable.length ? "update" : "nothing", what: l.what, changes: comparable };
    }
    if (diffs.length === 0)
      return { ...base, action: "adopt", what: l.what, note: "exists, identical: adopted as it is" };
    if (checked.inputs.adopt === true) return { ...base, action: "adopt", what: l.what, changes: diffs };
    return {
      ...base,
      action: "conflict",
      what: l.what,
      changes: diffs,
      note: "it exists and differs (or holds a write-only value): pulumi up stops here with no write; set adopt: true to take it over, or declare it as it is",
    };
  } catch (e) {
    return { ...base, action: "nothing", what: l?.what ?? d.name, error: (e as Error).message };
  }
}

/** Delete steps for what the stack manages but the manifest no longer declares. */
export function deletions(state: StateResource[], declared: Declared[]): Planned[] {
  const names = new Set(declared.map((d) => `${d.type}::${d.name}`));
  return state
    .filter((r) => !names.has(`${r.type}::${r.name}`))
    .map((r) => ({
      action: "delete" as const,
      type: r.type,
      name: r.name,
      what: `${r.type} ${r.id ?? r.name}`,
      changes: [],
      ...(r.retainOnDelete && { note: "retainOnDelete: removed from the stack, left in Bitbucket" }),
    }));
}

export interface PlanStats {
  requests: number;
  byMethod: Record<string, number>;
  /** Pages (of collections) and single objects read, and the most times any one was read. */
  paths: number;
  maxPerPath: number;
  resources: number;
  repositories: number;
  ms: number;
}

/**
 * Plans every declared resource (`managed`: names the stack's state holds), in parallel: lookups
 * of one collection share its single listing. `tick` is called as each one is planned.
 */
export async function planAll(
  declared: Declared[],
  state: StateResource[] | undefined,
  tick: () => void = () => undefined,
): Promise<Planned[]> {
  const managed = new Set((state ?? []).map((r) => `${r.type}::${r.name}`));
  const planned = await Promise.all(
    declared.map(async (d) => {
      const p = await planOne(d, managed.has(`${d.type}::${d.name}`));
      tick();
      return { ...p, place: placeOf(d.inputs) };
    }),
  );
  return [...planned, ...(state ? deletions(state, declared) : [])];
}

/** Where a resource is declared: `acme/api` (Data Center `PROJ/api`), `workspace acme`, `project PROJ`, or the account. */
export function placeOf(inputs: Record<string, unknown>): string {
  const owner = inputs.workspace ?? inputs.project;
  if (typeof inputs.repository === "string") return `${String(owner)}/${inputs.repository}`;
  if (typeof inputs.workspace === "string") return `workspace ${inputs.workspace}`;
  if (typeof inputs.project === "string") return `project ${inputs.project}`;
  return "the account";
}

/** Repositories the declared resources live in (`ws/repo`, Data Center `PROJ/repo`), for the cost per repository. */
export const repositoriesOf = (declared: Declared[]): number =>
  new Set(
    declared
      .filter((d) => typeof d.inputs.repository === "string")
      .map((d) =>
        `${String(d.inputs.workspace ?? d.inputs.project)}/${String(d.inputs.repository)}`.toLowerCase(),
      ),
  ).size;
