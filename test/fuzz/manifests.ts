// Generated manifests for the fuzz suite: valid ones of both flavors (README's manifest section,
// schema/manifest.schema.json), then mutated as hostile or careless input would be: wrong types,
// huge values, deep nesting, unicode, anchors and aliases (bombs, cycles), duplicate keys, tags,
// and text damage (truncation, stray bytes, tabs, BOM, CRLF).

import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { CLOUD_WEBHOOK_EVENTS, DC_WEBHOOK_EVENTS } from "../../provider/resources/webhook";
import { ed25519 } from "../keys";

type Json = unknown;
type Obj = Record<string, Json>;

// ---- valid manifests ------------------------------------------------------------------------

/** Distinct public keys: each entry that holds a key gets its own (a key twice is a duplicate). */
const KEYS = Array.from({ length: 24 }, (_, i) => ed25519(`fuzz-${i}@example.test`).publicLine);
const keyAt = (i: number) => KEYS[i % KEYS.length]!;

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const DIGITS = "0123456789";
/** `first` then up to `max` characters of `rest` (fc.stringMatching is slow to build per entry). */
const word = (first: string, rest: string, max: number) =>
  fc
    .tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...rest), maxLength: max }))
    .map(([a, b]) => a + b);

const slug = word(LOWER, LOWER + DIGITS + "-", 11);
const projectKey = word(UPPER, UPPER + DIGITS + "_", 7);
const repoList = fc.uniqueArray(slug, { minLength: 1, maxLength: 3 });

/** Any text: astral, control, format characters, the odd lone surrogate. */
export const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "\ud800",
      "a\udfffb",
      "\u202eevil",
      "\ufeff",
      "\u0000",
      "\r\n",
      "\u2028",
      "😀👨‍👩‍👧",
    ),
  },
);
const label = fc.option(anyText, { nil: undefined });
const secretRef = fc.oneof(
  fc.record({ fromConfig: word(LOWER + UPPER, LOWER + UPPER + DIGITS + ":_-", 15) }),
  fc.record({ fromEnv: word(UPPER + "_", UPPER + DIGITS + "_", 15) }),
);
const bool = fc.option(fc.boolean(), { nil: undefined });

/** A unique https URL per entry (two entries with one URL on one repository are a duplicate). */
const urlParts = fc.tuple(
  fc.string({ unit: fc.constantFrom(...(LOWER + DIGITS + "/._~-")), maxLength: 20 }),
  fc.option(fc.tuple(word(LOWER, LOWER, 5), word(DIGITS, LOWER + DIGITS, 7))),
);
const url = (i: number) =>
  urlParts.map(([p, q]) => `https://hooks${i}.example.test/${p}${q ? `?${q[0]}=${q[1]}` : ""}`);

/** Up to `n` entries, each built from its index (so natural keys stay distinct). */
const entries = (n: number, make: (i: number) => fc.Arbitrary<Obj>): fc.Arbitrary<Obj[]> =>
  fc
    .integer({ min: 0, max: n })
    .chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => make(i))).map((xs): Obj[] => xs));

const cloudWebhook = (i: number) =>
  fc.record(
    {
      repositories: fc.oneof(repoList, fc.constant("svc-*"), fc.constant({ project: "SVC" })),
      name: fc.constant(`hook-${i}`),
      url: url(i),
      events: fc.subarray([...CLOUD_WEBHOOK_EVENTS], { minLength: 1 }),
      description: anyText,
      active: fc.boolean(),
      secret: fc.oneof(fc.constant({ generate: true }), secretRef),
      skipCertVerification: fc.boolean(),
      adopt: fc.boolean(),
      retainOnDelete: fc.boolean(),
    },
    { requiredKeys: ["url", "events"] },
  );

const cloudDeployKey = (i: number) =>
  fc
    .record({
      where: fc.oneof(
        repoList.map((r) => ({ repositories: r })),
        projectKey.map((p) => ({ project: p })),
      ),
      label,
      adopt: bool,
    })
    .map(({ where, ...rest }) => ({ ...where, key: keyAt(i), ...rest }));

const sshKey = (i: number, dc: boolean) =>
  fc.record(
    {
      key: fc.constant(keyAt(8 + i)),
      label,
      user: dc ? word(LOWER, LOWER + DIGITS + "-", 8) : fc.constant("{0d4c1b5e-0000-4000-8000-000000000001}"),
      retainOnDelete: fc.boolean(),
    },
    { requiredKeys: ["key"] },
  );

const variable = (i: number) =>
  fc
    .record({
      repositories: fc.option(repoList, { nil: undefined }),
      environment: fc.option(fc.constantFrom("Production", "Staging", "ünïcødé env"), { nil: undefined }),
      value: fc.oneof(
        anyText.map((v) => ({ value: v, secured: false })),
        secretRef.map((v) => ({ value: v })),
      ),
    })
    .map(({ repositories, environment, value }) => ({
      ...(repositories && { repositories }),
      ...(repositories && environment !== undefined && { environment }),
      key: `VAR_${i}`,
      ...value,
    }));

const knownHost = (i: number) =>
  fc.record({
    repositories: repoList,
    hostname: fc.constantFrom(`deploy${i}.example.test`, `[deploy${i}.example.test]:2222`),
    publicKey: fc.constant(keyAt(16 + i)),
  });

const keyPair = fc.record({
  repositories: repoList,
  privateKey: secretRef,
  publicKey: fc.constant(keyAt(20)),
});

/** A valid Bitbucket Cloud manifest (flavor absent or `cloud`). */
export const cloudManifest: fc.Arbitrary<Obj> = fc
  .record({
    flavor: fc.option(fc.constant("cloud"), { nil: undefined }),
    workspace: slug,
    webhooks: entries(4, cloudWebhook),
    deployKeys: entries(3, cloudDeployKey),
    sshKeys: entries(2, (i) => sshKey(i, false)),
    pipelineVariables: entries(3, variable),
    knownHosts: entries(2, knownHost),
    pipelineSshKeyPairs: fc.option(
      keyPair.map((k) => [k]),
      { nil: undefined },
    ),
  })
  .map((m) => manifest(m));

const dcPlace = fc.oneof(
  fc.constant({}),
  projectKey.map((project) => ({ project })),
  fc.uniqueArray(projectKey, { minLength: 1, maxLength: 2 }).map((projects) => ({ projects })),
);

const dcWebhook = (i: number) =>
  fc
    .record(
      {
        place: dcPlace,
        repositories: fc.oneof(repoList, fc.constant("PROJ/svc-*")),
        url: url(i),
        events: fc.subarray([...DC_WEBHOOK_EVENTS], { minLength: 1 }),
        description: anyText.filter((d) => d !== ""),
        active: fc.boolean(),
        secret: fc.oneof(fc.constant({ generate: true }), secretRef),
        skipCertVerification: fc.boolean(),
      },
      { requiredKeys: ["place", "url", "events"] },
    )
    .map(({ place, ...rest }) => ({ ...place, ...rest }));

const dcDeployKey = (i: number) =>
  fc
    .record({
      place: dcPlace,
      repositories: fc.option(repoList, { nil: undefined }),
      label,
      level: fc.constantFrom("READ", "WRITE", "ADMIN"),
    })
    .map(({ place, repositories, label: l, level }) => ({
      ...place,
      ...(repositories && { repositories }),
      key: keyAt(i),
      ...(l !== undefined && { label: l }),
      permission: `${repositories ? "REPO" : "PROJECT"}_${level}`,
    }));

const accessToken = (i: number) =>
  fc
    .record({
      owner: fc.oneof(
        dcPlace,
        repoList.map((repositories) => ({ repositories })),
        word(LOWER, LOWER + DIGITS + "._@-", 8).map((user) => ({ user })),
      ),
      name: anyText.filter((s) => s !== ""),
      levels: fc.subarray(["READ", "WRITE", "ADMIN"], { minLength: 1 }),
      expiryDays: fc.option(fc.integer({ min: 1, max: 3650 }), { nil: undefined }),
      rotate: fc.option(fc.constantFrom("2026-01", "v2"), { nil: undefined }),
    })
    .map(({ owner, name, levels, expiryDays, rotate }) => ({
      ...owner,
      name: `${name} #${i}`,
      permissions: levels.map((l) => `${"repositories" in owner ? "REPO" : "PROJECT"}_${l}`),
      ...(expiryDays !== undefined && { expiryDays }),
      ...(rotate !== undefined && { rotate }),
    }));

/** A valid Bitbucket Data Center manifest (`flavor: datacenter`, entries in projects). */
export const dcManifest: fc.Arbitrary<Obj> = fc
  .record({
    flavor: fc.constant("datacenter"),
    project: fc.option(projectKey, { nil: undefined }),
    webhooks: entries(3, dcWebhook),
    deployKeys: entries(3, dcDeployKey),
    sshKeys: entries(2, (i) => sshKey(i, true)),
    accessTokens: entries(3, accessToken),
  })
  .map((m) => {
    // Every entry needs a project: its own, `projects`, or the top-level one.
    const out = manifest(m);
    if (out.project === undefined) out.project = "PROJ";
    return out;
  });

/** `version: 1` first, empty kinds left out (an empty list is valid too, but says nothing). */
function manifest(m: Obj): Obj {
  const out: Obj = { version: 1 };
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

const ROOT = path.resolve(__dirname, "../..");
/** The example manifests (presets, integrations, consumers): valid texts to start from too. */
export const EXAMPLES = fs
  .readdirSync(path.join(ROOT, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(ROOT, "examples", d.name, "bitbucket.yaml")))
  .map((d) => fs.readFileSync(path.join(ROOT, "examples", d.name, "bitbucket.yaml"), "utf8"));

/** The examples as data, to mutate like generated ones (their integrations' options above all). */
const EXAMPLE_DATA = EXAMPLES.map((text) => parse(text) as Obj);

/** Block YAML (the yaml package's own style) or JSON, which is YAML too. */
export const serialize = (m: Obj, style: "block" | "json"): string =>
  style === "json" ? JSON.stringify(m, null, 2) : stringify(m, { lineWidth: 0 });

/** A valid manifest of either flavor as text. */
export const validText = fc.oneof(
  fc
    .tuple(
      fc.oneof(cloudManifest, dcManifest),
      fc.constantFrom("block", "json") as fc.Arbitrary<"block" | "json">,
    )
    .map(([m, s]) => serialize(m, s)),
  fc.constantFrom(...EXAMPLES),
);

// ---- mutations ------------------------------------------------------------------------------

/** A string of `n` characters built from `unit` repeated (up to a megabyte, cheaply). */
const repeated = (unit: string, n: number) =>
  unit.repeat(Math.ceil(n / Math.max(1, unit.length))).slice(0, n);

/** A huge string: up to ~1 MB. */
const hugeString = fc
  .tuple(
    fc.oneof(fc.constant("x"), fc.string({ unit: "binary", minLength: 1, maxLength: 6 })),
    fc.integer({ min: 1_000, max: 1_000_000 }),
  )
  .map(([u, n]) => repeated(u, n));

/** Strings YAML reads as something else, or that look like structure. */
const trickyString = fc.constantFrom(
  "yes", "no", "on", "~", "null", "0x1F", "0o17", "1e3", ".inf", "-.inf", ".nan", "- x", "a: b", "#x", "&a", "*a",
  "!!str", "%YAML 1.2", "---", "...", "[", "{", "'", '"', "\\", "", " ", "\t", "\n", "\r", "\u0085", "\u00a0",
); // prettier-ignore

/** A value of any type a hostile manifest might put anywhere. */
export const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    1e308,
    -1e308,
    2 ** 64,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    NaN,
    Infinity,
    -Infinity,
    0.1 + 0.2,
  ),
  fc.boolean(),
  fc.constant(null),
  anyText,
  trickyString,
  hugeString,
  fc.constantFrom([], {}, [[]], [{}], { "": "" }),
  fc.array(anyText, { maxLength: 4 }),
  fc.dictionary(
    fc.oneof(anyText, fc.constantFrom("__proto__", "constructor", "toString", "url", "events")),
    fc.oneof(fc.integer(), anyText, fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 })),
    { maxKeys: 3 },
  ),
);

/** A hostile key: unicode, a near miss of a real one, prototype names, huge. */
const hostileKey = fc.oneof(
  anyText,
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "hasOwnProperty",
    "webhook",
    "Webhooks",
    "url ",
    "<<",
    "",
    "0",
    "true",
  ),
  fc.integer({ min: 1, max: 5_000 }).map((n) => repeated("k", n)),
);

/** Text put where a value was: structure no generator above can build. */
const snippet: fc.Arbitrary<string> = fc.oneof(
  // deep nesting: thousands of levels
  fc.integer({ min: 1, max: 5_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`),
  fc.integer({ min: 1, max: 5_000 }).map((d) => `${"{a: ".repeat(d)}1${"}".repeat(d)}`),
  fc.integer({ min: 1, max: 3_000 }).map((d) => `${"[{a: ".repeat(d)}1${"}]".repeat(d)}`),
  fc.integer({ min: 1, max: 5_000 }).map((d) => "[".repeat(d)),
  fc.integer({ min: 1, max: 2_000 }).map((d) => `\n${"- ".repeat(d)}x`),
  fc.integer({ min: 1, max: 64 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`),
  // anchors and aliases
  fc.constantFrom(
    "&s [*s]",
    "&s {a: *s}",
    "&s [x, [y, *s]]",
    "*nope",
    "[&x v, *x, *x]",
    "&y {url: https://h.example.test/a, events: [repo:push]}",
    "[&e [repo:push], *e]",
  ),
  fc.integer({ min: 2, max: 9 }).map((levels) => aliasBomb(levels)),
  fc
    .integer({ min: 100, max: 3_000 })
    .map((n) => `[&r v, ${Array.from({ length: n }, () => "*r").join(", ")}]`),
  fc
    .integer({ min: 10, max: 2_000 })
    .map((n) => `[${Array.from({ length: n }, (_, i) => `&a${i} [*a${Math.max(0, i - 1)}]`).join(", ")}]`),
  // duplicate keys, many keys, many items
  fc.constantFrom("{a: 1, a: 2}", "{url: x, url: y}", "{? [a]: 1, ? [a]: 2}", "{1: a, '1': b, 1: c}"),
  fc
    .integer({ min: 100, max: 8_000 })
    .map((n) => `{${Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join(", ")}}`),
  fc
    .integer({ min: 100, max: 3_000 })
    .map((n) => `{${Array.from({ length: n }, (_, i) => `k: ${i}`).join(", ")}}`),
  fc.integer({ min: 100, max: 8_000 }).map((n) => `[${Array.from({ length: n }, (_, i) => i).join(", ")}]`),
  fc
    .integer({ min: 10, max: 500 })
    .map((n) => `[${Array.from({ length: n }, () => "{url: x, events: [nope]}").join(", ")}]`),
  // tags, merges, directives in the middle, documents
  fc.constantFrom(
    "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1, b: 2]", "!!pairs [a: 1, a: 2]", "!nope x", "!!int x", "!!float .nan",
    "!<tag:yaml.org,2002:str> 1", "!!timestamp 2001-12-14", "!!map [1]", "!!seq {a: 1}", "{<<: {a: 1}}", "!!null x",
    "|\n  literal\n  block", ">-\n  folded", "'quoted ''single'''", "\"\\x00\\u0000\\U0001F600\\e\"", "\n---\nversion: 1",
    "\n...\n", "\n%YAML 1.2\n---\n", "? complex key\n: value",
  ), // prettier-ignore
);

/** `levels` anchors, each a list of ten aliases of the one before: ten to the `levels` values. */
export function aliasBomb(levels: number): string {
  const lists = [`&b0 [${Array(10).fill("x").join(", ")}]`];
  for (let i = 1; i < levels; i++)
    lists.push(
      `&b${i} [${Array(10)
        .fill(`*b${i - 1}`)
        .join(", ")}]`,
    );
  return `[${lists.join(", ")}]`;
}

/** Every path to a value in a JSON-like tree (the root excluded). */
function paths(v: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  const below: Array<[string | number, Json]> = Array.isArray(v)
    ? v.map((x, i) => [i, x])
    : v && typeof v === "object"
      ? Object.entries(v)
      : [];
  for (const [k, x] of below) {
    out.push([...at, k]);
    paths(x, [...at, k], out);
  }
  return out;
}

/** Sets an own property, even one named `__proto__`. */
const put = (o: Obj, k: string, v: Json) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

const SENTINEL = (i: number) => `zzFUZZzz${i}`;

type ObjectMutation =
  | { op: "value"; at: number; value: Json }
  | { op: "snippet"; at: number; text: string }
  | { op: "rename"; at: number; key: string }
  | { op: "delete"; at: number };

const objectMutation: fc.Arbitrary<ObjectMutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("value" as const), at: fc.nat(), value: hostileValue }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("snippet" as const), at: fc.nat(), text: snippet }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("rename" as const), at: fc.nat(), key: hostileKey }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat() }) },
);

/** Applies mutations to a copy of `m`; snippets become sentinels, replaced in the text later. */
function mutateObject(m: Obj, ms: ObjectMutation[]): { tree: Json; snippets: string[] } {
  const tree: Json = structuredClone(m);
  const snippets: string[] = [];
  for (const mu of ms) {
    const all = paths(tree);
    if (all.length === 0) break;
    const p = all[mu.at % all.length]!;
    const parent = p.slice(0, -1).reduce<Json>((o, k) => (o as Record<string | number, Json>)[k], tree);
    const last = p[p.length - 1]!;
    const replace = (v: Json) =>
      Array.isArray(parent) ? (parent[last as number] = v) : put(parent as Obj, String(last), v);
    if (mu.op === "value") replace(mu.value);
    else if (mu.op === "snippet") replace(SENTINEL(snippets.push(mu.text) - 1));
    else if (mu.op === "delete") {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Obj)[String(last)];
    } else if (!Array.isArray(parent)) {
      const o = parent as Obj;
      const v = o[String(last)];
      delete o[String(last)];
      put(o, mu.key, v);
    }
  }
  return { tree, snippets };
}

type TextMutation =
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; text: string }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicateLine"; at: number }
  | { op: "swapLines"; at: number; with: number }
  | { op: "tabs"; at: number }
  | { op: "indent"; at: number; by: number }
  | { op: "crlf" }
  | { op: "cr" }
  | { op: "bom" };

const strayText = fc.oneof(
  fc.constantFrom("[", "]", "{", "}", ":", ",", "- ", "#", "&", "*", "!", "|", ">", "'", '"', "%", "@", "`", "\t", "\r", "\n", "\u0000", "\ufeff", "\u0085", "\\"),
  anyText,
); // prettier-ignore

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: strayText }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant("duplicateLine" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("swapLines" as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant("tabs" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("indent" as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.constant({ op: "crlf" as const }),
  fc.constant({ op: "cr" as const }),
  fc.constant({ op: "bom" as const }),
);

function mutateText(text: string, ms: TextMutation[]): string {
  for (const mu of ms) {
    const lines = text.split("\n");
    const line = (n: number) => n % lines.length;
    switch (mu.op) {
      case "truncate":
        text = text.slice(0, mu.at % (text.length + 1));
        break;
      case "insert": {
        const at = mu.at % (text.length + 1);
        text = text.slice(0, at) + mu.text + text.slice(at);
        break;
      }
      case "delete": {
        const at = mu.at % (text.length + 1);
        text = text.slice(0, at) + text.slice(at + mu.length);
        break;
      }
      case "duplicateLine": {
        const i = line(mu.at);
        lines.splice(i, 0, lines[i]!); // a `key: value` line twice is a duplicate key
        text = lines.join("\n");
        break;
      }
      case "swapLines": {
        const [i, j] = [line(mu.at), line(mu.with)];
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        text = lines.join("\n");
        break;
      }
      case "tabs": {
        const i = line(mu.at);
        lines[i] = lines[i]!.replace(/^ +/, (s) => "\t".repeat(Math.max(1, s.length / 2)));
        text = lines.join("\n");
        break;
      }
      case "indent": {
        const i = line(mu.at);
        lines[i] =
          mu.by >= 0 ? " ".repeat(mu.by) + lines[i] : lines[i]!.replace(new RegExp(`^ {0,${-mu.by}}`), "");
        text = lines.join("\n");
        break;
      }
      case "crlf":
        text = text.replace(/\r?\n/g, "\r\n");
        break;
      case "cr":
        text = text.replace(/\r?\n/g, "\r");
        break;
      case "bom":
        text = `\ufeff${text}`;
        break;
    }
  }
  return text;
}

/** A mutated manifest: a valid one (or an example) changed by 1-3 object and 0-3 text mutations. */
export const mutatedText: fc.Arbitrary<string> = fc
  .record({
    base: fc.oneof(cloudManifest, dcManifest, fc.constantFrom(...EXAMPLE_DATA)),
    style: fc.constantFrom("block", "json") as fc.Arbitrary<"block" | "json">,
    objects: fc.array(objectMutation, { minLength: 1, maxLength: 3 }),
    texts: fc.array(textMutation, { maxLength: 3 }),
  })
  .map(({ base, style, objects, texts }) => {
    const { tree, snippets } = mutateObject(base, objects);
    let text = serialize(tree as Obj, style);
    // A sentinel may be quoted (JSON) or plain (block): the snippet replaces it either way.
    snippets.forEach((s, i) => {
      text = text.replace(new RegExp(`"?${SENTINEL(i)}"?`), () => s);
    });
    return mutateText(text, texts);
  });

/** Every option a preset reads (presets.ts), and a few it does not. */
const OPTION_NAMES = [
  "project", "fetchBranches", "pruneBranches", "buildPullRequests", "buildPullRequestsPostMerge", "username",
  "url", "host", "sshPort", "sshPublicKey", "sshKeyLabel", "webhookUrl", "webhookSecret", "events", "token",
  "integrationName", "read", "write", "scopes", "webhooks", "deployKeys", "variables", "nope",
]; // prettier-ignore

/** An example's integrations with options of any type: what presets read before anything checks it. */
export const hostileOptions: fc.Arbitrary<string> = fc
  .record({
    base: fc.constantFrom(...EXAMPLE_DATA.filter((m) => Array.isArray(m.integrations))),
    at: fc.nat(),
    options: fc.dictionary(fc.constantFrom(...OPTION_NAMES), hostileValue, { minKeys: 1, maxKeys: 4 }),
    keep: fc.boolean(),
    style: fc.constantFrom("block", "json") as fc.Arbitrary<"block" | "json">,
  })
  .map(({ base, at, options, keep, style }) => {
    const m = structuredClone(base);
    const list = m.integrations as Obj[];
    const i = list[at % list.length]!;
    i.options = { ...(keep && (i.options as Obj)), ...options };
    return serialize(m, style);
  });

/** An example manifest damaged as text only. */
export const damagedExample: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...EXAMPLES), fc.array(textMutation, { minLength: 1, maxLength: 4 }))
  .map(([text, ms]) => mutateText(text, ms));

/** Bytes no text editor writes: NUL, invalid UTF-8, a BOM, a cut multi-byte character. */
export const hostileBytes: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof(validText, mutatedText),
    fc.array(
      fc.record({
        at: fc.nat(),
        bytes: fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 8 }),
          fc
            .constantFrom(
              [0xef, 0xbb, 0xbf],
              [0xff, 0xfe],
              [0xc3],
              [0xe2, 0x82],
              [0xf0, 0x9f, 0x98],
              [0xed, 0xa0, 0x80],
              [0x00],
              [0xc0, 0x80],
            )
            .map((b) => Uint8Array.from(b)),
        ),
      }),
      { maxLength: 3 },
    ),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([text, inserts, cut]) => {
    let buf = Buffer.from(text, "utf8");
    for (const { at, bytes } of inserts) {
      const i = at % (buf.length + 1);
      buf = Buffer.concat([buf.subarray(0, i), Buffer.from(bytes), buf.subarray(i)]);
    }
    return cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1));
  });
