// Code Insights reports on a commit, and their annotations (Cloud spec `report`,
// `report_annotation`): a report is addressed by its uuid or the external id in its path; PUT
// creates or replaces its fields and keeps its annotations (a rerun that wants fresh ones deletes
// the report first); DELETE takes its annotations with it. Annotations are posted in bulk, at most
// 100 per request and 1000 per report, created or updated by `external_id`; a summary holds at
// most 450 characters (reviewdog/reviewdog#1285). Every call needs the `repository` scope (the
// spec's security entry, reads and writes alike). Data values are checked against their `type`.

import { error, page, type Ctx, type Reply, type Route } from "../server";
import { braced, ME, type Repo, type Workspace } from "../store";
import { MAX_ANNOTATIONS, type StoredAnnotation, type StoredReport } from "../insights";
import { body, isReply, repoOf } from "./common";

const REPORT_TYPES = ["SECURITY", "COVERAGE", "TEST", "BUG"];
const RESULTS = ["PASSED", "FAILED", "PENDING"];
const ANNOTATION_TYPES = ["VULNERABILITY", "CODE_SMELL", "BUG"];
const ANNOTATION_RESULTS = ["PASSED", "FAILED", "SKIPPED", "IGNORED"];
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
/** What each data `type` takes (the PUT's "Data field formats" table). */
const VALUE_TYPES: Record<string, (v: unknown) => boolean> = {
  BOOLEAN: (v) => typeof v === "boolean",
  DATE: (v) => typeof v === "number",
  DURATION: (v) => typeof v === "number",
  NUMBER: (v) => typeof v === "number",
  PERCENTAGE: (v) => typeof v === "number" && v >= 0 && v <= 100,
  TEXT: (v) => typeof v === "string",
  LINK: (v) => typeof v === "object" && v !== null && typeof (v as { href?: unknown }).href === "string",
};
const MAX_DATA = 10;
const MAX_PER_REQUEST = 100;
const MAX_SUMMARY = 450;

interface Where {
  ws: Workspace;
  repo: Repo;
  /** `ws/repo`, the report store's name for it. */
  name: string;
  commit: string;
}

function whereOf(ctx: Ctx): Where | Reply {
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  const commit = ctx.params.commit ?? "";
  if (!/^[0-9a-f]{7,64}$/i.test(commit)) return error(404, `Commit not found: ${commit}`);
  return { ...r, name: `${r.ws.slug}/${r.repo.slug}`, commit };
}

/** The report a path names, by external id or uuid. */
function reportOf(ctx: Ctx, w: Where): StoredReport | undefined {
  const id = ctx.params.reportId ?? "";
  return (
    ctx.store.insights.get("cloud", w.name, w.commit, id) ??
    ctx.store.insights.all("cloud", w.name, w.commit).find((r) => r.uuid === id.toLowerCase())
  );
}

const badRequest = (field: string, message: string) =>
  error(400, `${field}: ${message}`, { fields: { [field]: [message] } });

const render = (r: StoredReport) => ({
  ...r.fields,
  type: "report",
  uuid: r.uuid,
  external_id: r.key,
  created_on: new Date(r.created).toISOString(),
  updated_on: new Date(r.updated).toISOString(),
});

const renderAnnotation = (a: StoredAnnotation) => ({
  ...a.fields,
  type: "report_annotation",
  uuid: a.uuid,
  external_id: a.externalId,
  created_on: a.created,
  updated_on: a.updated,
});

/** The report body's problems, as Bitbucket answers them (400). */
function reportProblem(b: Record<string, unknown>): Reply | undefined {
  if (typeof b.title !== "string" || b.title.trim() === "")
    return badRequest("title", "This field is required.");
  if (b.details !== undefined && typeof b.details !== "string")
    return badRequest("details", "Must be a string.");
  if (b.report_type !== undefined && !REPORT_TYPES.includes(String(b.report_type)))
    return badRequest("report_type", `Must be one of ${REPORT_TYPES.join(", ")}.`);
  if (b.result !== undefined && !RESULTS.includes(String(b.result)))
    return badRequest("result", `Must be one of ${RESULTS.join(", ")}.`);
  if (b.data === undefined) return undefined;
  if (!Array.isArray(b.data) || b.data.length > MAX_DATA)
    return badRequest("data", `At most ${MAX_DATA} data fields.`);
  for (const d of b.data as Array<Record<string, unknown>>) {
    if (typeof d?.title !== "string") return badRequest("data.title", "This field is required.");
    const check = d.type === undefined ? undefined : VALUE_TYPES[String(d.type)];
    if (d.type !== undefined && !check) return badRequest("data.type", `Unknown type ${String(d.type)}.`);
    if (check && !check(d.value)) return badRequest("data.value", `Not a ${String(d.type)} value.`);
  }
  return undefined;
}

function put(ctx: Ctx): Reply {
  const w = whereOf(ctx);
  if (isReply(w)) return w;
  const b = body(ctx);
  const problem = reportProblem(b);
  if (problem) return problem;
  const { type: _t, uuid: _u, external_id: _e, created_on: _c, updated_on: _o, ...fields } = b;
  const now = Date.now();
  const before = reportOf(ctx, w);
  const r: StoredReport = before
    ? { ...before, fields, updated: now }
    : {
        key: ctx.params.reportId ?? "",
        uuid: braced(),
        fields,
        author: ctx.credential?.account ?? ME.account_id,
        created: now,
        updated: now,
        annotations: [],
      };
  ctx.store.insights.set("cloud", w.name, w.commit, r);
  return { status: 200, body: render(r) };
}

function get(ctx: Ctx): Reply {
  const w = whereOf(ctx);
  if (isReply(w)) return w;
  const r = reportOf(ctx, w);
  return r ? { status: 200, body: render(r) } : error(404, `Report ${ctx.params.reportId} not found.`);
}

function remove(ctx: Ctx): Reply {
  const w = whereOf(ctx);
  if (isReply(w)) return w;
  const r = reportOf(ctx, w);
  if (!r) return error(404, `Report ${ctx.params.reportId} not found.`);
  ctx.store.insights.delete("cloud", w.name, w.commit, r.key);
  return { status: 204 };
}

/** One annotation's problems (400); `index` names it. */
function annotationProblem(a: Record<string, unknown>, index: number): Reply | undefined {
  const at = (f: string) => `annotations[${index}].${f}`;
  if (typeof a.external_id !== "string" || a.external_id === "")
    return badRequest(at("external_id"), "This field is required.");
  if (typeof a.summary !== "string" || a.summary === "")
    return badRequest(at("summary"), "This field is required.");
  if (a.summary.length > MAX_SUMMARY)
    return error(400, `The summary field cannot contain more than ${MAX_SUMMARY} characters.`);
  if (a.annotation_type !== undefined && !ANNOTATION_TYPES.includes(String(a.annotation_type)))
    return badRequest(at("annotation_type"), `Must be one of ${ANNOTATION_TYPES.join(", ")}.`);
  if (a.severity !== undefined && !SEVERITIES.includes(String(a.severity)))
    return badRequest(at("severity"), `Must be one of ${SEVERITIES.join(", ")}.`);
  if (a.result !== undefined && !ANNOTATION_RESULTS.includes(String(a.result)))
    return badRequest(at("result"), `Must be one of ${ANNOTATION_RESULTS.join(", ")}.`);
  if (a.line !== undefined && !(Number.isInteger(a.line) && (a.line as number) >= 1))
    return badRequest(at("line"), "Must be an integer of at least 1.");
  if (a.path !== undefined && typeof a.path !== "string") return badRequest(at("path"), "Must be a string.");
  return undefined;
}

function postAnnotations(ctx: Ctx): Reply {
  const w = whereOf(ctx);
  if (isReply(w)) return w;
  const r = reportOf(ctx, w);
  if (!r) return error(404, `Report ${ctx.params.reportId} not found.`);
  const list = ctx.body;
  if (!Array.isArray(list) || list.length === 0) return error(400, "Expected a list of annotations.");
  if (list.length > MAX_PER_REQUEST)
    return error(400, `Bulk upload supports a maximum of ${MAX_PER_REQUEST} annotations.`);
  for (const [i, a] of list.entries()) {
    const problem = annotationProblem((a ?? {}) as Record<string, unknown>, i);
    if (problem) return problem;
  }
  const items = list as Array<Record<string, unknown>>;
  const fresh = items.filter((a) => !r.annotations.some((x) => x.externalId === a.external_id));
  if (r.annotations.length + new Set(fresh.map((a) => a.external_id)).size > MAX_ANNOTATIONS)
    return error(400, `A report can contain up to ${MAX_ANNOTATIONS} annotations.`);
  const now = new Date().toISOString();
  const stored = items.map((a) => {
    const { type: _t, uuid: _u, external_id, created_on: _c, updated_on: _o, ...fields } = a;
    const before = r.annotations.find((x) => x.externalId === external_id);
    if (before) return Object.assign(before, { fields, updated: now });
    const made: StoredAnnotation = {
      externalId: String(external_id),
      uuid: braced(),
      fields,
      created: now,
      updated: now,
    };
    r.annotations.push(made);
    return made;
  });
  return { status: 200, body: stored.map(renderAnnotation) };
}

function listAnnotations(ctx: Ctx): Reply {
  const w = whereOf(ctx);
  if (isReply(w)) return w;
  const r = reportOf(ctx, w);
  return r
    ? page(ctx, r.annotations.map(renderAnnotation))
    : error(404, `Report ${ctx.params.reportId} not found.`);
}

const REPORT = "/2.0/repositories/:workspace/:repo_slug/commit/:commit/reports/:reportId";
const scopes = () => ["repository"];

export const reportRoutes: Route[] = [
  { method: "GET", path: REPORT, scopes, handle: get },
  { method: "PUT", path: REPORT, scopes, handle: put },
  { method: "DELETE", path: REPORT, scopes, handle: remove },
  { method: "GET", path: `${REPORT}/annotations`, scopes, handle: listAnnotations },
  { method: "POST", path: `${REPORT}/annotations`, scopes, handle: postAnnotations },
];
