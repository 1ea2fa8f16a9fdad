// A plan as people and programs read it: text for a terminal, Markdown for a pull request
// comment, JSON for tools. Sorted by action then resource name, so a plan diffs cleanly between
// runs; unchanged resources are counted, not listed (JSON lists every one).

import { verified } from "../kinds";
import { escapeUnprintable } from "../text";
import { isChange, type Action, type FieldChange, type Planned } from "./plan";

export type Format = "text" | "markdown" | "json";
export const FORMATS: readonly Format[] = ["text", "markdown", "json"];

/** The marker that finds the plan's pull request comment again. */
export const COMMENT_MARKER = "<!-- bitbucket-iac plan -->";

export interface PlanReport {
  manifest: string;
  apiUrl: string;
  /** The state file given with --state, if any. */
  state?: string;
  planned: Planned[];
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
  [...planned].sort(
    (a, b) => ORDER.indexOf(a.action) - ORDER.indexOf(b.action) || a.name.localeCompare(b.name),
  );

/** Listed: every change (conflicts included) and every error; the rest is counted. */
const listed = (planned: Planned[]) => sorted(planned).filter((p) => p.error || isChange(p));

const fieldText = (c: FieldChange, action: Action) =>
  c.writeOnly
    ? `${c.field}: (write-only)`
    : action === "create" || c.from === undefined
      ? `${c.field}: ${c.to}`
      : `${c.field}: ${c.from} -> ${c.to}`;

function text(r: PlanReport): string {
  const lines = [header(r), ""];
  for (const p of listed(r.planned)) {
    const label = p.error ? "error" : p.action;
    lines.push(`${p.error ? "x" : SIGN[p.action]} ${label.padEnd(8)} ${p.what}`);
    lines.push(`    resource: ${p.type} ${p.name}`);
    for (const c of p.changes) lines.push(`    ${fieldText(c, p.action)}`);
    if (p.note) lines.push(`    ${p.note}`);
    if (p.error) lines.push(`    ${p.error}`);
  }
  if (lines.length > 2) lines.push("");
  lines.push(summaryLine(summarize(r.planned)));
  return lines.join("\n");
}

function header(r: PlanReport): string {
  return `bitbucket-iac plan: ${r.manifest} against ${r.apiUrl} (${r.state ? `stack state from ${r.state}` : "no --state: planned as for a new stack"})`;
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
  const cut = [...shown];
  return cut.length > MAX_SHOWN_VALUE
    ? `${cut.slice(0, MAX_SHOWN_VALUE - 1).join("")}… (${cut.length} characters)`
    : shown;
}

/**
 * Inline code that stays inline code, whatever the value (never a secret): one line, no backtick
 * (it would end the span; shown as '), never empty (an empty span is no span).
 */
const code = (s: string) => "`" + (oneLine(s).replace(/`/g, "'") || " ") + "`";

/** Text Markdown shows as it is: one line, every character that can start markup escaped. */
const plain = (s: string) => oneLine(s).replace(/[\\`*_[\]<>!|~&#]/g, (c) => `\\${c}`);

function markdown(r: PlanReport): string {
  const s = summarize(r.planned);
  const lines = [
    COMMENT_MARKER,
    `### bitbucket-iac plan: ${s.changes === 0 && !s.errors ? "no changes" : `${s.changes} change${s.changes === 1 ? "" : "s"}`}${s.errors ? `, ${s.errors} error${s.errors === 1 ? "" : "s"}` : ""}`,
    "",
    `${code(r.manifest)} against ${code(r.apiUrl)}, ${r.state ? "with the stack's state" : "planned as for a new stack (no `--state`)"}.`,
    "",
  ];
  const items = listed(r.planned);
  for (const p of items) {
    const label = p.error ? "error" : p.action;
    lines.push(`- **${label}** ${plain(p.what)}  `);
    lines.push(`  ${code(`${p.type} ${p.name}`)}`);
    for (const c of p.changes) {
      lines.push(
        c.writeOnly
          ? `  - ${c.field}: _(write-only)_`
          : p.action === "create" || c.from === undefined
            ? `  - ${c.field}: ${code(c.to ?? "")}`
            : `  - ${c.field}: ${code(c.from)} → ${code(c.to ?? "")}`,
      );
    }
    if (p.note) lines.push(`  - _${plain(p.note)}_`);
    if (p.error) lines.push(`  - ${code(p.error)}`);
  }
  if (items.length) lines.push("");
  lines.push(`**${summaryLine(s)}**`);
  return lines.join("\n");
}

function json(r: PlanReport): string {
  return JSON.stringify(
    {
      manifest: r.manifest,
      apiUrl: r.apiUrl,
      state: r.state ?? null,
      summary: summarize(r.planned),
      resources: sorted(r.planned),
    },
    null,
    2,
  );
}

export function render(r: PlanReport, format: Format): string {
  return format === "json" ? json(r) : format === "markdown" ? markdown(r) : text(r);
}
