// `plan --report`: the plan as a Code Insights report on the commit a pull request's build runs
// for, on either flavor. Bitbucket shows it beside every pull request whose source branch ends at
// that commit, as a merge check: PASSED, or FAILED when `pulumi up` would stop (a conflict, or a
// resource plan could not read: exit status 3). Its data fields count the plan; each change,
// conflict and error is an annotation at the manifest line of the entry that declares it (an
// integration's webhooks, keys and tokens: the integration's line; a delete: the file).
//
// Bitbucket Cloud (bitbucket-cloud.openapi.json; every call needs the `repository` scope):
//   GET    /repositories/{ws}/{repo}/commit/{commit}/reports/bitbucket-iac-plan   404: none yet
//   DELETE .../reports/bitbucket-iac-plan               the last run's, and its annotations with it
//   PUT    .../reports/bitbucket-iac-plan               {title, details, report_type, reporter, result, data}
//   POST   .../reports/bitbucket-iac-plan/annotations   [annotation, ...] at most 100 per request
// A PUT replaces a report's fields, not its annotations: a rerun would keep the last run's (and
// fail past 1000), so the report is deleted first (as reviewdog does: reviewdog/reviewdog#1344).
//
// Bitbucket Data Center 9.2 (bitbucket-datacenter-9.2.openapi.json; REPO_READ, else a 401):
//   PUT    /rest/insights/latest/projects/{p}/repos/{r}/commits/{commit}/reports/bitbucket-iac-plan
//   DELETE .../reports/bitbucket-iac-plan/annotations   every annotation of the report
//   POST   .../reports/bitbucket-iac-plan/annotations   {annotations: [...]}
// The spec: "There is no de-duplication of annotations on Bitbucket so be sure that reruns of
// builds will first delete the report and annotations before creating them"; only the report's
// author may replace it.
//
// Text fields are shown as plain text. Each is one line (text.ts escapes line breaks, control and
// format characters) cut to Bitbucket's limit with a mark: no value from Bitbucket or the manifest
// can add a line, pass for another annotation, or get the report refused for its length.

import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { reportPath } from "../api/cloud";
import { deleteIfExists, getOrUndefined, request } from "../api/client";
import { dcReportPath } from "../api/datacenter";
import { isApiError } from "../api/errors";
import type { Flavor } from "../resources/validate";
import { byText, escapeUnprintable } from "../text";
import type { Finding as PolicyFinding } from "../manifest/policy";
import { policyCounts, policyLine } from "./findings";
import type { Declared } from "./declared";
import { isChange, type Planned } from "./plan";
import { fieldText, shardId, summarize, summaryLine, type PlanReport, type Summary } from "./report";
import { usage } from "./usage";

/** The report's id (Cloud) and key (Data Center): the same on every run, so a rerun replaces it. */
export const REPORT_KEY = "bitbucket-iac-plan";
const TITLE = "bitbucket-iac plan";

/**
 * The report key of a plan: REPORT_KEY for the whole manifest (a rerun replaces the report
 * published before shards existed), `bitbucket-iac-plan-workspace-acme` for a shard, so the
 * shards of one commit publish one report each and a shard's rerun replaces its own. Neither
 * flavor's spec restricts a key; ours keep to `a-z 0-9 . _ -` and 59 characters (report.ts shardId).
 */
export const reportKey = (shard?: string): string =>
  shard === undefined ? REPORT_KEY : `${REPORT_KEY}-${shardId(shard)}`;

/** The report's title: the shard's name beside the tool's. */
const titleOf = (shard?: string): string => (shard === undefined ? TITLE : `${TITLE} (shard ${shard})`);
const REPORTER = "bitbucket-iac";

/** Bitbucket's limits on a report, and where each is written. */
export const INSIGHTS_LIMITS = {
  /** Report title and reporter: Data Center spec, RestSetInsightReportRequest maxLength 450. */
  title: 450,
  /** Report details: Data Center spec (PUT report: "Max length: 2000 characters"). */
  details: 2000,
  /** Annotations a report keeps: Cloud spec (bulk POST: "up to 1000"), Data Center's default. */
  annotationsPerReport: 1000,
  /** Annotations one request carries: Cloud spec maxItems 100; Data Center sets none. */
  annotationsPerRequest: { cloud: 100, datacenter: 1000 },
  /** Cloud annotation summary: "cannot contain more than 450 characters" (reviewdog/reviewdog#1285). */
  summary: 450,
  /** Cloud annotation details: undocumented; Data Center's message limit. */
  annotationDetails: 2000,
  /** Data Center annotation message: spec maxLength 2000. */
  message: 2000,
} as const;

/** Where the report goes: a commit of a repository. */
export interface ReportTarget {
  flavor: Flavor;
  /** Cloud: the workspace; Data Center: the project key. */
  owner: string;
  repository: string;
  /** The full commit hash. */
  commit: string;
}

/** Plan's options that say where. */
export interface ReportOptions {
  report?: boolean;
  commit?: string;
  repository?: string;
}

/** A full commit hash: Data Center takes no other ("a full 40 character commit hash"), nor SHA-256's 64. */
const FULL_HASH = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** A value from the command line or the environment as a message quotes it. */
const quoted = (s: string) => `"${inert(s, 80)}"`;

/**
 * Where `--report` publishes: `--commit` and `--repository`, else BITBUCKET_COMMIT and
 * BITBUCKET_REPO_FULL_NAME (Bitbucket Pipelines sets both; Jenkins or Bamboo users set them or
 * the options). Undefined without `--report`; an error naming what is missing otherwise, before
 * any request.
 */
export function reportTarget(
  o: ReportOptions,
  flavor: Flavor,
  env: NodeJS.ProcessEnv = process.env,
): ReportTarget | undefined {
  if (!o.report) {
    if (o.commit !== undefined) throw usage("--commit names the commit --report publishes on: add --report");
    return undefined;
  }
  const form = flavor === "datacenter" ? "PROJECT/slug" : "WORKSPACE/slug";
  const commit = o.commit ?? env.BITBUCKET_COMMIT ?? "";
  const full = o.repository ?? env.BITBUCKET_REPO_FULL_NAME ?? "";
  const parts = full.split("/");
  const [owner = "", repository = ""] = parts;
  const named = (option: string, variable: string, given: string | undefined) =>
    given !== undefined ? option : env[variable] !== undefined ? variable : `${option} or ${variable}`;
  const missing = [
    ...(FULL_HASH.test(commit)
      ? []
      : [
          `${named("--commit", "BITBUCKET_COMMIT", o.commit)} (${commit === "" ? "unset" : `${quoted(commit)} is not a full commit hash of 40 hexadecimal digits`})`,
        ]),
    ...(parts.length === 2 && owner && repository
      ? []
      : [
          `${named("--repository", "BITBUCKET_REPO_FULL_NAME", o.repository)} (${full === "" ? "unset" : `${quoted(full)} is not ${form}`})`,
        ]),
  ];
  if (missing.length) {
    throw usage(
      `--report publishes the plan on a commit of a repository, and needs ${missing.join(" and ")}: Bitbucket Pipelines sets BITBUCKET_COMMIT and BITBUCKET_REPO_FULL_NAME; elsewhere (Jenkins, Bamboo) give --commit SHA and --repository ${form}`,
      { withHelp: false },
    );
  }
  return { flavor, owner, repository, commit };
}

/**
 * The manifest's path as Bitbucket names files: relative to the repository's root, with `/`. The
 * root is BITBUCKET_CLONE_DIR (Bitbucket Pipelines), else the nearest directory above the manifest
 * holding `.git`, else `cwd`: the first that holds the manifest. Undefined when none does (the
 * annotations then go on the pull request, not a file).
 */
export function pathInRepository(
  manifest: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string | undefined {
  const file = path.resolve(cwd, manifest);
  const roots = [env.BITBUCKET_CLONE_DIR, gitRoot(path.dirname(file)), cwd];
  for (const root of roots) {
    if (!root) continue;
    const rel = path.relative(path.resolve(root), file);
    if (rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)) return rel.split(path.sep).join("/");
  }
  return undefined;
}

/** The nearest directory at or above `dir` holding `.git` (a directory, or a worktree's file). */
function gitRoot(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, ".git"))) return d;
    if (d === path.dirname(d)) return undefined;
  }
}

// ---- the report, the same for both flavors --------------------------------------------------------

export type Severity = "HIGH" | "MEDIUM" | "LOW";

/** One annotation, before either flavor's shape. */
export interface Finding {
  externalId: string;
  severity: Severity;
  /** A conflict or an error: `pulumi up` would stop there. */
  blocking: boolean;
  /** What happens to which object (one line, not yet cut). */
  summary: string;
  /** The resource, its field changes, the note or error (one line, not yet cut). */
  details: string;
  path?: string;
  line?: number;
}

/** The plan as a report. */
export interface Insights {
  /** The report's key (reportKey): one per shard. */
  key: string;
  /** The report's title, naming the shard. */
  title: string;
  /** No conflict and no error: `pulumi up` would not stop. */
  passed: boolean;
  /** One line: the manifest and the plan's summary line. */
  details: string;
  /** The data fields: every total as a NUMBER. */
  totals: Array<[title: string, value: number]>;
  /** At most INSIGHTS_LIMITS.annotationsPerReport, the weightiest first. */
  findings: Finding[];
  /** Changes past that limit, not annotated. */
  omitted: number;
}

/** A planned step and the manifest line of the entry that declares it (none for a delete). */
export type Located = Planned & { line?: number };

/** Each planned step with the line of its declaration (Declared.line). */
export function located(planned: Planned[], declared: Declared[]): Located[] {
  const lines = new Map(declared.map((d) => [`${d.type}::${d.name}`, d.line]));
  return planned.map((p) => {
    const line = p.action === "delete" ? undefined : lines.get(`${p.type}::${p.name}`);
    return line === undefined ? p : { ...p, line };
  });
}

/** How much a step asks of a reviewer: an up that would stop, then what destroys, then the rest. */
const SEVERITY: Record<string, Severity> = {
  error: "HIGH",
  conflict: "HIGH",
  delete: "MEDIUM",
  replace: "MEDIUM",
};
const RANK: Record<Severity, number> = { HIGH: 0, MEDIUM: 1, LOW: 2 };

/**
 * The report of a plan: its result, totals and one finding per change, conflict and error (what
 * the comment lists), at `manifestPath` (relative to the repository) and each entry's line.
 */
export function insightsOf(
  r: PlanReport & { planned: Located[] },
  manifestPath: string | undefined,
): Insights {
  const s = summarize(r.planned);
  const all = [
    ...r.planned.filter((p) => p.error !== undefined || isChange(p)).map((p) => finding(p, manifestPath)),
    ...(r.findings ?? []).map((f) => policyFinding(f, manifestPath)),
  ].sort(
    (a, b) =>
      RANK[a.severity] - RANK[b.severity] ||
      (a.line ?? Infinity) - (b.line ?? Infinity) ||
      byText(a.summary, b.summary),
  );
  const findings = uniqueIds(all.slice(0, INSIGHTS_LIMITS.annotationsPerReport));
  const omitted = all.length - findings.length;
  const how = r.state ? "with the stack's state" : "as for a new stack (no --state)";
  const policy = policyLine(r.findings ?? []);
  return {
    key: reportKey(r.shard),
    title: titleOf(r.shard),
    passed: !s.conflict && !s.errors && policyCounts(r.findings ?? []).errors === 0,
    details: `${r.manifest}${r.shard !== undefined ? `, shard ${r.shard}` : ""}, planned ${how}: ${summaryLine(s)}${policy ? ` ${policy}` : ""}${
      omitted
        ? ` The ${findings.length} weightiest are annotated, ${omitted} more are not (Bitbucket keeps ${INSIGHTS_LIMITS.annotationsPerReport} per report): the plan's own output lists them.`
        : ""
    }`,
    totals: totals(s),
    findings,
    omitted,
  };
}

/** The data fields (Data Center shows at most 6). Adoptions: every object taken over, changed or not. */
const totals = (s: Summary): Array<[string, number]> => [
  ["Creates", s.create],
  ["Updates", s.update],
  ["Deletes", s.delete],
  ["Adoptions", s.adopt + s.adoptAsIs],
  ["Conflicts", s.conflict],
  ["Errors", s.errors],
];

function finding(p: Located, manifestPath: string | undefined): Finding {
  const label = p.error !== undefined ? "error" : p.action;
  const severity = SEVERITY[label] ?? "LOW";
  return {
    externalId: `${REPORT_KEY}-${createHash("sha256").update(`${p.type}\n${p.name}`).digest("hex").slice(0, 24)}`,
    severity,
    blocking: severity === "HIGH",
    summary: `${label} ${p.what}`,
    details: [
      `resource: ${p.type} ${p.name}`,
      ...p.changes.map((c) => fieldText(c, p.action)),
      ...(p.note !== undefined ? [p.note] : []),
      ...(p.error !== undefined ? [p.error] : []),
    ].join("; "),
    ...(manifestPath !== undefined && { path: manifestPath }),
    ...(manifestPath !== undefined && p.line !== undefined && { line: p.line }),
  };
}

/** A policy finding as an annotation: an error blocks (HIGH), a warning is MEDIUM; at its field's line. */
function policyFinding(f: PolicyFinding, manifestPath: string | undefined): Finding {
  return {
    externalId: `${REPORT_KEY}-policy-${createHash("sha256").update(`${f.rule}\n${f.object}\n${f.source}`).digest("hex").slice(0, 24)}`,
    severity: f.level === "error" ? "HIGH" : "MEDIUM",
    blocking: f.level === "error",
    summary: `policy ${f.level === "error" ? "error" : "warning"} ${f.rule}: ${f.message}`,
    details: `resource: ${f.object}; ${f.source}`,
    ...(manifestPath !== undefined && { path: manifestPath }),
    ...(manifestPath !== undefined && f.loc !== undefined && { line: f.loc.line }),
  };
}

/** External ids are unique within a report: a second resource with the same hash gets a suffix. */
function uniqueIds(findings: Finding[]): Finding[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const n = (seen.get(f.externalId) ?? 0) + 1;
    seen.set(f.externalId, n);
    return n === 1 ? f : { ...f, externalId: `${f.externalId}-${n}` };
  });
}

/**
 * Text Bitbucket shows as it is: one line (every line break, control and format character
 * escaped, text.ts), cut to `max` UTF-16 units with a mark saying how long it was.
 */
export function inert(s: string, max: number): string {
  const line = escapeUnprintable(s);
  if (line.length <= max) return line;
  const chars = [...line];
  const mark = `… (${chars.length} characters)`;
  let out = "";
  for (const c of chars) {
    if (out.length + c.length + mark.length > max) break;
    out += c;
  }
  return out + mark;
}

// ---- each flavor's shape ------------------------------------------------------------------------

const data = (ins: Insights) => ins.totals.map(([title, value]) => ({ title, type: "NUMBER", value }));

const cloudReport = (ins: Insights) => ({
  title: inert(ins.title, INSIGHTS_LIMITS.title),
  details: inert(ins.details, INSIGHTS_LIMITS.details),
  report_type: "TEST",
  reporter: REPORTER,
  result: ins.passed ? "PASSED" : "FAILED",
  data: data(ins),
});

const cloudAnnotation = (f: Finding) => ({
  external_id: f.externalId,
  annotation_type: f.blocking ? "BUG" : "CODE_SMELL",
  summary: inert(f.summary, INSIGHTS_LIMITS.summary),
  details: inert(f.details, INSIGHTS_LIMITS.annotationDetails),
  severity: f.severity,
  ...(f.blocking && { result: "FAILED" }),
  ...(f.path !== undefined && { path: f.path }),
  ...(f.line !== undefined && { line: f.line }),
});

const dcReport = (ins: Insights) => ({
  title: inert(ins.title, INSIGHTS_LIMITS.title),
  details: inert(ins.details, INSIGHTS_LIMITS.details),
  reporter: REPORTER,
  result: ins.passed ? "PASS" : "FAIL",
  data: data(ins),
});

const dcAnnotation = (f: Finding) => ({
  externalId: f.externalId,
  message: inert(`${f.summary} - ${f.details}`, INSIGHTS_LIMITS.message),
  severity: f.severity,
  type: f.blocking ? "BUG" : "CODE_SMELL",
  ...(f.path !== undefined && { path: f.path }),
  ...(f.line !== undefined && { line: f.line }),
});

// ---- publishing ---------------------------------------------------------------------------------

export interface Published {
  key: string;
  passed: boolean;
  annotations: number;
  omitted: number;
}

/**
 * `plan --report`: publishes the plan of `manifest` (as given, from `cwd`) on the target commit,
 * and says so in a line.
 */
export async function publishPlan(
  t: ReportTarget,
  r: PlanReport,
  declared: Declared[],
  manifest: string,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const ins = insightsOf(
    { ...r, planned: located(r.planned, declared) },
    pathInRepository(manifest, env, cwd),
  );
  const p = await publishReport(t, ins);
  const more = p.omitted ? `, ${p.omitted} more not annotated` : "";
  return `Code Insights report ${p.key} (${p.passed ? "passed" : "failed"}, ${p.annotations} annotation${p.annotations === 1 ? "" : "s"}${more}) on commit ${t.commit.slice(0, 12)} of ${t.owner}/${t.repository}`;
}

/** Publishes the report on the target commit, replacing the one an earlier run published there. */
export async function publishReport(t: ReportTarget, ins: Insights): Promise<Published> {
  try {
    if (t.flavor === "datacenter") await publishDataCenter(t, ins);
    else await publishCloud(t, ins);
  } catch (e) {
    throw explained(e, t);
  }
  return { key: ins.key, passed: ins.passed, annotations: ins.findings.length, omitted: ins.omitted };
}

async function publishCloud(t: ReportTarget, ins: Insights): Promise<void> {
  const report = reportPath(t.owner, t.repository, t.commit, ins.key);
  if ((await getOrUndefined(report)) !== undefined) await deleteIfExists(report);
  await request("PUT", report, { body: cloudReport(ins) });
  // Created or updated by external id: repeating a lost request is harmless.
  for (const part of chunks(ins.findings.map(cloudAnnotation), INSIGHTS_LIMITS.annotationsPerRequest.cloud))
    await request("POST", `${report}/annotations`, { body: part, idempotent: true });
}

async function publishDataCenter(t: ReportTarget, ins: Insights): Promise<void> {
  const report = dcReportPath(t.owner, t.repository, t.commit, ins.key);
  await request("PUT", report, { body: dcReport(ins) });
  await request("DELETE", `${report}/annotations`);
  for (const part of chunks(ins.findings.map(dcAnnotation), INSIGHTS_LIMITS.annotationsPerRequest.datacenter))
    await request("POST", `${report}/annotations`, { body: { annotations: part } });
}

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** What each flavor asks of the credentials, said when Bitbucket refuses them. */
const NEEDS = {
  cloud:
    "Bitbucket's reports API needs the repository scope on every call: give the token Repositories: Read (an Atlassian API token: read:repository:bitbucket)",
  datacenter:
    "Data Center answers 401 for bad credentials and for a missing permission alike: Code Insights needs REPO_READ on the repository (check BITBUCKET_TOKEN / BITBUCKET_USERNAME+BITBUCKET_API_TOKEN), and only the user who published the report may replace it",
};

/** The error, saying which report failed and, when Bitbucket refused the credentials, what they need. */
function explained(e: unknown, t: ReportTarget): unknown {
  if (typeof e !== "object" || e === null || !("message" in e)) return e;
  const what = `publish the Code Insights report on commit ${t.commit.slice(0, 12)} of ${t.owner}/${t.repository}`;
  const err = e as Error;
  if (isApiError(e) && t.flavor === "cloud" && e.status === 403) err.message += ` - ${NEEDS.cloud}`;
  else if (isApiError(e) && t.flavor === "datacenter" && e.status === 401)
    err.message = `${e.method} ${e.path} failed (401): ${e.apiMessage} - ${NEEDS.datacenter}`;
  err.message = `${what}: ${err.message}`;
  return e;
}
