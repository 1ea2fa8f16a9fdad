// `bitbucket-iac plan`: what `pulumi up` would do, read from live Bitbucket with read-only calls.
//
// 1. declared.ts runs the program under mocks: every resource, named as `pulumi up` names it (and
//    the names it had before: aliases, which carry a stack's resource over).
// 2. Each goes through its provider's own `check` (normalize). What the stack does not hold is
//    looked up as `create` looks it up (`lookup`: the natural key and the comparison of
//    ownership.ts): created, adopted when identical (or declared `adopt: true`), else a conflict.
// 3. With `--state` (a `pulumi stack export`), what the stack holds is what `pulumi up` diffs: its
//    recorded outputs against the declaration, with the provider's own `changesOf` (the rules its
//    `diff` applies), so nothing, an update or a replace, as up decides. The object is read by the
//    id the stack holds (the provider's `read`): an update of one deleted by hand fails (a
//    conflict: up would stop), and its fields are those Bitbucket will see change. What the stack
//    holds but the manifest no longer declares is deleted. Lookups and reads list each collection
//    once per run (cache.ts), so the cost is one list per repository and kind.
//
// Values are shown as JSON, plain variable values included. Secrets and secured values never
// are: write-only parts read "(write-only)", or "(none)" -> "(set)" where Bitbucket says whether
// one is set. URLs are
// shown redacted (names.ts redactUrl): a credential in one reads `?token=***`. A secret plan did
// not read (a reference) cannot be looked up by: a webhook whose URL is one is left to pulumi up.
// Nor compared: a declared secret is taken to be the one the stack set (its hash is encrypted in
// the export), so a secret changed only in stack config is not seen; removing or adding one is.

import { isTooLarge, mib, readLimited } from "../read-limited";
import { KINDS } from "../kinds";
import type { LookupPlanner, Send, VerifyPlanner } from "../kinds/kind";
import type { Difference, Lookup, Presence, Value } from "../resources/ownership";
import { hashSecret, type CheckFailure } from "../resources/common";
import { redactUrl } from "../names";
import { keyShown } from "../ssh";
import { SECRET_PLACEHOLDER, type Declared } from "./declared";

export type Action = "create" | "update" | "replace" | "adopt" | "conflict" | "delete" | "nothing" | "verify";

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
  /** What `pulumi up` sends for this step: the request bill's part of it (bill.ts). */
  requests?: Requests;
}

/**
 * A step's requests: the paths its lookup reads through the run's cache (listed once per run
 * whoever shares them), and the requests of its own (the kind's RequestPattern).
 */
export interface Requests {
  reads: readonly string[];
  sends: Send[];
}

const sending = (sends: Send[], reads: readonly string[] = []): { requests: Requests } => ({
  requests: { reads, sends },
});

/** The fields a step's changes name (what an adoption brings to the declaration). */
const fieldsOf = (changes: FieldChange[]) => changes.map((c) => c.field);

/** Whether the planned step changes Bitbucket or the stack (an adoption of an object as it is does not). */
export const isChange = (p: Planned): boolean =>
  p.action === "create" ||
  p.action === "update" ||
  p.action === "replace" ||
  p.action === "delete" ||
  p.action === "conflict" ||
  (p.action === "adopt" && p.changes.some(isCertain));

/**
 * A field change that will happen for sure: a value that differs, or a write-only part whose
 * presence Bitbucket says and the declaration changes (a secret removed or set where none is, a
 * token made anew). One that cannot be compared (or Bitbucket does not say: unknown) is not.
 */
export const isCertain = (c: FieldChange): boolean =>
  !c.writeOnly || (c.from !== undefined && c.from !== "unknown" && c.to !== undefined && c.from !== c.to);

/** How each resource type is planned, from its kind's descriptor (kinds/). */
const PLANNERS = new Map<string, LookupPlanner | VerifyPlanner>(
  KINDS.flatMap((k) => (k.plan ? [[k.type, k.plan] as const] : [])),
);

/** A resource of a `pulumi stack export`: what plan needs to know the stack manages it, and how. */
export interface StateResource {
  type: string;
  name: string;
  id?: string;
  retainOnDelete?: boolean;
  /**
   * Its outputs as recorded: what `pulumi up`'s diff compares the declaration with. A secret one
   * (encrypted in an export) is ENCRYPTED. Absent from a hand-made export: plan then compares
   * with Bitbucket as it is.
   */
  outputs?: Record<string, unknown>;
}

/** An output the export holds encrypted (`pulumi stack export` without --show-secrets). */
export const ENCRYPTED = "(encrypted in the stack's state)";

/** The marker Pulumi puts on a secret value in an export (sdk/nodejs/runtime/rpc.ts specialSigKey). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** An exported value as the engine gave it to the provider: a secret decrypted when shown, else ENCRYPTED. */
function exported(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(exported);
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  if (o[SECRET_SIG] === undefined)
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, exported(x)]));
  if (typeof o.plaintext !== "string") return ENCRYPTED;
  try {
    return exported(JSON.parse(o.plaintext));
  } catch {
    return ENCRYPTED;
  }
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
      (r): r is { type: string; urn: string; id?: string; retainOnDelete?: boolean; outputs?: unknown } =>
        typeof r?.type === "string" && r.type.startsWith(prefix) && typeof r.urn === "string",
    )
    .map((r) => ({
      type: r.type.slice(prefix.length),
      name: r.urn.split("::").pop() ?? r.urn,
      ...(r.id !== undefined && { id: r.id }),
      ...(r.retainOnDelete === true && { retainOnDelete: true }),
      ...(typeof r.outputs === "object" &&
        r.outputs !== null &&
        !Array.isArray(r.outputs) && { outputs: exported(r.outputs) as Record<string, unknown> }),
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

/**
 * The objects resources of the stack keep in this run (nothing or an update: not replaced), by
 * natural key (lower case) as they are in Bitbucket, with the resource's name. Another resource
 * that finds one by its natural key does not adopt it: two resources would manage one object, and
 * up stops (ownership.ts claims).
 */
export type Kept = Map<string, string>;

/** A declared resource once its provider's check passed: what the planners below start from. */
interface Checked {
  d: Declared;
  planner: LookupPlanner;
  /** Its normalized inputs. */
  inputs: Record<string, unknown>;
  /** Input fields given as secrets: never shown. */
  secrets: Set<string>;
  /** Secrets plan did not read (references): placeholders, never compared. */
  unread: Set<string>;
  base: { type: string; name: string; changes: FieldChange[] };
  kept: Kept;
  /** The objects resources of this run adopt (ownership.ts claims them "adopted"), as `kept` has them. */
  adopted: Kept;
}

/**
 * Plans one declared resource. `held`: the stack's record of it (`--state`, by name or alias);
 * false when the stack does not hold it.
 */
export async function planOne(
  d: Declared,
  held?: StateResource | false,
  kept: Kept = new Map(),
  adopted: Kept = new Map(),
): Promise<Planned> {
  const base = { type: d.type, name: d.name, changes: [] as FieldChange[] };
  const planner = PLANNERS.get(d.type);
  if (planner !== undefined && "verify" in planner) {
    const r = planner.requests;
    const sends = !held ? r.create : !held.outputs || r.changed(held.outputs, d.inputs) ? r.update : [];
    return { ...base, action: "verify", ...planner.verify(d.inputs, d.name), ...sending(sends) };
  }
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
  const c: Checked = { d, planner, inputs: checked.inputs, secrets, unread, base, kept, adopted };
  if (held && held.outputs !== undefined && held.id !== undefined)
    return planHeld(c, held.id, held.outputs).catch((e: Error) => ({
      ...base,
      action: "nothing" as const,
      what: d.name,
      error: e.message,
    }));
  return planNew(c, held !== undefined && held !== false);
}

/**
 * A resource the stack does not hold: `pulumi up` creates it, and create looks it up by its natural
 * key first (adopt or conflict). `managed`: a hand-made export names it but records nothing, so it
 * is compared with Bitbucket as it is.
 */
async function planNew(c: Checked, managed: boolean): Promise<Planned> {
  const { base, planner, inputs, secrets, unread } = c;
  const pattern = planner.requests;
  let l: Lookup<unknown> | undefined;
  try {
    l = await planner.lookup(inputs as never);
    const reads = l.reads ?? [];
    const unknownKey = planner.keyFields?.filter((f) => unread.has(f)) ?? [];
    if (unknownKey.length) {
      return {
        ...base,
        action: "verify",
        what: l.what,
        ...sending(pattern.create(inputs), reads), // billed as a create: up looks it up, then makes it
        note: `its ${unknownKey.join(", ")} comes from a secret reference, which plan does not read, so plan cannot look it up; pulumi up finds it by that value and adopts or creates it`,
      };
    }
    const found = await l.find();
    if (found === undefined) {
      return {
        ...base,
        action: "create",
        what: l.what,
        changes: createdFields(inputs, secrets),
        ...sending(managed ? pattern.update(inputs) : pattern.create(inputs), managed ? [] : reads),
        ...(managed && {
          note: "the stack holds it but it is gone from Bitbucket: pulumi up --refresh creates it again",
        }),
      };
    }
    const keeper = c.kept.get(l.natural.toLowerCase());
    if (keeper !== undefined && keeper !== c.d.name) {
      return {
        ...base,
        action: "conflict",
        what: l.what,
        ...sending(pattern.lookup ?? [], reads), // up stops at it: what it read before
        note: `it is the object ${keeper} manages, which this stack holds and keeps: two resources would manage one object, and pulumi up stops (declared by two resources); keep one entry for it`,
      };
    }
    const renews = managed ? {} : (planner.adoptRenews ?? {}); // only an adoption makes them anew
    const diffs = l
      .differences(found)
      .map((x) =>
        "writeOnly" in x && renews[x.field] !== undefined
          ? { field: x.field, writeOnly: true as const, from: "set" as const, to: renews[x.field] }
          : fromDifference(x, secrets),
      );
    const comparable = diffs.filter(isCertain);
    if (managed) {
      const action = comparable.length ? "update" : "nothing";
      const sends = action === "update" ? pattern.update(inputs) : [];
      return { ...base, action, what: l.what, changes: comparable, ...sending(sends) };
    }
    const adopting = sending(pattern.adopt(fieldsOf(diffs), inputs), reads);
    if (diffs.length === 0 || inputs.adopt === true) c.adopted.set(l.natural.toLowerCase(), c.d.name);
    if (diffs.length === 0)
      return {
        ...base,
        action: "adopt",
        what: l.what,
        note: "exists, identical: adopted as it is",
        ...adopting,
      };
    if (inputs.adopt === true) return { ...base, action: "adopt", what: l.what, changes: diffs, ...adopting };
    return {
      ...base,
      action: "conflict",
      what: l.what,
      changes: diffs,
      ...sending(pattern.lookup ?? [], reads),
      note: "it exists and differs (or holds a write-only value): pulumi up stops here with no write; set adopt: true to take it over, or declare it as it is",
    };
  } catch (e) {
    return { ...base, action: "nothing", what: l?.what ?? c.d.name, error: (e as Error).message };
  }
}

/**
 * A resource the stack holds: `pulumi up` diffs its recorded outputs against the declaration with
 * the provider's rules (`changes`), then does nothing, updates it in place, or replaces it. The
 * object itself is read by the id the stack holds: gone, an update fails; there, the update's
 * fields are those Bitbucket will see change.
 */
async function planHeld(c: Checked, id: string, recorded: Record<string, unknown>): Promise<Planned> {
  const { base, planner } = c;
  const read = await planner.read(id, recorded as never);
  const live = read.id ? read.props : undefined;
  const [olds, news] = comparable(c, recorded, live);
  const what = (await planner.lookup(news as never)).what;
  const stateDiff = await planner.changes(olds as never, news as never);
  const liveOlds = live && comparable(c, live, live)[0];
  const liveDiff = liveOlds ? await planner.changes(liveOlds as never, news as never) : undefined;
  if (stateDiff.replaces.length) return planReplace(c, what, olds, live, stateDiff.changed, recorded);
  if (live !== undefined)
    c.kept.set((await planner.lookup({ ...news, ...live } as never)).natural.toLowerCase(), c.d.name);
  const changes = heldChanges(c, liveDiff?.changed ?? [], stateDiff.changed, liveOlds ?? olds);
  if (stateDiff.changed.length === 0) {
    const note =
      live === undefined
        ? "the stack holds it, but it is gone from Bitbucket (deleted outside pulumi): pulumi up leaves it gone, as the stack's record matches the manifest; pulumi refresh forgets it, then pulumi up creates it again"
        : changes.length
          ? `changed in Bitbucket outside pulumi (${changes.map((x) => x.field).join(", ")}): pulumi up leaves it, as the stack's record matches the manifest; pulumi up --refresh would bring it back`
          : undefined;
    return { ...base, action: "nothing", what, ...(note && { note }), ...sending([]) };
  }
  if (live === undefined && !planner.updateRemakes) {
    return {
      ...base,
      action: "conflict",
      what,
      changes: stateChanges(c, stateDiff.changed, olds),
      note: "the stack holds it, but it is gone from Bitbucket (deleted outside pulumi): pulumi up's update fails there; run pulumi refresh first (the stack forgets it, then pulumi up creates it again)",
      ...sending(planner.requests.update(c.inputs)), // the update that fails
    };
  }
  return {
    ...base,
    action: "update",
    what,
    ...sending(planner.requests.update(c.inputs)),
    changes: live === undefined ? stateChanges(c, stateDiff.changed, olds) : changes,
    ...(live !== undefined &&
      changes.length === 0 && {
        note: "the stack's record differs from the manifest, and Bitbucket already matches it: pulumi up rewrites it as it is",
      }),
  };
}

/**
 * A replace: up makes the new object (create's lookup: an object already at its natural key is
 * adopted, or stops the run when it differs) and deletes the old one (before, when the provider
 * asks: then a stop leaves the old one deleted).
 */
async function planReplace(
  c: Checked,
  what: string,
  olds: Record<string, unknown>,
  live: Record<string, unknown> | undefined,
  changed: string[],
  recorded: Record<string, unknown>,
): Promise<Planned> {
  const { base, planner, inputs } = c;
  const pattern = planner.requests;
  const changes = stateChanges(c, changed, live ?? olds);
  const l = await planner.lookup(inputs as never);
  const old = live && (await planner.lookup({ ...inputs, ...live } as never)).natural;
  const found = old?.toLowerCase() === l.natural.toLowerCase() ? undefined : await l.find();
  const differs = found === undefined ? [] : l.differences(found);
  const reads = l.reads ?? [];
  if (differs.length && inputs.adopt !== true) {
    return {
      ...base,
      action: "conflict",
      what,
      ...sending(pattern.lookup ?? [], reads), // up stops at it, with no write
      changes: [...changes, ...differs.map((x) => fromDifference(x, c.secrets))],
      note: `replacing it, pulumi up finds ${l.what} already in Bitbucket, differing: it stops there with no write to it (set adopt: true to take it over)`,
    };
  }
  // The new object (made, or the one found adopted), then the old one deleted.
  if (found !== undefined) c.adopted.set(l.natural.toLowerCase(), c.d.name);
  const made =
    found === undefined
      ? pattern.create(inputs)
      : pattern.adopt(
          differs.map((x) => x.field),
          inputs,
        );
  return {
    ...base,
    action: "replace",
    what,
    changes,
    ...sending([...made, ...pattern.delete(recorded)], reads),
    ...(found !== undefined && {
      note: `pulumi up adopts ${l.what}, already in Bitbucket, as the replacement`,
    }),
  };
}

/**
 * State outputs (or an object read back) and inputs as diff may compare them: an output the export
 * holds encrypted is taken from Bitbucket as it is, else as declared; a secret plan did not read
 * (or whose hash is encrypted) is taken to be the one the stack set, unless the stack generated
 * it, and an unread reference (a URL) to be what the stack holds.
 */
function comparable(
  c: Checked,
  recorded: Record<string, unknown>,
  live: Record<string, unknown> | undefined,
): [Record<string, unknown>, Record<string, unknown>] {
  const olds: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(recorded)) {
    const seen = live?.[k];
    olds[k] =
      v !== ENCRYPTED ? v : seen !== undefined && seen !== ENCRYPTED ? seen : (c.inputs[k] ?? ENCRYPTED);
  }
  const news = { ...c.inputs };
  for (const k of c.unread) if (olds[k] !== undefined) news[k] = olds[k];
  // A secret the stack generated is never the one now declared: diff sees it change.
  const generated = recorded.generateSecret === true && c.inputs.generateSecret !== true;
  for (const [secret, hash] of Object.entries(c.planner.secretHashes ?? {})) {
    if (news[secret] === undefined || generated || (!c.unread.has(secret) && olds[hash] !== ENCRYPTED))
      continue;
    news[secret] = SECRET_PLACEHOLDER;
    if (olds[hash] !== undefined) olds[hash] = hashSecret(SECRET_PLACEHOLDER);
  }
  return [olds, news];
}

/** Whether `field` is write-only here: a secret declared, or one the stack's record hashes and the declaration drops. */
const isWriteOnly = (c: Checked, field: string) =>
  c.secrets.has(field) ||
  (Object.keys(c.planner.secretHashes ?? {}).includes(field) && c.inputs[field] === undefined);

/**
 * The fields an update changes in Bitbucket: what differs there from the declaration (the update
 * sends the whole object), but a write-only part only when diff sends it too (state says it changed).
 */
function heldChanges(
  c: Checked,
  liveChanged: string[],
  stateChanged: string[],
  from: Record<string, unknown>,
): FieldChange[] {
  const fields = liveChanged.filter((f) => !isWriteOnly(c, f) || stateChanged.includes(f));
  return stateChanges(c, fields, from);
}

/** Each changed field, from `from`'s value to the declared one, as JSON values (never a secret). */
function stateChanges(c: Checked, fields: string[], from: Record<string, unknown>): FieldChange[] {
  return [...new Set(fields)].sort().map((field): FieldChange => {
    if (isWriteOnly(c, field) || (field === "value" && c.inputs.secured !== false)) {
      return c.inputs[field] === undefined
        ? { field, writeOnly: true, from: "set", to: "none" } // a secret removed: a certain change
        : { field, writeOnly: true };
    }
    return { field, from: shownValue(field, from[field]), to: shownValue(field, c.inputs[field]) };
  });
}

/** A value as plan shows it: URLs redacted, keys by fingerprint, absent as null, else as it is. */
function shownValue(field: string, v: unknown): Value {
  if (v === undefined || v === null) return null;
  if (URL_FIELDS.has(field) && typeof v === "string") return redactUrl(v);
  if (KEY_FIELDS.has(field) && typeof v === "string") return keyShown(v);
  return asValue(v);
}

/**
 * Delete steps for what the stack manages but the manifest no longer declares (nor carries over by
 * an alias). `keeps`: the natural keys (lower case) of the objects resources of this run keep or
 * adopt, by the resource's name. up's delete leaves such an object alone (ownership.ts rule 3,
 * `keptByThisRun`: a renamed entry adopted the object its old record points at): only the record
 * goes, and nothing is sent.
 */
export async function deletions(
  state: StateResource[],
  declared: Declared[],
  keeps: ReadonlyMap<string, string> = new Map(),
): Promise<Planned[]> {
  const names = new Set(declared.map((d) => `${d.type}::${d.name}`));
  const carried = new Set(declared.map((d) => heldBy(state, d)).filter((r) => r !== false));
  const dropped = state.filter((r) => !names.has(`${r.type}::${r.name}`) && !carried.has(r));
  return Promise.all(
    dropped.map(async (r): Promise<Planned> => {
      const base = {
        action: "delete" as const,
        type: r.type,
        name: r.name,
        what: `${r.type} ${r.id ?? r.name}`,
      };
      if (r.retainOnDelete)
        return {
          ...base,
          changes: [],
          ...sending([]),
          note: "retainOnDelete: removed from the stack, left in Bitbucket",
        };
      const keeper = keeps.size ? keeps.get((await naturalOf(r)) ?? "") : undefined;
      if (keeper !== undefined)
        return {
          ...base,
          changes: [],
          ...sending([]),
          note: `${keeper} keeps its object in this run (it adopts or holds it): the record goes, the object stays`,
        };
      return { ...base, changes: [], ...sending(deleteSends(r)) };
    }),
  );
}

/** The natural key (lower case) of the object a stack's record points at, from its recorded outputs; undefined when unknown. */
async function naturalOf(r: StateResource): Promise<string | undefined> {
  const planner = PLANNERS.get(r.type);
  if (planner === undefined || "verify" in planner || r.outputs === undefined) return undefined;
  try {
    return (await planner.lookup(r.outputs as never)).natural.toLowerCase();
  } catch {
    return undefined; // outputs it cannot be looked up by (an encrypted key field): billed as a delete
  }
}

/** What up's delete of a resource the stack holds sends, by its kind (nothing for a kind unknown here). */
function deleteSends(r: StateResource): Send[] {
  const planner = PLANNERS.get(r.type);
  return planner !== undefined && !("verify" in planner) ? planner.requests.delete(r.outputs ?? {}) : [];
}

/** The stack's record of a declared resource: under its name, or under an alias (the engine moves it). */
function heldBy(state: StateResource[], d: Declared): StateResource | false {
  const of = (name: string) => state.find((r) => r.type === d.type && r.name === name);
  return of(d.name) ?? (d.aliases ?? []).map(of).find((r) => r !== undefined) ?? false;
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
 * Plans every declared resource (with the stack's record of it, from `state`), in parallel:
 * lookups and reads of one collection share its single listing. `tick` is called as each one is planned.
 */
export async function planAll(
  declared: Declared[],
  state: StateResource[] | undefined,
  tick: () => void = () => undefined,
): Promise<Planned[]> {
  // What the stack holds first: the objects those resources keep are not another's to adopt.
  const held = declared.map((d) => heldBy(state ?? [], d));
  const kept: Kept = new Map();
  const adopted = new Map<string, string>();
  const plan = async (d: Declared, i: number) => {
    const p = await planOne(d, held[i], kept, adopted);
    tick();
    return { ...p, place: placeOf(d.inputs) };
  };
  const first = await Promise.all(declared.map((d, i) => (held[i] ? plan(d, i) : undefined)));
  const planned = await Promise.all(declared.map((d, i) => first[i] ?? plan(d, i)));
  return [...planned, ...(state ? await deletions(state, declared, new Map([...kept, ...adopted])) : [])];
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
