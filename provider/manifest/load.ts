// loadManifest: bitbucket.yaml -> a typed Manifest, or every problem at once.
//
// 1. YAML is parsed with source positions (line starts counted here: the `yaml` package's
//    LineCounter misses line breaks inside tokens it cannot read); syntax errors, duplicate keys,
//    aliases without an anchor or inside their own value, and nesting past MAX_DEPTH are reported
//    where they are, in one pass without recursion.
// 2. The JSON Schema (schema/manifest.schema.json, compiled once with ajv) checks shapes; each
//    ajv error is translated into plain words at the line and column of the value (or key) it
//    is about, with "did you mean" for unknown keys and values.
// 3. Cross-references: ids are unique, an integration's consumer exists, every entry has a
//    workspace (Cloud) or a project (Data Center), and each kind, field and event belongs to the
//    manifest's flavor. Duplicates of natural keys are found by expand.ts, here for explicit
//    repository lists, at deploy time for selectors too.
// Every stage runs whatever the earlier ones found (checkManifest): the cross-references on the
// whole file, and the typed manifest keeps each entry the schema does not refuse, so expand.ts
// still finds malformed keys and collisions among them (`validate` reports them all in one run).
// Only what the YAML parser cannot read stops everything. No network is touched.

import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import * as fs from "fs";
import * as path from "path";
import {
  isAlias,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  parseDocument,
  visit,
  type Document,
  type Node,
  type YAMLMap,
} from "yaml";
import { KINDS, kindOf, type Kind, type Manifest } from "../kinds";
import type { CheckContext, Loc, Problem, Raw } from "../kinds/kind";
import { isTooLarge, readLimited } from "../read-limited";
import { escapeUnprintable, UNPRINTABLE } from "../text";
import { didYouMean, suggestFor } from "../suggest";
import type { Flavor } from "../resources/validate";
import { CLOUD_WEBHOOK_EVENTS, DC_WEBHOOK_EVENTS } from "../resources/webhook";
import { globProblem } from "../glob";
import type { Layer } from "../policy/evaluate";
import type { Policy } from "../policy/rules";
import { policyProblems } from "./policy";

export type { Loc, Problem, SecretRef, Selector } from "../kinds/kind";
export type * from "../kinds";

export const MANIFEST_ERROR = "BITBUCKET_MANIFEST_ERROR";

/**
 * The manifest's schema: the package's one copy, `schema/manifest.schema.json` (package.json
 * "exports"), found by the package's own name, so from the sources (ts-node) and the build (dist/)
 * alike, in this repository or installed.
 */
export const SCHEMA_FILE = require.resolve("bitbucket-iac/schema/manifest.schema.json");

/** Every problem of a manifest, one per line: `file:line:col path: message`. */
export interface ManifestError extends Error {
  code: typeof MANIFEST_ERROR;
  problems: Problem[];
}

export function formatProblem(p: Problem): string {
  return `${p.loc.file}:${p.loc.line}:${p.loc.col} ${p.loc.path}: ${p.message}`;
}

/** At most this many problems are printed; the rest are counted ("and N more"). */
export const MAX_SHOWN_PROBLEMS = 50;

/**
 * Manifests larger than this are refused before parsing (a real one is a few KiB; 5,000 entries are
 * 650 KiB). Held against the bytes read, so a pipe or a device is cut here too (read-limited.ts).
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The problems to print: the first MAX_SHOWN_PROBLEMS, then a line counting the rest. */
export function shownProblems(problems: Problem[]): string[] {
  const lines = problems.slice(0, MAX_SHOWN_PROBLEMS).map(formatProblem);
  const more = problems.length - MAX_SHOWN_PROBLEMS;
  if (more > 0) lines.push(`... and ${more} more problem${more === 1 ? "" : "s"} (fix these first)`);
  return lines;
}

export function manifestError(problems: Problem[]): ManifestError {
  // Every problem passes here (expand's and the presets' too): none prints a control character
  // from the manifest, or a line longer than a terminal can show.
  const said = problems.map((p) => ({
    loc: { ...p.loc, path: clean(cut(p.loc.path, 200)) },
    message: clean(cut(p.message, 600)),
  }));
  const sorted = said.sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col);
  const n = sorted.length;
  const err = new Error(
    `${n} problem${n === 1 ? "" : "s"} in the manifest:\n${shownProblems(sorted).join("\n")}`,
  ) as ManifestError;
  return Object.assign(err, {
    code: MANIFEST_ERROR as typeof MANIFEST_ERROR,
    problems: sorted,
    name: "ManifestError",
  });
}

export const isManifestError = (e: unknown): e is ManifestError =>
  typeof e === "object" && e !== null && (e as { code?: unknown }).code === MANIFEST_ERROR;

// ---- positions -----------------------------------------------------------------------------------

type Segment = string | number;

/** Text with every unprintable character escaped (\n, \u001b...), so it cannot forge an output line or a terminal escape. */
const clean = escapeUnprintable;

/** At most `max` characters, cut with "...". */
const cut = (s: string, max = 60) => (s.length > max ? `${s.slice(0, max - 3)}...` : s);

/** User text as a message quotes it: escaped, cut short, in double quotes. */
const quote = (s: string) => `"${clean(cut(s))}"`;

/** A value as a message shows it: text quoted, anything else as JSON, cut short. */
const shownValue = (v: unknown) =>
  typeof v === "string" ? quote(v) : clean(cut(JSON.stringify(v) ?? String(v)));

/** "Did you mean" candidates; none for long text, which is no typo (and would cost seconds to compare). */
const suggest = (s: string, known: readonly string[]) => suggestFor(s, known);

/** "webhooks[2].url" from ["webhooks", 2, "url"]; a key that is long or unprintable is quoted. */
export const pathText = (segs: Segment[]) =>
  segs
    .map((s) =>
      typeof s === "string" && (s.length > 60 || new RegExp(UNPRINTABLE.source, "u").test(s)) ? quote(s) : s,
    )
    .reduce<string>((acc, s) => (typeof s === "number" ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), "") ||
  "(top level)";

class Positions {
  /** Offset of each line's first character. */
  private readonly lineStarts: number[] = [0];
  /** Each mapping's pairs by key, built when first asked (an unknown key each, not a scan each). */
  private readonly pairs = new WeakMap<YAMLMap, Map<string, Node>>();

  constructor(
    private readonly doc: Document,
    text: string,
    private readonly file: string,
  ) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.lineStarts.push(i + 1);
  }

  at(offset: number, segs: Segment[]): Loc {
    let [lo, hi] = [0, this.lineStarts.length - 1];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - this.lineStarts[lo]! + 1, path: pathText(segs) };
  }

  /** The node at a path, or the nearest ancestor that exists. */
  node(segs: Segment[]): { node?: Node; segs: Segment[] } {
    for (let n = segs.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(segs.slice(0, n), true);
      if (isNode(node)) return { node, segs: segs.slice(0, n) };
    }
    return { segs: [] };
  }

  /** Location of the value at `segs`. */
  value(segs: Segment[]): Loc {
    const { node } = this.node(segs);
    return this.at(node?.range?.[0] ?? 0, segs);
  }

  /** Location of the key `key` in the mapping at `segs` (for an unknown key). */
  key(segs: Segment[], key: string): Loc {
    const { node } = this.node(segs);
    if (isMap(node)) {
      let keys = this.pairs.get(node);
      if (!keys) {
        keys = new Map();
        for (const p of node.items)
          if (isScalar(p.key) && !keys.has(String(p.key.value))) keys.set(String(p.key.value), p.key);
        this.pairs.set(node, keys);
      }
      const k = keys.get(key);
      if (k?.range) return this.at(k.range[0], [...segs, key]);
    }
    return this.value(segs);
  }
}

// ---- schema errors in plain words --------------------------------------------------------------

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as object);
  }
  return compiled;
}

const TYPE_WORDS: Record<string, string> = {
  object: "a mapping (key: value lines)",
  array: "a list",
  string: "text",
  boolean: "true or false",
  integer: "a whole number",
  number: "a number",
};

const isSecretSchema = (e: ErrorObject) => /^#\/\$defs\/(secretRef|webhookSecret)\//.test(e.schemaPath);

/** The schema around a failed keyword, as far as messages read it. */
interface ParentSchema {
  description?: string;
  properties?: Record<string, { description?: string }>;
}

/** One ajv error with what its message needs: where it points and the schema around it. */
interface SchemaError {
  e: ErrorObject;
  segs: Segment[];
  pos: Positions;
  flavor: Flavor;
  parent: ParentSchema;
  /** The value, shown; only when said: for an unknown key the value is the whole mapping. */
  shown: () => string;
}

function translate(e: ErrorObject, segs: Segment[], pos: Positions, flavor: Flavor): Problem | undefined {
  const parent = (e.parentSchema ?? {}) as ParentSchema;
  const err: SchemaError = { e, segs, pos, flavor, parent, shown: () => shownValue(e.data) };
  const say = Object.hasOwn(KEYWORD_PROBLEMS, e.keyword) ? KEYWORD_PROBLEMS[e.keyword] : undefined;
  return say ? say(err) : atValue(err, e.message ?? e.keyword);
}

/** What each ajv keyword's failure says, in plain words; any other keyword says ajv's message. */
const KEYWORD_PROBLEMS: Record<string, (err: SchemaError) => Problem | undefined> = {
  if: () => undefined, // the "then"/"else" error says what is wrong
  required: missingKey,
  additionalProperties: unknownKey,
  type: wrongType,
  enum: notAllowed,
  const: (err) => atValue(err, `must be ${JSON.stringify(err.e.params.allowedValue)}, not ${err.shown()}`),
  pattern: (err) =>
    atValue(
      err,
      `${err.shown()} is not valid: ${err.parent.description ?? `must match ${err.e.params.pattern}`}`,
    ),
  format: (err) =>
    atValue(
      err,
      `${err.shown()} is not a valid ${err.e.params.format === "uri" ? "URL" : err.e.params.format}`,
    ),
  minItems: (err) => atValue(err, `must list at least ${err.e.params.limit}`),
  uniqueItems: listedTwice,
  minLength: (err) => atValue(err, "must not be empty"),
  minProperties: keyCount,
  maxProperties: keyCount,
};

function atValue({ pos, segs }: SchemaError, message: string): Problem {
  return { loc: pos.value(segs), message };
}

function missingKey(err: SchemaError): Problem {
  const missing = String(err.e.params.missingProperty);
  const what = err.parent.properties?.[missing]?.description;
  return atValue(err, `missing "${missing}"${what ? `: ${what}` : ""}`);
}

function unknownKey({ e, segs, pos, parent, flavor }: SchemaError): Problem {
  const key = String(e.params.additionalProperty);
  const other = otherFlavorKeys(segs, flavor);
  const keys = Object.keys(parent.properties ?? {}).filter((k) => !other.includes(k));
  return {
    loc: pos.key(segs, key),
    message: `unknown key ${quote(key)}${didYouMean(key, keys)} (keys here: ${keys.join(", ")})`,
  };
}

/**
 * The keys the schema allows at `segs` that the other flavor's manifests have only (load refuses
 * them with their own words): left out of an unknown key's list and its "did you mean".
 */
function otherFlavorKeys(segs: Segment[], flavor: Flavor): readonly string[] {
  if (segs.length === 0)
    return [
      flavor === "cloud" ? "project" : "workspace",
      ...KINDS.filter((k) => k.flavors[flavor] !== true).map((k) => k.key),
    ];
  const kind = KINDS.find((k) => k.key === segs[0]);
  if (!kind?.placed || kind.flavors[flavor] !== true || segs.length !== 2 || typeof segs[1] !== "number")
    return [];
  return flavor === "cloud"
    ? (kind.dataCenterFields ?? ["projects", "project"])
    : (kind.cloudFields ?? ["workspace"]);
}

function wrongType(err: SchemaError): Problem {
  const { e } = err;
  if (isSecretSchema(e) && typeof e.data !== "object") {
    const generate = e.schemaPath.includes("webhookSecret")
      ? ", or { generate: true } for a random one kept in state"
      : "";
    return atValue(
      err,
      `a secret cannot be written in the manifest: use { fromConfig: <name> } and run \`pulumi config set --secret <name> <value>\`, or { fromEnv: <NAME> }${generate}`,
    );
  }
  const wanted = String(e.params.type).split(",");
  const types = wanted.map((t) => TYPE_WORDS[t] ?? t).join(" or ");
  // YAML reads 42, 1.50 or true unquoted as a number or a boolean: in quotes, as written, it is text.
  const quote =
    wanted.includes("string") && ["number", "boolean"].includes(typeof e.data)
      ? ": put it in quotes, as written, to keep it as text"
      : "";
  return atValue(err, `must be ${types}, not ${err.shown()}${quote}`);
}

function notAllowed(err: SchemaError): Problem {
  const { e, segs, flavor } = err;
  const events: readonly string[] = flavor === "cloud" ? CLOUD_WEBHOOK_EVENTS : DC_WEBHOOK_EVENTS;
  // Webhook events list both flavors' (for editors); suggest the manifest's flavor's only.
  const allowed = (e.params.allowedValues as unknown[])
    .map(String)
    .filter((v) => segs.at(-2) !== "events" || events.includes(v));
  const close = typeof e.data === "string" ? suggest(e.data, allowed) : [];
  return atValue(
    err,
    `${err.shown()} is not allowed here${close.length ? `; did you mean ${close.map((c) => `"${c}"`).join(", ")}?` : allowed.length <= 8 ? ` (one of: ${allowed.join(", ")})` : ""}`,
  );
}

function listedTwice({ e, segs, pos }: SchemaError): Problem {
  const list = e.data as unknown[];
  return {
    loc: pos.value([...segs, e.params.i as number]),
    message: `${shownValue(list[e.params.i as number])} is listed twice`,
  };
}

function keyCount(err: SchemaError): Problem {
  const { e, parent } = err;
  return atValue(
    err,
    isSecretSchema(e) || /^\/webhooks\/\d+\/url$/.test(e.instancePath)
      ? `give exactly one of ${Object.keys(parent.properties ?? {}).join(", ")}`
      : `must have ${e.keyword === "minProperties" ? "at least" : "at most"} ${e.params.limit} key(s)`,
  );
}

/** One problem per place: ajv may report several for the same value (a union type, an if/else). */
function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.loc.line}:${p.loc.col}:${p.loc.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function segmentsOf(instancePath: string): Segment[] {
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

// ---- cross-references ------------------------------------------------------------------------------

/** The manifest's flavor (`flavor:`, default cloud); an invalid value is the schema's to report. */
const flavorOf = (data: unknown): Flavor =>
  (data as { flavor?: unknown } | null)?.flavor === "datacenter" ? "datacenter" : "cloud";

/**
 * The checks beyond the schema: each kind's flavors and placement, globs, and each kind's own. The
 * entries a check leaves out of later checks go into `skipped` (`kind[index]`).
 */
function crossCheck(data: Record<string, unknown>, pos: Positions, skipped: Set<string>): Problem[] {
  const ctx = checkContext(data, pos, skipped);
  const problems = ctx.flavor === "cloud" ? cloudPlacement(ctx) : dataCenterPlacement(ctx);
  for (const kind of KINDS) if (kind.check) problems.push(...kind.check(ctx));
  // A policy file (no flavor, no entries) serves both flavors.
  const policyOnly = data.flavor === undefined && KINDS.every((k) => data[k.key] === undefined);
  problems.push(...policyProblems(ctx, policyOnly ? "any" : ctx.flavor));
  // A glob is matched against every repository listed: its size is capped (glob.ts).
  for (const kind of KINDS) {
    ctx.list(kind.key).forEach((e, i) => {
      const why = typeof e?.repositories === "string" ? globProblem(e.repositories) : undefined;
      if (why) problems.push({ loc: pos.value([kind.key, i, "repositories"]), message: why });
    });
  }
  return problems;
}

function checkContext(data: Record<string, unknown>, pos: Positions, skipped: Set<string>): CheckContext {
  return {
    flavor: flavorOf(data),
    data,
    list: (k) => (Array.isArray(data[k]) ? (data[k] as Raw[]) : []),
    at: (segs) => pos.value(segs),
    keyAt: (segs, key) => pos.key(segs, key),
    quote,
    clean: (s) => clean(cut(s)),
    suggest,
    skip: (kind, index) => void skipped.add(entryKey(kind, index)),
  };
}

/** An entry's identity among those left out: `webhooks[2]`. */
const entryKey = (kind: string, index: number) => `${kind}[${index}]`;

/** A Cloud manifest: entries have a workspace; Data Center's kinds and fields are refused. */
function cloudPlacement(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  const dcOnly = (message: string) =>
    `${message} (this manifest is Bitbucket Cloud: flavor: cloud, the default)`;
  if (ctx.data.project !== undefined) {
    problems.push({
      loc: ctx.keyAt([], "project"),
      message: dcOnly(
        "a top-level project is Data Center's default project; on Cloud give `workspace:` (a project deploy key names its project on the entry)",
      ),
    });
  }
  for (const kind of KINDS) {
    const why = kind.flavors.cloud;
    if (why === true || ctx.data[kind.key] === undefined) continue;
    problems.push({
      loc: ctx.keyAt([], kind.key),
      message: dcOnly(`${kind.key} are Bitbucket Data Center only: ${why}`),
    });
    ctx.list(kind.key).forEach((_, i) => ctx.skip(kind.key, i)); // said once, for the whole list
  }
  for (const kind of KINDS) {
    if (!kind.placed || kind.flavors.cloud !== true) continue;
    ctx.list(kind.key).forEach((e, i) => {
      if (e && typeof e === "object" && e.workspace === undefined && ctx.data.workspace === undefined) {
        problems.push({
          loc: ctx.at([kind.key, i]),
          message: "no workspace: set `workspace:` at the top of the manifest or on this entry",
        });
      }
      for (const field of kind.dataCenterFields ?? ["projects", "project"]) {
        if (e?.[field] !== undefined)
          problems.push({
            loc: ctx.keyAt([kind.key, i], field),
            message: dcOnly(`${field} is for Data Center`),
          });
      }
    });
  }
  return problems;
}

/**
 * A Data Center manifest: entries live in a project (their own, `projects`, or the top-level one);
 * Cloud's kinds and fields are refused, saying what Data Center has instead.
 */
function dataCenterPlacement(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  const cloudOnly = (message: string) => `${message} (this manifest is flavor: datacenter)`;
  if (ctx.data.workspace !== undefined) {
    problems.push({
      loc: ctx.keyAt([], "workspace"),
      message: cloudOnly("workspace is Bitbucket Cloud's; Data Center has projects: write `project: KEY`"),
    });
  }
  for (const kind of KINDS) {
    const why = kind.flavors.datacenter;
    if (why === true || ctx.data[kind.key] === undefined) continue;
    problems.push({
      loc: ctx.keyAt([], kind.key),
      message: cloudOnly(
        `${kind.key} are Bitbucket Cloud only: ${why}; remove them, or keep them in a Cloud manifest`,
      ),
    });
    ctx.list(kind.key).forEach((_, i) => ctx.skip(kind.key, i)); // said once, for the whole list
  }
  for (const kind of KINDS) {
    if (!kind.placed || kind.flavors.datacenter !== true) continue;
    ctx.list(kind.key).forEach((e, i) => {
      if (!e || typeof e !== "object") return;
      if (e.workspace !== undefined)
        problems.push({
          loc: ctx.keyAt([kind.key, i], "workspace"),
          message: cloudOnly("workspace is Bitbucket Cloud's; give `project: KEY`"),
        });
      if (e.project !== undefined && e.projects !== undefined)
        problems.push({
          loc: ctx.keyAt([kind.key, i], "projects"),
          message: "give project or projects, not both",
        });
      const placed = e.project !== undefined || e.projects !== undefined || ctx.data.project !== undefined;
      const noProject =
        typeof kind.noProject === "function" ? kind.noProject(e) : (kind.noProject ?? NO_PROJECT);
      if (!placed && noProject !== undefined)
        problems.push({ loc: ctx.at([kind.key, i]), message: noProject });
    });
  }
  return problems;
}

const NO_PROJECT =
  "no project: set `project:` at the top of the manifest or on this entry (Data Center keeps hooks and keys in projects)";

/** How far one alias may expand (yaml's own guard, kept at its default). */
const MAX_ALIAS_COUNT = 100;

/** How deep lists and mappings may nest, aliases counted (a manifest needs about eight levels). */
export const MAX_DEPTH = 64;

/** How many anchors and aliases a manifest may hold: yaml resolves each alias by a scan of those before it. */
export const MAX_ANCHORS = 1000;

const TOO_DEEP = `YAML: nested more than ${MAX_DEPTH} levels deep; a manifest needs a few`;

/** The nodes right below a collection (a mapping's keys and values), in document order. */
const childrenOf = (n: unknown): Node[] =>
  isCollection(n)
    ? (n.items as unknown[]).flatMap((it) => (isPair(it) ? [it.key, it.value] : [it])).filter(isNode)
    : [];

/**
 * What the parser leaves to us, found in one pass over the document without recursion (no depth
 * or size makes it throw, no key count makes it slow): a key twice in a mapping (yaml's own check
 * compares each key with every other), an alias without an anchor before it or inside the value
 * it names (that value would contain itself), more than MAX_ANCHORS anchors and aliases, and
 * nesting past MAX_DEPTH, counting what aliases bring in.
 */
function structureProblems(doc: Document, pos: Positions): Problem[] {
  const problems: Problem[] = [];
  const at = (n: Node) => pos.at(n.range?.[0] ?? 0, []);
  const anchors = new Map<string, Node>();
  /** Levels from a node down to its deepest value, through aliases (anchored nodes are asked). */
  const height = new Map<Node, number>();
  let named = 0;
  const stack: Array<{ node: Node; depth: number; after?: Node[] }> = isNode(doc.contents)
    ? [{ node: doc.contents, depth: 1 }]
    : [];
  while (stack.length) {
    const { node, depth, after } = stack.pop()!;
    if (after) {
      height.set(node, 1 + after.reduce((h, k) => Math.max(h, height.get(k) ?? 1), 0));
      continue;
    }
    if ((node.anchor !== undefined || isAlias(node)) && ++named > MAX_ANCHORS) {
      problems.push({
        loc: at(node),
        message: `YAML: more than ${MAX_ANCHORS} anchors and aliases; write the entries out instead`,
      });
      break;
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const start = node.range?.[0] ?? 0;
      const name = clean(cut(node.source));
      if (target === undefined) {
        problems.push({
          loc: at(node),
          message: `YAML: alias *${name} names no anchor before it (write &${name} on the value first)`,
        });
      } else if (target.range && start >= target.range[0] && start < target.range[1]) {
        const where = pos.at(target.range[0], []);
        problems.push({
          loc: at(node),
          message: `YAML: alias *${name} is inside the value it names (&${name} at ${where.line}:${where.col}): that value would contain itself`,
        });
      } else if (depth - 1 + (height.get(target) ?? 1) > MAX_DEPTH) {
        problems.push({ loc: at(node), message: TOO_DEEP });
        break;
      } else height.set(node, height.get(target) ?? 1);
      continue;
    }
    if (node.anchor !== undefined) anchors.set(node.anchor, node);
    if (depth > MAX_DEPTH) {
      problems.push({ loc: at(node), message: TOO_DEEP });
      break;
    }
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const { key } of node.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) problems.push({ loc: at(key), message: "YAML: Map keys must be unique" });
        seen.add(key.value);
      }
    }
    const kids = childrenOf(node);
    stack.push({ node, depth, after: kids });
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!, depth: depth + 1 });
  }
  return problems;
}

/** The parser's own errors in plain words, each once; a stack overflow in it is nesting too deep. */
function yamlProblems(doc: Document, text: string, pos: Positions): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    const deep = /call stack/i.test(e.message);
    const key = deep ? "deep" : `${e.pos[0]}:${e.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const offset = /^Flow (sequence|mapping)/.test(e.message) ? unclosedBracket(text, e.pos[0]) : e.pos[0];
    const said = e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? "";
    problems.push({ loc: pos.at(offset, []), message: deep ? TOO_DEEP : `YAML: ${clean(cut(said, 200))}` });
  }
  return problems;
}

// ---- loading ------------------------------------------------------------------------------------------

/**
 * Where the flow collection (`[` or `{`) left open before `end` starts: YAML reports an
 * unterminated one at the end of the file, which is not where the mistake is.
 */
function unclosedBracket(text: string, end: number): number {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < end && i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1] ?? "")))
      i = text.indexOf("\n", i) < 0 ? end : text.indexOf("\n", i);
    else if (c === "[" || c === "{") open.push(i);
    else if (c === "]" || c === "}") open.pop();
  }
  return open.at(-1) ?? end;
}

/** Positions of `options.<key>` and `options.<key>[i]` (an integration's children), keyed by that path. */
function optionPositions(options: unknown, at: (segs: Segment[]) => Loc): Record<string, Loc> {
  if (typeof options !== "object" || options === null) return {};
  const out: Record<string, Loc> = {};
  for (const [k, v] of Object.entries(options)) {
    out[`options.${k}`] = at([k]);
    if (Array.isArray(v)) v.forEach((_, i) => (out[`options.${k}[${i}]`] = at([k, i])));
  }
  return out;
}

/** Parses and checks manifest text; `file` is used in messages. Throws a ManifestError listing every problem. */
export function parseManifest(text: string, file: string): Manifest {
  const { manifest, problems } = checkManifest(text, file);
  if (problems.length) throw manifestError(problems);
  return manifest;
}

/** A manifest as far as it is well formed, and every problem found in it. */
export interface CheckedManifest {
  /**
   * The manifest without what later checks cannot read: entries whose shape the schema refuses,
   * or that a check leaves out (a second entry with one id, a kind the flavor does not have), and
   * `policy:` when it has a problem. An entry without a workspace is kept, in the workspace
   * NO_WORKSPACE, so its keys and collisions are still checked.
   */
  manifest: Manifest;
  problems: Problem[];
  /** Whether `policy:` has a problem (and so is left out of `manifest`). */
  policyBroken: boolean;
}

/** Where an entry without a workspace is placed while its other checks run (messages show it). */
export const NO_WORKSPACE = "(no workspace)";

/**
 * Parses and checks manifest text, every stage on whatever the earlier ones found well formed.
 * Throws a ManifestError only when the YAML itself cannot be read (or is empty).
 */
export function checkManifest(text: string, file: string): CheckedManifest {
  const { doc, pos } = parseYaml(text, file);
  const data = dataOf(doc, pos, file);
  const validate = validator();
  const problems: Problem[] = [];
  const skipped = new Set<string>();
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      const segs = segmentsOf(e.instancePath);
      // An entry the schema refuses is left out as a whole: what it would declare is unknown.
      if (typeof segs[1] === "number" && KINDS.some((k) => k.key === segs[0]))
        skipped.add(entryKey(String(segs[0]), segs[1]));
      const p = translate(e, segs, pos, flavorOf(data));
      if (p) problems.push(p);
    }
  }
  const mapping = typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  problems.push(...crossCheck(mapping, pos, skipped));
  const policyBroken = problems.some((p) => /^policy(\.|\[|$)/.test(p.loc.path));
  return {
    manifest: typed(mapping, pos, file, { skipped, policyBroken }),
    problems: dedupe(problems),
    policyBroken,
  };
}

/** The YAML document and its positions; a ManifestError for what the parser or the structure pass finds. */
function parseYaml(text: string, file: string): { doc: Document; pos: Positions } {
  // Keys are checked by structureProblems (linear); logLevel: "error" keeps yaml's warnings off stderr.
  // yaml makes an Error per problem, thousands for a damaged file, each recording a stack no one
  // reads (all of mocha's, which sets no limit): parse without.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false, logLevel: "error" });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const pos = new Positions(doc, text, file);
  const structural = [...yamlProblems(doc, text, pos), ...structureProblems(doc, pos)];
  if (structural.length) {
    // Nesting too deep is said once, whichever pass found it first.
    const deep = structural.findIndex((p) => p.message === TOO_DEEP);
    throw manifestError(structural.filter((p, i) => p.message !== TOO_DEEP || i === deep));
  }
  return { doc, pos };
}

/** The document as plain data; a ManifestError when aliases expand too far, or it is empty. */
function dataOf(doc: Document, pos: Positions, file: string): unknown {
  let data: unknown;
  try {
    // yaml refuses documents whose aliases expand past maxAliasCount (a "billion laughs" bomb).
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (e) {
    let first: number | undefined;
    visit(doc, { Alias: (_, node) => void (first ??= node.range?.[0]) });
    throw manifestError([
      {
        loc: pos.at(first ?? 0, []),
        message: /excessive alias/i.test((e as Error).message)
          ? `YAML: aliases here expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias); write the entries out instead`
          : `YAML: ${clean(cut((e as Error).message.split("\n")[0] ?? "", 200))}`,
      },
    ]);
  }
  if (data === null || data === undefined) {
    throw manifestError([
      {
        loc: { file, line: 1, col: 1, path: "(top level)" },
        message: "the manifest is empty: start with `version: 1` and a `workspace:`",
      },
    ]);
  }
  return data;
}

/**
 * The typed manifest of checked data: every entry with its place, position and the positions of
 * its fields, but those `skipped` (and `policy:` when it is broken).
 */
function typed(
  m: Record<string, unknown>,
  pos: Positions,
  file: string,
  left: { skipped: ReadonlySet<string>; policyBroken: boolean },
): Manifest {
  const flavor = flavorOf(m);
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  // An entry's place defaults to the top-level one: the workspace (Cloud), the project (Data
  // Center, unless the entry names `projects`).
  const project = text(m.project);
  const placeOf = (e: Record<string, unknown>, placed: boolean) =>
    flavor === "cloud"
      ? { workspace: text(m.workspace) ?? (placed ? NO_WORKSPACE : undefined) }
      : { workspace: "", ...(e.projects === undefined && project !== undefined && { project }) };
  const withLoc = <T>(kind: Kind): T[] =>
    (Array.isArray(m[kind]) ? (m[kind] as Array<Record<string, unknown>>) : []).flatMap((e, index) =>
      left.skipped.has(entryKey(kind, index))
        ? []
        : [
            {
              ...placeOf(e, kindOf(kind).placed),
              ...e,
              loc: pos.value([kind, index]),
              at: {
                ...Object.fromEntries(Object.keys(e).map((k) => [k, pos.value([kind, index, k])])),
                ...optionPositions(e.options, (segs) => pos.value([kind, index, "options", ...segs])),
              },
              index,
            } as T,
          ],
    );
  return {
    file,
    version: 1,
    flavor,
    at: Object.fromEntries(Object.keys(m).map((k) => [k, pos.value([k])])),
    ...(text(m.workspace) !== undefined && { workspace: text(m.workspace) }),
    ...(project !== undefined && { project }),
    ...(typeof m.policy === "object" &&
      m.policy !== null &&
      !left.policyBroken && { policy: m.policy as Policy }),
    ...(Object.fromEntries(KINDS.map(({ key }) => [key, withLoc(key)])) as { [K in Kind]: Manifest[K] }),
  };
}

/** How a caller names and finds the manifest, for messages. */
export interface LoadOptions {
  /** Directory paths in messages are relative to. Default: the working directory. */
  relativeTo?: string;
  /** What to do about a missing file, in the caller's terms. */
  missingHint?: string;
  /** What the file is, as a message that cannot read it says: "the manifest" (default), "the policy file". */
  what?: string;
}

/** Reads and checks a manifest file. Throws a ManifestError listing every problem. */
export function loadManifest(file: string, opts: LoadOptions = {}): Manifest {
  const { manifest, problems } = checkManifestFile(file, opts);
  if (problems.length) throw manifestError(problems);
  return manifest;
}

/**
 * Reads and checks a manifest file, as far as it is well formed (checkManifest). Throws a
 * ManifestError only when the file cannot be read, or its YAML cannot.
 */
export function checkManifestFile(file: string, opts: LoadOptions = {}): CheckedManifest {
  const shown = path.relative(opts.relativeTo ?? process.cwd(), file) || file;
  const hint = opts.missingHint ?? "set it with `pulumi config set manifest <path>`";
  const fileProblem = (message: string) =>
    manifestError([{ loc: { file: shown, line: 1, col: 1, path: "(file)" }, message }]);
  let bytes: Buffer;
  try {
    bytes = readLimited(file, MAX_MANIFEST_BYTES);
  } catch (e) {
    if (isTooLarge(e)) {
      const limit = `${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`;
      throw fileProblem(
        e.size !== undefined
          ? `the manifest is ${(e.size / 1024 / 1024).toFixed(1)} MiB; at most ${limit} is read (split it, or use selectors instead of listing every repository)`
          : `more than ${limit} came from this pipe or device, and at most ${limit} of a manifest is read: is this the right file? A real manifest is a few KiB (split a large one, or use selectors instead of listing every repository)`,
      );
    }
    const code = (e as { code?: string }).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
    throw fileProblem(`cannot read ${opts.what ?? "the manifest"}: ${why} (${hint})`);
  }
  const text = textOf(bytes);
  if (text === undefined)
    throw fileProblem("not a text file: a manifest is YAML text in UTF-8 (is this the right file?)");
  return checkManifest(text, shown);
}

/**
 * Reads a policy file: a manifest holding `version: 1` and `policy:` alone (manifest/policy.ts).
 * Throws a ManifestError listing every problem.
 */
export function loadPolicyFile(file: string, opts: LoadOptions = {}): Layer {
  const m = loadManifest(file, {
    missingHint: "give the policy file's path",
    what: "the policy file",
    ...opts,
  });
  const other = Object.keys(m.at).filter((k) => !["version", "$schema", "policy"].includes(k));
  if (other.length)
    throw manifestError(
      other.map((k) => ({
        loc: m.at[k]!,
        message: `a policy file holds version: 1 and policy: only; ${k} belongs in a manifest`,
      })),
    );
  if (m.policy === undefined)
    throw manifestError([
      {
        loc: { file: m.file, line: 1, col: 1, path: "(top level)" },
        message: "a policy file holds version: 1 and policy: (its rules); this one has no policy:",
      },
    ]);
  return { source: `policy file ${m.file}`, policy: m.policy };
}

/** The file as UTF-8 text, or undefined when it is binary (a NUL byte, or not UTF-8). */
function textOf(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    return undefined;
  }
}
