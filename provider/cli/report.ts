// A plan as people and programs read it: text for a terminal, Markdown for a pull request
// comment, JSON for tools. Sorted by action then resource name, so a plan diffs cleanly between
// runs; unchanged resources are counted, not listed (JSON lists every one).

import { createHash } from "crypto";
import { verified } from "../kinds";
import { shown } from "../resources/ownership";
import { byText, escapeUnprintable } from "../text";
import type { Finding } from "../manifest/policy";
import { findingText, locText, policyCounts, policyLine } from "./findings";
import { isChange, type Action, type FieldChange, type Planned } from "./plan";
import { STOPS, windowSaid, type Bill } from "./bill";

export type Format = "text" | "markdown" | "json";
export const FORMATS: readonly Format[] = ["text", "markdown", "json"];

/** The marker that finds the plan's pull request comment again (a plan of the whole manifest). */
export const COMMENT_MARKER = "<!-- bitbucket-iac plan -->";

/** The longest shard id in a marker or report key; a longer one is cut and ends in a hash. */
const SHARD_ID_MAX = 40;

/**
 * A shard's name (`workspace=acme`, `project=PROJ`, `account`) as it goes into a comment marker
 * and a Code Insights report key: lower case (workspace slugs and project keys ignore case), `=`
 * as `-`, only `a-z 0-9 . _ -`, at most SHARD_ID_MAX characters. Any other character, or a longer
 * name, is replaced or cut and the id ends in a hash of the whole name: `workspace-acme`. Shard
 * names as Bitbucket spells them (slugs, project keys) keep every character, so no two share an id.
 */
export function shardId(shard: string): string {
  const name = shard.trim().toLowerCase();
  const id = name.replace("=", "-");
  if (/^[a-z0-9._-]+$/.test(id) && id.length <= SHARD_ID_MAX) return id;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 10);
  const kept = id.replace(/[^a-z0-9._-]/g, "_").slice(0, SHARD_ID_MAX - hash.length - 1);
  return `${kept}-${hash}`;
}

/**
 * The marker of a plan's comment: COMMENT_MARKER for the whole manifest (so comments posted before
 * shards existed are found again), `<!-- bitbucket-iac plan workspace-acme -->` for a shard. No
 * marker contains another, so each shard's run edits its own comment and no other.
 */
export function commentMarker(shard?: string): string {
  return shard === undefined ? COMMENT_MARKER : `<!-- bitbucket-iac plan ${shardId(shard)} -->`;
}

export interface PlanReport {
  manifest: string;
  /** The shard planned (`plan --only`), as the manifest spells it: `workspace=acme`; none for the whole manifest. */
  shard?: string;
  apiUrl: string;
  /** The state file given with --state, if any. */
  state?: string;
  planned: Planned[];
  /** What the declarations break of the policies that apply (manifest/policy.ts). */
  findings?: Finding[];
  /** What `pulumi up` will send for this plan, and the time Bitbucket's rate limit gives it (bill.ts). */
  bill?: Bill;
}

const ORDER: Action[] = ["conflict", "replace", "create", "update", "adopt", "delete", "verify", "nothing"];
const SIGN: Record<Action, string> = {
  create: "+",
  update: "~",
  replace: "±",
  adopt: "<",
  conflict: "!",
  delete: "-",
  verify: "?",
  nothing: "=",
};

export interface Summary {
  create: number;
  update: number;
  /** Replaces: a new object made, the old one deleted. */
  replace: number;
  delete: number;
  /** Adoptions that change something Bitbucket shows. */
  adopt: number;
  conflict: number;
  /** Adoptions of objects as they are (write-only parts re-sent, not compared). */
  adoptAsIs: number;
  unchanged: number;
  /** OAuth consumers pulumi up verifies (plan cannot read them). */
  verify: number;
  /** Other objects plan cannot look up: their natural key is a secret it does not read (a webhook URL from config). */
  unread: number;
  errors: number;
  /** Steps that change Bitbucket or the stack: exit status 2 when any. */
  changes: number;
}

export function summarize(planned: Planned[]): Summary {
  const count = (f: (p: Planned) => boolean) => planned.filter((p) => !p.error && f(p)).length;
  return {
    create: count((p) => p.action === "create"),
    update: count((p) => p.action === "update"),
    replace: count((p) => p.action === "replace"),
    delete: count((p) => p.action === "delete"),
    adopt: count((p) => p.action === "adopt" && isChange(p)),
    conflict: count((p) => p.action === "conflict"),
    adoptAsIs: count((p) => p.action === "adopt" && !isChange(p)),
    unchanged: count((p) => p.action === "nothing"),
    verify: count((p) => p.action === "verify" && verified(p.type) !== undefined),
    unread: count((p) => p.action === "verify" && verified(p.type) === undefined),
    errors: planned.filter((p) => p.error).length,
    changes: count(isChange),
  };
}

/** `Plan: 1 to create, 0 to update, ...` */
export function summaryLine(s: Summary): string {
  const parts = [
    `${s.create} to create`,
    `${s.update} to update`,
    ...(s.replace ? [`${s.replace} to replace`] : []),
    `${s.delete} to delete`,
    `${s.adopt} to adopt with changes`,
  ];
  if (s.conflict) parts.push(`${s.conflict} conflict${s.conflict === 1 ? "" : "s"} (pulumi up would stop)`);
  const quiet = [
    ...(s.adoptAsIs ? [`${s.adoptAsIs} adopted as they are`] : []),
    `${s.unchanged} unchanged`,
    ...(s.verify ? [`${s.verify} OAuth consumer${s.verify === 1 ? "" : "s"} to verify`] : []),
    ...(s.unread ? [`${s.unread} not looked up (a URL from a secret reference)`] : []),
    ...(s.errors ? [`${s.errors} could not be planned`] : []),
  ];
  return `${s.changes === 0 && !s.errors ? "No changes. " : ""}Plan: ${parts.join(", ")}; ${quiet.join(", ")}.`;
}

const sorted = (planned: Planned[]) =>
  [...planned].sort((a, b) => ORDER.indexOf(a.action) - ORDER.indexOf(b.action) || byText(a.name, b.name));

/** Listed: every change (conflicts included) and every error; the rest is counted. */
const listed = (planned: Planned[]) => sorted(planned).filter((p) => p.error || isChange(p));

/**
 * A field's change as `from` and `to` texts (`to` alone on create): values as JSON, a write-only
 * part as `(write-only)`, or, where Bitbucket says whether one is set, `(none)` -> `(generated)`.
 */
export function fieldSides(c: FieldChange, action: Action): { from?: string; to: string } {
  if (c.writeOnly)
    return c.from !== undefined && c.to !== undefined && c.from !== c.to && action !== "create"
      ? { from: `(${c.from})`, to: `(${c.to})` }
      : { to: "(write-only)" };
  return action === "create" || c.from === undefined
    ? { to: shown(c.to) }
    : { from: shown(c.from), to: shown(c.to) };
}

/** `field: from -> to` (or `field: to`) on one line, as text output shows a field's change. */
export const fieldText = (c: FieldChange, action: Action) => {
  const { from, to } = fieldSides(c, action);
  return from === undefined ? `${c.field}: ${to}` : `${c.field}: ${from} -> ${to}`;
};

function text(r: PlanReport): string {
  const lines = [header(r), ""];
  for (const p of listed(r.planned)) {
    const label = p.error ? "error" : p.action;
    // Text from Bitbucket or the manifest reaches a terminal: no control character gets through.
    lines.push(`${p.error ? "x" : SIGN[p.action]} ${label.padEnd(8)} ${escapeUnprintable(p.what)}`);
    lines.push(`    resource: ${p.type} ${escapeUnprintable(p.name)}`);
    for (const c of p.changes) lines.push(`    ${escapeUnprintable(fieldText(c, p.action))}`);
    if (p.note) lines.push(`    ${escapeUnprintable(p.note)}`);
    if (p.error) lines.push(`    ${escapeUnprintable(p.error)}`);
  }
  const findings = r.findings ?? [];
  if (findings.length)
    lines.push(...(lines.length > 2 ? [""] : []), "Policy:", ...findings.map((f) => `  ${findingText(f)}`));
  if (lines.length > 2) lines.push("");
  lines.push(summaryLine(summarize(r.planned)));
  if (findings.length) lines.push(policyLine(findings));
  return lines.join("\n");
}

function header(r: PlanReport): string {
  const shard = r.shard !== undefined ? `, shard ${escapeUnprintable(r.shard)},` : "";
  return `bitbucket-iac plan: ${r.manifest}${shard} against ${r.apiUrl} (${r.state ? `stack state from ${r.state}` : "no --state: planned as for a new stack"})`;
}

/** The most characters of one value a comment shows; longer ones are cut with a mark. */
export const MAX_SHOWN_VALUE = 300;

/**
 * A value on one line, cut to MAX_SHOWN_VALUE: every line break, control and format character
 * (bidirectional overrides, zero-width spaces, line separators) shown as `\n` or `\uXXXX` (text.ts), so no
 * value from Bitbucket or the manifest can end the line, paragraph or list item it is in.
 */
function oneLine(s: string): string {
  const shown = escapeUnprintable(s);
  // Characters never outnumber UTF-16 units: most values are shown whole without counting.
  if (shown.length <= MAX_SHOWN_VALUE) return shown;
  // Every unit but a low surrogate starts a character (a lone surrogate was escaped above).
  let characters = 0;
  for (let i = 0; i < shown.length; i++) {
    const unit = shown.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) characters++;
  }
  if (characters <= MAX_SHOWN_VALUE) return shown;
  let head = "";
  let taken = 0;
  for (const c of shown) {
    if (++taken === MAX_SHOWN_VALUE) break;
    head += c;
  }
  return `${head}… (${characters} characters)`;
}

/**
 * Inline code that stays inline code, whatever the value (never a secret): one line, no backtick
 * (it would end the span; shown as '), never empty (an empty span is no span).
 */
export const code = (s: string) => "`" + (oneLine(s).replace(/`/g, "'") || " ") + "`";

/** Text Markdown shows as it is: one line, every character that can start markup escaped. */
export const plain = (s: string) => oneLine(s).replace(/[\\`*_[\]<>!|~&#]/g, (c) => `\\${c}`);

/** How the Markdown is cut to fit a pull-request comment. */
export interface MarkdownLimit {
  /** The most characters (UTF-16 units, which never undercount) the comment may hold. */
  limit: number;
  /** Where the whole plan is (`--out FILE`), named when details are left out. */
  fullPlan?: string;
}

/**
 * Bitbucket's limits on a comment's text: Cloud holds at most 32,768 characters (issue #21,
 * atlantis#1251); Data Center answers "Please enter a non-empty value less than 32768
 * characters" (jenkinsci/violation-comments-to-stash-plugin#26).
 */
export const COMMENT_LIMIT = { cloud: 32_768, datacenter: 32_767 } as const;

/**
 * The plan as Markdown, summary first: the totals by kind, then every step a reviewer must not
 * miss (conflicts, errors, deletes, replaces, adoptions with changes, write-only parts that change)
 * named one per line, then the details grouped by repository. With a limit, details that do not
 * fit are left out and counted, with where the whole plan is.
 */
function markdown(r: PlanReport, cut?: MarkdownLimit): string {
  const s = summarize(r.planned);
  const findings = r.findings ?? [];
  const policy = policyCounts(findings);
  const head = [
    commentMarker(r.shard),
    `### bitbucket-iac plan${r.shard !== undefined ? ` (shard ${code(r.shard)})` : ""}: ${s.changes === 0 && !s.errors ? "no changes" : `${s.changes} change${s.changes === 1 ? "" : "s"}`}${s.errors ? `, ${s.errors} error${s.errors === 1 ? "" : "s"}` : ""}${policy.errors ? `, ${policy.errors} policy error${policy.errors === 1 ? "" : "s"}` : ""}`,
    "",
    `${code(r.manifest)} against ${code(r.apiUrl)}, ${r.state ? "with the stack's state" : "planned as for a new stack (no `--state`)"}.`,
    "",
    `**${summaryLine(s)}**`,
    ...(findings.length ? ["", `**${policyLine(findings)}**`] : []),
  ];
  const items = listed(r.planned);
  // Room for the line that says what was left out, at its longest (every step left out).
  const footer = leftOut(items.length, cut?.fullPlan).length + 2;
  const bill = r.bill ? ["", billMarkdown(r.bill)].join("\n") : "";
  const budget = new Budget(cut?.limit ?? Infinity, head.join("\n").length + footer + bill.length);
  const totals = totalsByKind(items);
  const attention = items.filter(needsAttention);
  const parts = [head.join("\n")];
  if (findings.length) {
    const line = (f: Finding) =>
      `- **${f.level === "warn" ? "warning" : "error"}** ${code(f.rule)}${f.loc ? ` at ${code(`${locText(f.loc)} ${f.loc.path}`)}` : ""}: ${plain(`${f.message} [${f.source}]`)}`;
    parts.push(budget.take(`**Policy (${findings.length}):**`, findings, line, "findings"));
  }
  // The bill after the findings (a reviewer reads what stops `up` first): short, never cut.
  if (bill) parts.push(bill);
  if (totals.length) parts.push(budget.take("**By kind:**", totals, (t) => t, "kinds"));
  if (attention.length) {
    const line = (p: Planned) => `- **${label(p)}** ${plain(p.what)} (${code(`${p.type} ${p.name}`)})`;
    parts.push(budget.take(`**Needs attention (${attention.length}):**`, attention, line, "steps"));
  }
  let shown = 0;
  for (const [place, group] of byPlace(items)) {
    const fit = budget.fitting(["", `#### ${plain(place)}`], group, detail);
    if (fit.length) parts.push(["", `#### ${plain(place)}`, ...fit].join("\n"));
    shown += fit.length;
    if (fit.length < group.length) break;
  }
  if (shown < items.length) parts.push(`\n${leftOut(items.length - shown, cut?.fullPlan)}`);
  return parts.join("\n");
}

/** The request bill in one paragraph: the requests by method, the listings shared, the window. */
function billMarkdown(b: Bill): string {
  const methods = Object.entries(b.byMethod)
    .map(([m, x]) => `${x.toLocaleString("en-US")} ${m}`)
    .join(", ");
  const reads = b.shared.reduce((x, s) => x + s.readBy, 0);
  return [
    `**Requests:** \`pulumi up\` will send ${b.total.toLocaleString("en-US")}${methods ? ` (${methods})` : ""}: `,
    `${b.shared.length.toLocaleString("en-US")} collections listed once each (${b.sharedRequests.toLocaleString("en-US")} requests) for ${reads.toLocaleString("en-US")} lookups, `,
    `${b.program.requests.toLocaleString("en-US")} of the program's own`,
    b.tokenGrants ? `, ${b.tokenGrants.toLocaleString("en-US")} OAuth token grants` : "",
    b.stops ? ` (${STOPS})` : "",
    `. ${plain(windowSaid(b))}.`,
  ].join("");
}

/** Characters left under a limit: whole lines are taken while they fit. */
class Budget {
  constructor(
    private readonly limit: number,
    private used: number,
  ) {}

  /**
   * A titled list: a blank line, `title`, then the line of each item as far as they fit (the title
   * always); the items that do not fit are counted in a last line. An item's line is made only
   * when it is looked at: a plan of thousands of steps costs what its comment shows.
   */
  take<T>(title: string, items: readonly T[], line: (item: T) => string, what: string): string {
    const kept = ["", title];
    this.used += 1 + title.length + 1;
    for (const [i, item] of items.entries()) {
      const text = line(item);
      if (this.used + text.length + 1 + 80 > this.limit) {
        kept.push(`- … and ${items.length - i} more ${what}, in the full plan`);
        this.used += kept[kept.length - 1]!.length + 1;
        break;
      }
      kept.push(text);
      this.used += text.length + 1;
    }
    return kept.join("\n");
  }

  /** The blocks of `items` that fit after `header` (none when not even the first one does), each made when looked at. */
  fitting<T>(header: string[], items: readonly T[], block: (item: T) => string): string[] {
    const headerSize = header.join("\n").length + 1;
    const fit: string[] = [];
    let size = headerSize;
    for (const item of items) {
      const b = block(item);
      if (this.used + size + b.length + 1 > this.limit) break;
      fit.push(b);
      size += b.length + 1;
    }
    if (fit.length) this.used += size;
    return fit;
  }
}

const label = (p: Planned) => (p.error ? "error" : p.action);

/** A step a reviewer must see by name: it stops `pulumi up`, loses something, or changes a secret. */
const needsAttention = (p: Planned): boolean =>
  Boolean(p.error) ||
  p.action === "conflict" ||
  p.action === "delete" ||
  (p.action as string) === "replace" ||
  (p.action === "adopt" && isChange(p)) ||
  (p.action === "update" && p.changes.some((c) => c.writeOnly && c.from !== undefined && c.from !== c.to));

/** `- Webhook: 3 to create, 1 to delete` for each kind with steps listed. */
function totalsByKind(items: Planned[]): string[] {
  const counts = new Map<string, Map<string, number>>();
  for (const p of items) {
    const byAction = counts.get(p.type) ?? new Map<string, number>();
    byAction.set(label(p), (byAction.get(label(p)) ?? 0) + 1);
    counts.set(p.type, byAction);
  }
  const said: Record<string, string> = { error: "could not be planned", conflict: "in conflict" };
  return [...counts]
    .sort(([a], [b]) => byText(a, b))
    .map(
      ([type, byAction]) =>
        `- ${type}: ${[...byAction].map(([a, n]) => `${n} ${said[a] ?? `to ${a}`}`).join(", ")}`,
    );
}

/** The listed steps grouped by where they are (`acme/api`), places sorted; steps keep their order. */
function byPlace(items: Planned[]): Array<[string, Planned[]]> {
  const groups = new Map<string, Planned[]>();
  for (const p of items) {
    const place = p.place ?? "no longer declared (from the stack's state)";
    const group = groups.get(place);
    if (group) group.push(p);
    else groups.set(place, [p]);
  }
  return [...groups].sort(([a], [b]) => byText(a, b));
}

/** One step with its field changes, note and error, as list items. */
function detail(p: Planned): string {
  const lines = [`- **${label(p)}** ${plain(p.what)}  `, `  ${code(`${p.type} ${p.name}`)}`];
  for (const c of p.changes) {
    const { from, to } = fieldSides(c, p.action);
    const side = (t: string) => (c.writeOnly ? `_${t}_` : code(t));
    lines.push(`  - ${c.field}: ${from === undefined ? side(to) : `${side(from)} → ${side(to)}`}`);
  }
  if (p.note) lines.push(`  - _${plain(p.note)}_`);
  if (p.error) lines.push(`  - ${code(p.error)}`);
  return lines.join("\n");
}

const leftOut = (n: number, fullPlan: string | undefined) =>
  `_${n} more step${n === 1 ? "" : "s"} not shown here (Bitbucket's comment limit): ${
    fullPlan === undefined
      ? "run `bitbucket-iac plan --out plan.md` to keep the full plan as a file"
      : `the full plan is in ${code(fullPlan)}, kept with this build`
  }._`;

/**
 * The version of `--format json`'s shape (README, "Plan as JSON"): raised when a field changes
 * meaning or goes away; new fields may appear in any version.
 */
export const FORMAT_VERSION = 1;

function json(r: PlanReport): string {
  return JSON.stringify(
    {
      formatVersion: FORMAT_VERSION,
      manifest: r.manifest,
      ...(r.shard !== undefined && { shard: r.shard }),
      apiUrl: r.apiUrl,
      state: r.state ?? null,
      summary: summarize(r.planned),
      resources: sorted(r.planned).map(({ requests: _r, ...p }) => p),
      policy: { ...policyCounts(r.findings ?? []), findings: r.findings ?? [] },
      ...(r.bill && { bill: r.bill }),
    },
    null,
    2,
  );
}

/** The plan in `format`; Markdown cut to `cut.limit` characters when given (a comment). */
export function render(r: PlanReport, format: Format, cut?: MarkdownLimit): string {
  return format === "json" ? json(r) : format === "markdown" ? markdown(r, cut) : text(r);
}
