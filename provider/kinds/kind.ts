// What a kind of manifest entry is. Every kind (webhooks, deploy keys, ...) is one descriptor in
// this folder, and everything the manifest, plan and export know about it is there: its key and
// entry type, the flavors that have it, its checks beyond the schema, how an entry expands into
// resource specs (names, natural keys), how a spec becomes a resource, how plan looks it up, and
// how export reads it back. The generic code (manifest/load.ts, manifest/expand.ts,
// manifest/deploy.ts, cli/plan.ts, cli/export.ts) loops over the descriptors of kinds/index.ts.
// The resource itself (check/diff/create/read/update/delete, the API adapters) is
// provider/resources/<kind>.ts; its descriptor here has the same file name.

import type * as pulumi from "@pulumi/pulumi";
import type { SecretScope } from "../cli/config-keys";
import type { OAuthConsumer } from "../resources/oauth-consumer";
import type { Policy, Subject } from "../policy/rules";
import type { Changes, Lookup, Presence } from "../resources/ownership";
import type { Flavor } from "../resources/validate";
import type { Kind, Manifest, ResourceType } from "./index";

/** Where something is in the manifest. */
export interface Loc {
  file: string;
  line: number;
  col: number;
  /** JSON path in plain notation: webhooks[2].url */
  path: string;
}

export interface Problem {
  loc: Loc;
  message: string;
}

export type SecretRef = { fromConfig: string } | { fromEnv: string };
export type Selector = string[] | { project: string } | string;

/** What every entry of every kind has once loaded (SSH keys, the account's, have no workspace). */
export type EntryBase = Omit<Entry, "workspace">;

/** What every entry of every kind placed in a workspace or project has once loaded. */
export interface Entry {
  /** Where the entry starts, for messages. */
  loc: Loc;
  /** Where each of its fields' values is. */
  at: Record<string, Loc>;
  /** Its index in its list. */
  index: number;
  /** Bitbucket Cloud: the workspace ("" on Data Center). */
  workspace: string;
  /** Data Center: the project (the entry's, else the top-level one), unless `projects` is given. */
  project?: string;
  /** Data Center: several projects, each getting the entry. */
  projects?: string[];
  /** Take over an existing object that differs (see the schema). */
  adopt?: boolean;
  /** Keep the object in Bitbucket when the entry goes (Pulumi's retainOnDelete). */
  retainOnDelete?: boolean;
}

/** The manifest's top level, beside the lists of entries (kinds/index.ts adds those). */
export interface ManifestBase {
  file: string;
  version: 1;
  flavor: Flavor;
  /** Where each top-level key's value is. */
  at: Record<string, Loc>;
  workspace?: string;
  /** Data Center: the default project. */
  project?: string;
  /** The manifest's own policy (`policy:`), when it has one. */
  policy?: Policy;
}

/** One resource to declare. */
export interface Spec {
  /** Its resource type: `Webhook`, `DeployKey`, ... (its kind's `type`). */
  type: ResourceType;
  /** The Pulumi resource name: `webhook/acme/api/ci.example.com/hook`. */
  name: string;
  /** Names earlier versions gave the same resource (kept as Pulumi aliases: no replace on upgrade). */
  aliases?: string[];
  /** The manifest key of its entry: `webhooks`. */
  kind: Kind;
  index: number;
  loc: Loc;
  /** Cloud. */
  workspace?: string;
  /** Data Center. */
  project?: string;
  repository?: string;
  /** For integrations: the resolved repositories. */
  repositories?: string[];
}

// ---- load: checks beyond the schema -------------------------------------------------------------

/** An entry as written, before it is known to be well formed (the schema's errors are said apart). */
export type Raw = Record<string, unknown> | undefined;

/** What a kind's load-time checks get: the raw manifest, positions, and how messages quote text. */
export interface CheckContext {
  flavor: Flavor;
  /** The whole manifest as written. */
  data: Record<string, unknown>;
  /** The raw entries of a kind (this one's: `list(key)`). */
  list(key: string): Raw[];
  /** Where the value at a path is (`["webhooks", 0, "url"]`). */
  at(segs: Array<string | number>): Loc;
  /** Where a key of the mapping at a path is (for a key that should not be there). */
  keyAt(segs: Array<string | number>, key: string): Loc;
  /** User text as a message quotes it: escaped, cut short, in double quotes. */
  quote(s: string): string;
  /** User text escaped and cut short, unquoted. */
  clean(s: string): string;
  /** "Did you mean" candidates. */
  suggest(s: string, known: readonly string[]): string[];
  /**
   * Leaves an entry out of what is checked after load (its names, keys and collisions): for a
   * problem that would bring others following only from it (a second entry with one id would also
   * get the first's resource name). Entries whose own shape the schema refuses are left out anyway.
   */
  skip(kind: string, index: number): void;
}

// ---- expand: entries to specs -------------------------------------------------------------------

/** An entry as placement reads it: its workspace (Cloud) or projects (Data Center), and repositories. */
export interface Placed {
  workspace: string;
  project?: string;
  projects?: string[];
  repositories?: Selector;
  at: Record<string, Loc>;
}

/** Where one resource goes: a workspace (Cloud) or project (Data Center), maybe a repository in it. */
export interface Target {
  container: string;
  repository?: string;
}

/** The fields of a Spec a kind chooses (the rest, type, kind, index and position, come from its entry). */
export type SpecPart = Pick<
  Spec,
  "name" | "aliases" | "workspace" | "project" | "repository" | "repositories"
>;

/** Where a spec's resource lives. */
export type Place = Pick<Spec, "workspace" | "project" | "repository">;

/** What a kind's expand gets: the manifest, and the one way to add a resource or claim an object. */
export interface ExpandContext {
  m: Manifest;
  dc: boolean;
  problems: Problem[];
  /**
   * Adds a resource of this entry; `what` names it in messages. A second declaration of the same
   * natural key (case-folded as Bitbucket folds it), or of the same name, is a problem naming both.
   */
  add(spec: SpecPart, what: string, natural?: string): void;
  /** Claims an object declared at `loc` without a resource of its own (an integration's child). */
  claim(natural: string, loc: Loc, what: string): boolean;
  /**
   * Each repository the entry's selector names; without `repositories`, its workspace or projects
   * themselves when `optional` (workspace or project scope), else nothing.
   */
  targets(e: Placed, optional: boolean): Target[];
  /** The Spec fields of a target (`workspace` on Cloud, `project` on Data Center; `repository`). */
  placeOf(t: Target): Place;
  /** "acme/api", "acme/(workspace)", "PROJ/api", "project PROJ": a target in messages. */
  shown(t: Target): string;
  /** A key field's fingerprint and its short part for names; a problem at the field when malformed. */
  keyOf(e: EntryBase, field: string): { fingerprint: string; part: string } | undefined;
  /** A reference as messages show it: `stack config <key>`, `environment variable <NAME>`. */
  refText(ref: SecretRef): string;
}

// ---- deploy: specs to resources -----------------------------------------------------------------

/** What a kind's declare gets for one spec. */
export interface DeclareContext {
  dc: boolean;
  /** `{ flavor: "datacenter" }` on Data Center; nothing on Cloud (its inputs stay as they were). */
  flavorArg: { flavor?: "datacenter" };
  /** Where the spec's resource lives: Data Center `{ flavor, project, repository? }`, else cloudWhere. */
  where: { flavor?: "datacenter"; project?: string; workspace?: string; repository?: string };
  /** Cloud-only kinds' place (a Data Center manifest has none of them: load refuses them). */
  cloudWhere: { workspace: string; repository?: string };
  /** The secret `field` (a path: `options.webhooks[0].secret`) of the entry refers to. */
  secret(ref: SecretRef, field: string): pulumi.Output<string>;
  /** Resource options the entry asks for: retainOnDelete, and aliases of earlier names. */
  opts: pulumi.CustomResourceOptions;
  /** The manifest's OAuth consumers declared so far, by id (they come before integrations). */
  consumers: Map<string, OAuthConsumer>;
}

/** A declared resource and what the stack outputs say of it. */
export interface Declared {
  resource: pulumi.Resource;
  /** Its stack output, under the kind's key and `outputKey` (default: the resource name). */
  output: unknown;
  outputKey?: string;
  /**
   * Secret values for stack outputs of their own, by output name (`generatedSecrets`: a generated
   * webhook secret; `accessTokenValues`: a token): each output maps resource names to values, and
   * is secret as a whole.
   */
  secretOutputs?: Record<string, pulumi.Output<string | undefined>>;
}

// ---- plan ---------------------------------------------------------------------------------------

/**
 * How plan reads a resource of a type from live Bitbucket, with the provider's own code: `check`
 * (normalize) and `lookup` (create's natural-key lookup) for what the stack does not hold; `read`
 * (by the id the stack holds) and `changes` (diff's rules, state against the declaration) for what
 * it holds.
 */
export interface LookupPlanner {
  check(olds: Record<string, unknown>, news: Record<string, unknown>): Promise<unknown>;
  lookup(inputs: never): Lookup<unknown> | Promise<Lookup<unknown>>;
  /** Fields the lookup finds the object by that may be secret references (plan does not read them). */
  keyFields?: string[];
  /** The provider's `read`: the object the stack holds, by its id; no id when it is gone. */
  read(id: string, props: never): Promise<{ id?: string; props?: Record<string, unknown> }>;
  /** The provider's `changesOf`: what its `diff` finds, state outputs against checked inputs. */
  changes(olds: never, news: never): Promise<Changes>;
  /**
   * Secret inputs diff compares through a salted hash the state keeps (`secret` -> `secretHash`).
   * Plan reads neither (the hash is encrypted in a stack export, the secret a reference): a
   * declared secret is taken to be the one the stack set.
   */
  secretHashes?: Record<string, string>;
  /** Its update sends the whole object to a path of its own (PUT), so it makes it again when it is gone. */
  updateRemakes?: true;
  /**
   * Write-only fields adopting always makes anew, and what they become (an access token: the one
   * found is revoked and a new one made, `generated`): a certain change, though the value cannot
   * be compared.
   */
  adoptRenews?: Record<string, Presence>;
  /** What `pulumi up` sends for it at each step (the request bill). */
  requests: RequestPattern;
}

/** An HTTP method `pulumi up` sends to the API; `POST token`: a grant at the OAuth token URL. */
export type Send = "GET" | "POST" | "PUT" | "DELETE" | "POST token";

/**
 * What `pulumi up` sends for one resource of a kind at each step plan gives it, beyond what its
 * lookup reads through the run's cache (`Lookup.reads`: each collection listed once per run, shared
 * by every lookup in it). `bitbucket-iac plan --stats` adds them up (cli/bill.ts).
 */
export interface RequestPattern {
  /** A create whose lookup found nothing: the writes that make it. */
  create(inputs: Record<string, unknown>): Send[];
  /** A create whose lookup found the object: what brings it to the declaration, by the fields that differ. */
  adopt(differs: readonly string[], inputs: Record<string, unknown>): Send[];
  /** An update of the object the stack holds. */
  update(inputs: Record<string, unknown>): Send[];
  /** A delete of the object the stack holds (`outputs`: its state). */
  delete(outputs: Record<string, unknown>): Send[];
  /**
   * What its lookup sends of its own, when it reads nothing through the run's cache (a key pair's
   * GET): part of create and adopt above, and all a conflict sends before up stops. Default none.
   */
  lookup?: Send[];
}

/** A resource plan cannot read back: what it is, and why `pulumi up` verifies it instead. */
export interface VerifyPlanner {
  verify(inputs: Record<string, unknown>, name: string): { what: string; note: string };
  /** The outputs plan's mocks answer for it, as if `pulumi up` verified it as declared. */
  assumed(inputs: Record<string, unknown>): Record<string, unknown>;
  /** What `pulumi up` sends for it (the request bill): a create (not held) or an update (held and changed). */
  requests: {
    create: Send[];
    update: Send[];
    /** Whether up's diff finds the held one changed: its recorded outputs against the declared inputs. */
    changed(outputs: Record<string, unknown>, inputs: Record<string, unknown>): boolean;
  };
}

// ---- export -------------------------------------------------------------------------------------

/** Where an exporter puts what it reads. */
export interface ExportSink {
  /** The Cloud workspace or the Data Center project read. */
  container: string;
  /** Adds an entry of this kind (`adopt: true` is the exporter's to write). */
  add(entry: Record<string, unknown>): void;
  /** A `{ fromConfig }` reference for a write-only value; its key is chosen once every scope is known. */
  secret(scope: SecretScope, holds: string): { fromConfig: string };
  /** Says what was left out, and why. */
  skip(message: string): void;
  /** Says what the file holds that whoever commits it must see (a plain value like a credential). */
  warn(message: string): void;
  /**
   * Reads what needs more access: a 403 or 404 (on Data Center also a 401, its answer to too little
   * permission) is said (as `what`) and reads as nothing.
   */
  optional<T>(what: string, read: () => Promise<T[]>): Promise<T[]>;
  /**
   * Data Center: the slug of the user whose personal tokens are read (`named`, else the
   * credentials' user); undefined when it cannot be known (said).
   */
  user(): Promise<string | undefined>;
  /** Data Center: the user `--user` names (an admin reads another user's keys and tokens). */
  named?: string;
}

/** How export reads a kind back from one flavor (read-only calls). */
export interface Exporter {
  /** The objects of one repository. */
  repository?(repository: string, sink: ExportSink): Promise<void>;
  /** The workspace's (Cloud) or the project's (Data Center) own objects (only when every repository is exported). */
  container?(sink: ExportSink): Promise<void>;
  /** The credentials' account's objects (Data Center: `--user`'s). */
  account?(sink: ExportSink): Promise<void>;
}

// ---- audit --------------------------------------------------------------------------------------

/** One live object `audit` read: as a user names it, what the policy judges, the entry that would manage it. */
export interface LiveObject {
  /** What it is and where, as a user reads it: `webhook https://x/hook on acme/api` (URLs redacted). */
  what: string;
  /** What the policy judges of it. */
  subject: Subject;
  /** The manifest entry that would manage it, as `export` writes it (`adopt: true`). */
  entry?: Record<string, unknown>;
  /** Why no entry can manage it (a hook an app installed), when none can. */
  unmanageable?: string;
  /** What to know before managing it that way (a token's value cannot be read back). */
  note?: string;
}

/** Where an auditor puts what it reads. */
export interface AuditSink {
  /** The Cloud workspace or the Data Center project read. */
  container: string;
  /** Cloud: the keys of the projects the repositories read are in (their deploy keys are read too). */
  projects: readonly string[];
  add(o: LiveObject): void;
  /** A `{ fromConfig }` reference for a write-only value of an entry (keys chosen once all are known, as export's). */
  secret(scope: SecretScope, holds: string): { fromConfig: string };
  /** Reads what needs more access: a 403 or 404 is said (as `what`) and reads as nothing. */
  optional<T>(what: string, read: () => Promise<T[]>): Promise<T[]>;
  /** Says what the report must show besides findings (what was left unread, and why). */
  note(message: string): void;
  /**
   * Data Center: the slug of the user whose personal tokens and SSH keys are read (`named`, else the
   * credentials' user); undefined when it cannot be known (said).
   */
  user(): Promise<string | undefined>;
  /** Data Center: the user `--user` names (an admin reads another user's tokens and keys). */
  named?: string;
}

/** How `audit` reads a kind's live objects on one flavor (read-only calls). */
export interface Auditor {
  /** The objects of one repository. */
  repository?(repository: string, sink: AuditSink): Promise<void>;
  /** The workspace's (Cloud) or the project's (Data Center) own objects. */
  container?(sink: AuditSink): Promise<void>;
  /** The credentials' account's objects (read once per run). */
  account?(sink: AuditSink): Promise<void>;
}

// ---- the descriptor -----------------------------------------------------------------------------

/** Everything about one kind of manifest entry. */
export interface KindDescriptor<
  E extends EntryBase = Entry,
  K extends string = string,
  T extends string = string,
> {
  /** The manifest's key: `webhooks`. */
  key: K;
  /** The resource type each entry declares: `Webhook` (provider/runtime.ts serves it), or `Integration`. */
  type: T;
  /** A component of other resources (not served by the runtime: its children are). */
  component?: true;
  /**
   * Declared before the other kinds, in the order of KINDS: OAuth consumers (integrations name
   * them), then integrations (the objects their presets make are claimed before entries, so the
   * entry that collides with one is the one told).
   */
  declaredFirst?: true;
  /** Its entry in the schema's `$defs` (schema/manifest.schema.json): `webhook`. */
  schema: string;
  /** The fields an entry may have: its schema definition's properties (test/architecture/kinds.test.ts checks they agree). */
  fields: readonly string[];
  /** Which flavors have it; for one that does not, why (said when a manifest of that flavor lists it). */
  flavors: Record<Flavor, true | string>;
  /** Its entries live in a workspace (Cloud) or a project (Data Center); false: the account's. */
  placed: boolean;
  /** Fields a Cloud entry must not have (Data Center's): default `project` and `projects`. */
  dataCenterFields?: string[];
  /**
   * Fields a Data Center entry must not have (Cloud's): default `workspace`. Load refuses each in
   * its own words; an unknown key's message on Data Center does not list them.
   */
  cloudFields?: string[];
  /**
   * Checks beyond the schema, on the raw manifest of either flavor (a check for one flavor says so:
   * `ctx.flavor`); a manifest listing a kind its flavor does not have still gets its checks.
   */
  check?(ctx: CheckContext): Problem[];
  /**
   * The message when a Data Center entry has no project (default: load.ts's), or undefined when
   * this entry needs none (a user's access token).
   */
  noProject?: (e: Record<string, unknown>) => string | undefined;
  /** A hint added when two entries would get one resource name. */
  sameName?: string;
  /** The resource specs of one entry (ctx.add each). */
  expand(e: E, ctx: ExpandContext): void;
  /** Declares the resource of one of its specs. */
  declare(s: Spec, e: E, ctx: DeclareContext): Declared;
  /**
   * What the policy judges of one of its resources, from the resource's inputs (as the provider's
   * check, plan and validate see them); undefined for a kind no rule judges.
   */
  subject?(inputs: Record<string, unknown>): Subject | undefined;
  /**
   * The input each subject field is read from, where the names differ (a key pair's `publicKey`
   * is its subject's `key`): the property a check failure of the policy names.
   */
  policyFields?: Record<string, string>;
  /** How plan reads its resources back (by `type`). */
  plan?: LookupPlanner | VerifyPlanner;
  /** How export reads it back, per flavor (a flavor without one: export writes none of it). */
  export?: Partial<Record<Flavor, Exporter>>;
  /**
   * How `audit` reads its live objects, per flavor; for a flavor whose objects cannot be listed, why
   * (the report says it). A kind no rule judges (known hosts, integrations) has none.
   */
  audit?: Partial<Record<Flavor, Auditor | string>>;
}
