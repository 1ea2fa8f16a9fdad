// An audit as people and tools read it: text for a terminal, Markdown for a wiki page or an issue,
// JSON for scripts, SARIF 2.1.0 for tools that collect findings (code-scanning dashboards). Every
// text from Bitbucket (URLs, labels, names, keys) is escaped as plan's reports escape it: it cannot
// forge a line, a heading, a link or a terminal escape.

import * as yaml from "yaml";
import { RULES, type RuleName } from "../policy/rules";
import { FLAVOR_NAME } from "../resources/validate";
import { escapeUnprintable } from "../text";
import type { Audited, AuditResult } from "./audit";
import { code, plain } from "./report";

export type AuditFormat = "text" | "markdown" | "json" | "sarif";
export const AUDIT_FORMATS: readonly AuditFormat[] = ["text", "markdown", "json", "sarif"];

/**
 * The version of `--format json`'s shape (README, "Audit"): raised when a field changes meaning or
 * goes away; new fields may appear in any version.
 */
export const AUDIT_FORMAT_VERSION = 1;

/** What each rule asks, in a line and in full: SARIF's rule descriptions (policy/rules.ts has the rules). */
export const RULE_HELP = {
  "webhooks.https": [
    "Webhook URLs are https",
    "Webhook URLs must be https: a delivery over http travels in plain text. Use an https URL (an entry may opt out with allowHttp: true where the policy allows it).",
  ],
  "webhooks.allowedHosts": [
    "Webhooks deliver to allowed hosts",
    "Webhooks deliver only to the hosts the policy allows (globs). Deliver to an allowed host, or have the policy allow this one.",
  ],
  "webhooks.secretRequired": [
    "Webhooks have a secret",
    "Webhooks have a secret, so deliveries are signed and the receiver can tell them from forgeries. Give the hook a secret.",
  ],
  "webhooks.forbidSkipCertVerification": [
    "Webhooks check certificates",
    "Webhooks check the receiver's certificate: skipping it lets anyone on the path read deliveries. Give the receiver a valid certificate and turn the check back on.",
  ],
  "webhooks.events": [
    "Webhooks deliver allowed events",
    "Webhooks deliver only the events the policy allows, and none it denies. Remove the others from the hook.",
  ],
  "keys.readOnly": [
    "Deploy and access keys are read-only",
    "Deploy and access keys are read-only (Data Center REPO_READ or PROJECT_READ): a key that can push needs a separate reviewed path.",
  ],
  "keys.keyTypes": [
    "SSH keys are of allowed types",
    "SSH keys are of a type the policy allows (for example ssh-ed25519). Make a new key of an allowed type and remove this one.",
  ],
  "keys.minRsaBits": [
    "RSA keys are long enough",
    "RSA keys have at least the number of bits the policy asks for. Make a new key (ssh-keygen -t ed25519) and remove this one.",
  ],
  "pipelineVariables.securedWhenKeyMatches": [
    "Credential-looking variables are secured",
    "Pipeline variables whose key looks like a credential (by default *TOKEN*, *SECRET*, *PASSWORD*, *PRIVATE*, *_KEY) are secured, so their value never shows in logs or settings. Secure it and rotate the value.",
  ],
  "accessTokens.maxExpiryDays": [
    "Access tokens expire",
    "Access tokens expire within the number of days the policy allows. Make a new token that expires sooner and revoke this one.",
  ],
  "accessTokens.permissions": [
    "Access tokens hold allowed permissions",
    "Access tokens hold only the permissions the policy allows. Make a token with fewer permissions and revoke this one.",
  ],
  "oauthConsumers.maxScopes": [
    "OAuth consumers hold allowed scopes",
    "OAuth consumers hold only the scopes the policy allows. Untick the others in the consumer's settings.",
  ],
} satisfies Record<RuleName, [string, string]>;

/** One rule an object breaks, with the object. */
export interface AuditFinding {
  object: string;
  kind: string;
  rule: RuleName;
  level: "error" | "warn";
  /** The subject's field at fault. */
  field: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** The policy layer whose rule it is. */
  source: string;
  /** The manifest entry that would manage the object, under its kind's key; null when none can. */
  entry: Record<string, unknown> | null;
  /** Why no entry can manage it, or what to know before managing it. */
  note?: string;
}

export interface AuditSummary {
  objects: number;
  errors: number;
  warnings: number;
  /** Findings by rule: how many at each level. */
  byRule: Partial<Record<RuleName, { error: number; warn: number }>>;
}

/** Every finding, object by object in the order read. */
export const findingsOf = (r: AuditResult): AuditFinding[] =>
  r.objects.flatMap((o) =>
    o.violations.map((v) => ({
      object: o.what,
      kind: o.kind,
      rule: v.rule,
      level: v.level,
      field: v.field,
      message: v.message,
      source: v.source,
      entry: o.entry ? { [o.kind]: [o.entry] } : null,
      ...(o.unmanageable !== undefined
        ? { note: `no entry can manage it: ${o.unmanageable}` }
        : o.note !== undefined && { note: o.note }),
    })),
  );

/** The totals: objects read, findings by level, and by rule in the order of RULES. */
export function summarizeAudit(r: AuditResult): AuditSummary {
  const findings = findingsOf(r);
  const byRule: AuditSummary["byRule"] = {};
  for (const rule of Object.keys(RULES) as RuleName[]) {
    const of = findings.filter((f) => f.rule === rule);
    if (of.length)
      byRule[rule] = {
        error: of.filter((f) => f.level === "error").length,
        warn: of.filter((f) => f.level === "warn").length,
      };
  }
  const errors = findings.filter((f) => f.level === "error").length;
  return { objects: r.objects.length, errors, warnings: findings.length - errors, byRule };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const repositories = (n: number) => `${n} ${n === 1 ? "repository" : "repositories"}`;

/** `3 errors, 1 warning` or `no findings`. */
function findingsLine(s: AuditSummary): string {
  return s.errors + s.warnings === 0
    ? "no findings"
    : [s.errors ? plural(s.errors, "error") : "", s.warnings ? plural(s.warnings, "warning") : ""]
        .filter(Boolean)
        .join(", ");
}

/** `5 webhooks, 0 deployKeys, ...`: objects read by kind. */
const countsLine = (r: AuditResult) =>
  Object.entries(r.counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");

/** `webhooks.https: 2 errors; ...`. */
const byRuleLines = (s: AuditSummary) =>
  (Object.entries(s.byRule) as Array<[RuleName, { error: number; warn: number }]>).map(
    ([rule, n]) =>
      `${rule}: ${[n.error ? plural(n.error, "error") : "", n.warn ? plural(n.warn, "warning") : ""].filter(Boolean).join(", ")}`,
  );

/** An entry as one line of YAML in flow style: `webhooks: [ { url: https://..., adopt: true } ]`. */
export const entryLine = (entry: Record<string, unknown>): string =>
  yaml.stringify(entry, { collectionStyle: "flow", lineWidth: 0 }).trim();

const header = (r: AuditResult, apiUrl: string) =>
  `bitbucket-iac audit: ${r.target} (${repositories(r.repositories)}) on ${FLAVOR_NAME[r.flavor]} at ${apiUrl}; policy: ${r.policy.join(" + ")}`;

function text(r: AuditResult, apiUrl: string): string {
  const e = escapeUnprintable;
  const s = summarizeAudit(r);
  const lines = [e(header(r, apiUrl)), ""];
  for (const o of withFindings(r)) {
    lines.push(`${o.violations.some((v) => v.level === "error") ? "x" : "!"} ${e(o.what)}`);
    for (const v of o.violations)
      lines.push(
        `    ${v.level === "error" ? "error" : "warning"} ${v.rule}: ${e(v.message)} [${e(v.source)}]`,
      );
    lines.push(
      o.entry
        ? `    managed by: ${e(entryLine({ [o.kind]: [o.entry] }))}`
        : `    no entry can manage it: ${e(o.unmanageable ?? "")}`,
    );
    if (o.note) lines.push(`    note: ${e(o.note)}`);
  }
  if (lines.length > 2) lines.push("");
  lines.push(
    `Findings: ${findingsLine(s)}${byRuleLines(s).length ? ` (${byRuleLines(s).join("; ")})` : ""}.`,
  );
  lines.push(`Read: ${countsLine(r)}.`);
  for (const n of r.notAudited)
    lines.push(`Not audited on ${FLAVOR_NAME[r.flavor]}: ${n.kind}: ${e(n.why)}.`);
  for (const n of r.notes) lines.push(`Not read: ${e(n)}.`);
  return lines.join("\n");
}

const withFindings = (r: AuditResult): Audited[] => r.objects.filter((o) => o.violations.length > 0);

/**
 * Inline code of a whole entry (report.ts's `code` cuts long values; an entry is copied, so it is
 * never cut): one line, no backtick (shown as '), every unprintable character escaped.
 */
const whole = (s: string) => "`" + (escapeUnprintable(s).replace(/`/g, "'") || " ") + "`";

/** The marker of an audit's Markdown (a wiki page or issue body a scheduled run updates). */
export const AUDIT_MARKER = "<!-- bitbucket-iac audit -->";

function markdown(r: AuditResult, apiUrl: string): string {
  const s = summarizeAudit(r);
  const lines = [
    AUDIT_MARKER,
    `### bitbucket-iac audit: ${findingsLine(s)}`,
    "",
    `${plain(r.target)} on ${FLAVOR_NAME[r.flavor]} at ${code(apiUrl)}: ${repositories(r.repositories)} read; policy: ${r.policy.map(code).join(" + ")}.`,
    "",
    `**Read:** ${plain(countsLine(r))}.`,
  ];
  if (byRuleLines(s).length) lines.push("", "**By rule:**", ...byRuleLines(s).map((l) => `- ${plain(l)}`));
  const found = withFindings(r);
  if (found.length)
    lines.push("", `#### Findings (${found.length} object${found.length === 1 ? "" : "s"})`, "");
  for (const o of found) {
    lines.push(`- ${plain(o.what)}`);
    for (const v of o.violations)
      lines.push(
        `  - **${v.level === "error" ? "error" : "warning"}** ${code(v.rule)}: ${plain(`${v.message} [${v.source}]`)}`,
      );
    lines.push(
      o.entry
        ? `  - managed by: ${whole(entryLine({ [o.kind]: [o.entry] }))}`
        : `  - no entry can manage it: ${plain(o.unmanageable ?? "")}`,
    );
    if (o.note) lines.push(`  - note: ${plain(o.note)}`);
  }
  if (r.notAudited.length)
    lines.push(
      "",
      `**Not audited on ${FLAVOR_NAME[r.flavor]}:**`,
      ...r.notAudited.map((n) => `- ${code(n.kind)}: ${plain(n.why)}`),
    );
  if (r.notes.length) lines.push("", "**Not read:**", ...r.notes.map((n) => `- ${plain(n)}`));
  return lines.join("\n");
}

function json(r: AuditResult, apiUrl: string): string {
  return JSON.stringify(
    {
      formatVersion: AUDIT_FORMAT_VERSION,
      flavor: r.flavor,
      target: r.target,
      apiUrl,
      policy: r.policy,
      summary: { ...summarizeAudit(r), repositories: r.repositories, byKind: r.counts },
      findings: findingsOf(r),
      notAudited: r.notAudited,
      notes: r.notes,
      configKeys: r.configKeys,
    },
    null,
    2,
  );
}

/** SARIF's name for our levels. */
const SARIF_LEVEL = { error: "error", warn: "warning" } as const;

/**
 * SARIF 2.1.0 (OASIS): one run whose driver lists every rule, one result per finding. A live
 * object has no file: its location is logical, the object as the report names it.
 */
function sarif(r: AuditResult, apiUrl: string, version: string): string {
  const names = Object.keys(RULES) as RuleName[];
  return JSON.stringify(
    {
      $schema: "https://json.schemastore.org/sarif-2.1.0.json",
      version: "2.1.0",
      runs: [
        {
          tool: {
            driver: {
              name: "bitbucket-iac",
              version,
              informationUri: "https://www.npmjs.com/package/bitbucket-iac",
              rules: names.map((id) => ({
                id,
                name: id.replace(/\.(.)/, (_, c: string) => c.toUpperCase()),
                shortDescription: { text: RULE_HELP[id][0] },
                fullDescription: { text: RULE_HELP[id][1] },
                help: { text: RULE_HELP[id][1] },
                defaultConfiguration: { level: "error" },
              })),
            },
          },
          automationDetails: { id: `bitbucket-iac/audit/${r.target}` },
          results: findingsOf(r).map((f) => ({
            ruleId: f.rule,
            ruleIndex: names.indexOf(f.rule),
            level: SARIF_LEVEL[f.level],
            message: { text: f.message },
            locations: [
              {
                logicalLocations: [
                  { name: f.object, fullyQualifiedName: `${r.target}: ${f.object}`, kind: "resource" },
                ],
              },
            ],
            properties: {
              kind: f.kind,
              field: f.field,
              source: f.source,
              entry: f.entry,
              ...(f.note && { note: f.note }),
            },
          })),
        },
      ],
    },
    null,
    2,
  );
}

/** The audit in `format`. */
export function renderAudit(r: AuditResult, format: AuditFormat, apiUrl: string, version: string): string {
  switch (format) {
    case "markdown":
      return markdown(r, apiUrl);
    case "json":
      return json(r, apiUrl);
    case "sarif":
      return sarif(r, apiUrl, version);
    default:
      return text(r, apiUrl);
  }
}
