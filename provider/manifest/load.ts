// loadManifest: bitbucket.yaml -> a typed Manifest, or every problem at once.
//
// 1. YAML is parsed with source positions (the `yaml` package's LineCounter); syntax errors and
//    duplicate keys are reported where they are.
// 2. The JSON Schema (schema/manifest.schema.json, compiled once with ajv) checks shapes; each
//    ajv error is translated into plain words at the line and column of the value (or key) it
//    is about, with "did you mean" for unknown keys and values.
// 3. Cross-references: ids are unique, an integration's consumer exists, every entry has a
//    workspace. Duplicates of natural keys are found by expand.ts, here for explicit
//    repository lists, at deploy time for selectors too.
// No network is touched.

import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import * as fs from "fs";
import * as path from "path";
import {
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from "yaml";
import { closeMatches } from "../resources/common";
import schemaJson from "../../schema/manifest.schema.json";

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

export const MANIFEST_ERROR = "BITBUCKET_MANIFEST_ERROR";

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

/** Manifests larger than this are refused before parsing (a real one is a few KiB; 5,000 entries are 650 KiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The problems to print: the first MAX_SHOWN_PROBLEMS, then a line counting the rest. */
export function shownProblems(problems: Problem[]): string[] {
  const lines = problems.slice(0, MAX_SHOWN_PROBLEMS).map(formatProblem);
  const more = problems.length - MAX_SHOWN_PROBLEMS;
  if (more > 0) lines.push(`... and ${more} more problem${more === 1 ? "" : "s"} (fix these first)`);
  return lines;
}

export function manifestError(problems: Problem[]): ManifestError {
  const sorted = [...problems].sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col);
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

// ---- the typed manifest ------------------------------------------------------------------------

export type SecretRef = { fromConfig: string } | { fromEnv: string };
export type Selector = string[] | { project: string } | string;

interface Entry {
  /** Where the entry starts, for messages. */
  loc: Loc;
  /** Where each of its fields' values is. */
  at: Record<string, Loc>;
  /** Its index in its list. */
  index: number;
  workspace: string;
  /** Take over an existing object that differs (see the schema). */
  adopt?: boolean;
  /** Keep the object in Bitbucket when the entry goes (Pulumi's retainOnDelete). */
  retainOnDelete?: boolean;
}

export interface WebhookEntry extends Entry {
  repositories?: Selector;
  /** Stable name in the stack instead of the URL's host and path. */
  name?: string;
  allowHttp?: boolean;
  url: string;
  events: string[];
  description?: string;
  active?: boolean;
  secret?: SecretRef | { generate: true };
  skipCertVerification?: boolean;
}
export interface DeployKeyEntry extends Entry {
  repositories?: Selector;
  project?: string;
  key: string;
  label?: string;
}
export interface SshKeyEntry extends Omit<Entry, "workspace"> {
  user?: string;
  key: string;
  label?: string;
}
export interface PipelineVariableEntry extends Entry {
  repositories?: Selector;
  environment?: string;
  key: string;
  value: string | SecretRef;
  secured?: boolean;
}
export interface PipelineSshKeyPairEntry extends Entry {
  repositories: Selector;
  privateKey: SecretRef;
  publicKey: string;
}
export interface KnownHostEntry extends Entry {
  repositories: Selector;
  hostname: string;
  publicKey: string;
}
export interface OAuthConsumerEntry extends Entry {
  id: string;
  name: string;
  description?: string;
  callbackUrl?: string;
  url?: string;
  private?: boolean;
  scopes: string[];
  key: SecretRef;
  secret: SecretRef;
}
export interface IntegrationEntry extends Entry {
  id: string;
  preset: "platformsh" | "puppet-pipelines" | "shippable" | "ampersand" | "generic";
  consumer?: string;
  repositories?: Selector;
  options?: Record<string, unknown>;
}

export interface Manifest {
  file: string;
  version: 1;
  workspace?: string;
  webhooks: WebhookEntry[];
  deployKeys: DeployKeyEntry[];
  sshKeys: SshKeyEntry[];
  pipelineVariables: PipelineVariableEntry[];
  pipelineSshKeyPairs: PipelineSshKeyPairEntry[];
  knownHosts: KnownHostEntry[];
  oauthConsumers: OAuthConsumerEntry[];
  integrations: IntegrationEntry[];
}

export const KINDS = [
  "webhooks",
  "deployKeys",
  "sshKeys",
  "pipelineVariables",
  "pipelineSshKeyPairs",
  "knownHosts",
  "oauthConsumers",
  "integrations",
] as const;
export type Kind = (typeof KINDS)[number];

// ---- positions -----------------------------------------------------------------------------------

type Segment = string | number;

/** "webhooks[2].url" from ["webhooks", 2, "url"]. */
export const pathText = (segs: Segment[]) =>
  segs.reduce<string>((acc, s) => (typeof s === "number" ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), "") ||
  "(top level)";

class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
    private readonly file: string,
  ) {}

  at(offset: number, segs: Segment[]): Loc {
    const { line, col } = this.lc.linePos(offset);
    return { file: this.file, line, col, path: pathText(segs) };
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
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      const k = pair?.key;
      if (isNode(k) && k.range) return this.at(k.range[0], [...segs, key]);
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
    compiled = ajv.compile(schemaJson);
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

function translate(e: ErrorObject, segs: Segment[], pos: Positions): Problem | undefined {
  const parent = (e.parentSchema ?? {}) as {
    description?: string;
    properties?: Record<string, { description?: string }>;
  };
  const value = e.data;
  const shown =
    typeof value === "string"
      ? `"${value.length > 60 ? `${value.slice(0, 57)}...` : value}"`
      : JSON.stringify(value);
  switch (e.keyword) {
    case "if":
      return undefined; // the "then"/"else" error says what is wrong
    case "required": {
      const missing = String(e.params.missingProperty);
      const what = parent.properties?.[missing]?.description;
      return { loc: pos.value(segs), message: `missing "${missing}"${what ? `: ${what}` : ""}` };
    }
    case "additionalProperties": {
      const key = String(e.params.additionalProperty);
      const close = closeMatches(key, Object.keys(parent.properties ?? {}));
      return {
        loc: pos.key(segs, key),
        message: `unknown key "${key}"${close.length ? `; did you mean "${close[0]}"?` : ""} (keys here: ${Object.keys(parent.properties ?? {}).join(", ")})`,
      };
    }
    case "type":
      if (isSecretSchema(e) && typeof value !== "object") {
        const generate = e.schemaPath.includes("webhookSecret")
          ? ", or { generate: true } for a random one kept in state"
          : "";
        return {
          loc: pos.value(segs),
          message: `a secret cannot be written in the manifest: use { fromConfig: <name> } and run \`pulumi config set --secret <name> <value>\`, or { fromEnv: <NAME> }${generate}`,
        };
      }
      return {
        loc: pos.value(segs),
        message: `must be ${String(e.params.type)
          .split(",")
          .map((t) => TYPE_WORDS[t] ?? t)
          .join(" or ")}, not ${shown}`,
      };
    case "enum": {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const close = closeMatches(String(value), allowed);
      return {
        loc: pos.value(segs),
        message: `${shown} is not allowed here${close.length ? `; did you mean ${close.map((c) => `"${c}"`).join(", ")}?` : allowed.length <= 8 ? ` (one of: ${allowed.join(", ")})` : ""}`,
      };
    }
    case "const":
      return {
        loc: pos.value(segs),
        message: `must be ${JSON.stringify(e.params.allowedValue)}, not ${shown}`,
      };
    case "pattern":
      return {
        loc: pos.value(segs),
        message: `${shown} is not valid: ${parent.description ?? `must match ${e.params.pattern}`}`,
      };
    case "format":
      return {
        loc: pos.value(segs),
        message: `${shown} is not a valid ${e.params.format === "uri" ? "URL" : e.params.format}`,
      };
    case "minItems":
      return { loc: pos.value(segs), message: `must list at least ${e.params.limit}` };
    case "uniqueItems": {
      const list = value as unknown[];
      return {
        loc: pos.value([...segs, e.params.i as number]),
        message: `${JSON.stringify(list[e.params.i as number])} is listed twice`,
      };
    }
    case "minLength":
      return { loc: pos.value(segs), message: "must not be empty" };
    case "minProperties":
    case "maxProperties":
      return {
        loc: pos.value(segs),
        message: isSecretSchema(e)
          ? `give exactly one of ${Object.keys(parent.properties ?? {}).join(", ")}`
          : `must have ${e.keyword === "minProperties" ? "at least" : "at most"} ${e.params.limit} key(s)`,
      };
    default:
      return { loc: pos.value(segs), message: e.message ?? e.keyword };
  }
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

function crossCheck(data: Record<string, unknown>, pos: Positions): Problem[] {
  const problems: Problem[] = [];
  const list = (k: Kind) => (Array.isArray(data[k]) ? (data[k] as Array<Record<string, unknown>>) : []);
  const topWorkspace = typeof data.workspace === "string" ? data.workspace : undefined;

  for (const kind of KINDS) {
    if (kind === "sshKeys") continue;
    list(kind).forEach((e, i) => {
      if (e && typeof e === "object" && e.workspace === undefined && topWorkspace === undefined) {
        problems.push({
          loc: pos.value([kind, i]),
          message: "no workspace: set `workspace:` at the top of the manifest or on this entry",
        });
      }
    });
  }
  for (const kind of ["oauthConsumers", "integrations"] as const) {
    const first = new Map<string, number>();
    list(kind).forEach((e, i) => {
      if (typeof e?.id !== "string") return;
      const before = first.get(e.id);
      if (before === undefined) first.set(e.id, i);
      else
        problems.push({
          loc: pos.value([kind, i, "id"]),
          message: `id "${e.id}" is already used by ${kind}[${before}] (line ${pos.value([kind, before]).line})`,
        });
    });
  }
  const consumerIds = list("oauthConsumers")
    .map((c) => c?.id)
    .filter((x): x is string => typeof x === "string");
  list("integrations").forEach((e, i) => {
    if (typeof e?.consumer !== "string" || consumerIds.includes(e.consumer)) return;
    const close = closeMatches(e.consumer, consumerIds);
    problems.push({
      loc: pos.value(["integrations", i, "consumer"]),
      message: `no OAuth consumer with id "${e.consumer}"${close.length ? `; did you mean "${close[0]}"?` : ""} (declare it under oauthConsumers${consumerIds.length ? `; ids: ${consumerIds.join(", ")}` : ""})`,
    });
  });
  list("deployKeys").forEach((e, i) => {
    if (e?.repositories !== undefined && e?.project !== undefined) {
      problems.push({
        loc: pos.value(["deployKeys", i, "project"]),
        message: "give repositories (repository keys) or project (a project key), not both",
      });
    } else if (e && typeof e === "object" && e.repositories === undefined && e.project === undefined) {
      problems.push({
        loc: pos.value(["deployKeys", i]),
        message: "give repositories (repository keys) or project (a project key)",
      });
    }
  });
  list("pipelineVariables").forEach((e, i) => {
    if (e?.environment !== undefined && e?.repositories === undefined) {
      problems.push({
        loc: pos.value(["pipelineVariables", i, "environment"]),
        message: "environment needs repositories: deployment environments belong to a repository",
      });
    }
  });
  return problems;
}

/** How far one alias may expand (yaml's own guard, kept at its default). */
const MAX_ALIAS_COUNT = 100;

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
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const pos = new Positions(doc, lc, file);
  if (doc.errors.length) {
    throw manifestError(
      doc.errors.map((e) => ({
        loc: pos.at(
          /^Flow (sequence|mapping)/.test(e.message) ? unclosedBracket(text, e.pos[0]) : e.pos[0],
          [],
        ),
        message: `YAML: ${e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "")}`,
      })),
    );
  }
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
        message: /alias/i.test((e as Error).message)
          ? `YAML: aliases here expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias); write the entries out instead`
          : `YAML: ${(e as Error).message.split("\n")[0]}`,
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
  const validate = validator();
  const problems: Problem[] = [];
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      const p = translate(e, segmentsOf(e.instancePath), pos);
      if (p) problems.push(p);
    }
  }
  if (typeof data === "object" && !Array.isArray(data))
    problems.push(...crossCheck(data as Record<string, unknown>, pos));
  if (problems.length) throw manifestError(dedupe(problems));

  const m = data as Record<string, unknown>;
  const withLoc = <T>(kind: Kind): T[] =>
    ((m[kind] as Array<Record<string, unknown>> | undefined) ?? []).map(
      (e, index) =>
        ({
          workspace: m.workspace,
          ...e,
          loc: pos.value([kind, index]),
          at: {
            ...Object.fromEntries(Object.keys(e).map((k) => [k, pos.value([kind, index, k])])),
            ...optionPositions(e.options, (segs) => pos.value([kind, index, "options", ...segs])),
          },
          index,
        }) as T,
    );
  return {
    file,
    version: 1,
    ...(typeof m.workspace === "string" && { workspace: m.workspace }),
    webhooks: withLoc(KINDS[0]),
    deployKeys: withLoc(KINDS[1]),
    sshKeys: withLoc(KINDS[2]),
    pipelineVariables: withLoc(KINDS[3]),
    pipelineSshKeyPairs: withLoc(KINDS[4]),
    knownHosts: withLoc(KINDS[5]),
    oauthConsumers: withLoc(KINDS[6]),
    integrations: withLoc(KINDS[7]),
  };
}

/** How a caller names and finds the manifest, for messages. */
export interface LoadOptions {
  /** Directory paths in messages are relative to. Default: the working directory. */
  relativeTo?: string;
  /** What to do about a missing file, in the caller's terms. */
  missingHint?: string;
}

/** Reads and checks a manifest file. Throws a ManifestError listing every problem. */
export function loadManifest(file: string, opts: LoadOptions = {}): Manifest {
  const shown = path.relative(opts.relativeTo ?? process.cwd(), file) || file;
  const hint = opts.missingHint ?? "set it with `pulumi config set manifest <path>`";
  const fileProblem = (message: string) =>
    manifestError([{ loc: { file: shown, line: 1, col: 1, path: "(file)" }, message }]);
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_MANIFEST_BYTES) {
      throw fileProblem(
        `the manifest is ${(size / 1024 / 1024).toFixed(1)} MiB; at most ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB is read (split it, or use selectors instead of listing every repository)`,
      );
    }
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (isManifestError(e)) throw e;
    const code = (e as { code?: string }).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
    throw fileProblem(`cannot read the manifest: ${why} (${hint})`);
  }
  const text = textOf(bytes);
  if (text === undefined)
    throw fileProblem("not a text file: a manifest is YAML text in UTF-8 (is this the right file?)");
  return parseManifest(text, shown);
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
