// Data Center Code Insights (spec 9.2, "Builds and Deployments"): a report per commit and key (at
// most 50 characters: mc1arke/sonarqube-community-branch-plugin#897), PUT to create or replace
// (only by its author), with at most 6 data fields, a title and reporter of at most 450 characters
// and details of at most 2000; annotations posted in bulk ({annotations: [...]}, 204), a message of
// at most 2000 characters, at most 1000 per report (the whole request is refused past it), and no
// de-duplication: a rerun that posts again without deleting holds every annotation twice. DELETE
// .../annotations removes them all (or those whose externalId is given). REPO_READ, else 401.

import type { Ctx, Reply, Route } from "../../server";
import { braced } from "../../store";
import { dcError, dcRepoOf } from "../../dc";
import { MAX_ANNOTATIONS, type StoredAnnotation, type StoredReport } from "../../insights";
import { body, isReply } from "../common";

const MAX_KEY = 50;
const MAX_TITLE = 450;
const MAX_DETAILS = 2000;
const MAX_DATA = 6;
const MAX_MESSAGE = 2000;
const MAX_EXTERNAL_ID = 450;
const DATA_TYPES = ["BOOLEAN", "DATE", "DURATION", "LINK", "NUMBER", "PERCENTAGE", "TEXT"];

interface Where {
  /** `PROJ/repo`, the report store's name for it. */
  name: string;
  commit: string;
  key: string;
}

function whereOf(ctx: Ctx, status: number): Where | Reply {
  const r = dcRepoOf(ctx);
  if (isReply(r)) return r;
  const commit = ctx.params.commitId ?? "";
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(commit))
    return dcError(status, `"${commit}" is not a valid commit hash: give the full 40 character hash.`);
  return { name: `${r.project.key}/${r.repo.slug}`, commit, key: ctx.params.key ?? "" };
}

const me = (ctx: Ctx) => ctx.credential?.dcUser ?? "me";
const stored = (ctx: Ctx, w: Where) => ctx.store.insights.get("datacenter", w.name, w.commit, w.key);
const noReport = (w: Where) => dcError(404, `No report with key ${w.key} exists on commit ${w.commit}.`);
const notAuthor = () =>
  dcError(401, "You are not permitted to change this report: only the user who created it may.");

const render = (r: StoredReport) => ({ ...r.fields, key: r.key, createdDate: r.created });

const renderAnnotation = (r: StoredReport, a: StoredAnnotation) => ({ ...a.fields, reportKey: r.key });

/** The report body's problems (400, with the field as context). */
function reportProblem(b: Record<string, unknown>, key: string): Reply | undefined {
  if (key.length > MAX_KEY)
    return dcError(400, `The field 'key' cannot be more than ${MAX_KEY} characters long`, "key");
  if (typeof b.title !== "string" || b.title === "")
    return dcError(400, "A report title is required.", "title");
  if (b.title.length > MAX_TITLE)
    return dcError(400, `The title is longer than ${MAX_TITLE} characters.`, "title");
  if (b.details !== undefined && (typeof b.details !== "string" || b.details.length > MAX_DETAILS))
    return dcError(400, `The details must be text of at most ${MAX_DETAILS} characters.`, "details");
  if (b.reporter !== undefined && (typeof b.reporter !== "string" || b.reporter.length > MAX_TITLE))
    return dcError(400, `The reporter must be text of at most ${MAX_TITLE} characters.`, "reporter");
  if (b.result !== undefined && b.result !== "PASS" && b.result !== "FAIL")
    return dcError(400, "The result must be PASS or FAIL.", "result");
  if (!Array.isArray(b.data) || b.data.length > MAX_DATA)
    return dcError(400, `The data must be a list of at most ${MAX_DATA} fields.`, "data");
  for (const d of b.data as Array<Record<string, unknown>>) {
    if (d?.type !== undefined && !DATA_TYPES.includes(String(d.type)))
      return dcError(400, `The data field type ${String(d.type)} is not supported.`, "data");
    if (d?.type === "NUMBER" && typeof d.value !== "number")
      return dcError(400, "A NUMBER data field takes a number.", "data");
  }
  return undefined;
}

function put(ctx: Ctx): Reply {
  const w = whereOf(ctx, 400);
  if (isReply(w)) return w;
  const b = body(ctx);
  const problem = reportProblem(b, w.key);
  if (problem) return problem;
  const before = stored(ctx, w);
  if (before && before.author !== me(ctx)) return notAuthor();
  const { key: _k, createdDate: _c, ...fields } = b;
  const now = ctx.store.now();
  const r: StoredReport = before
    ? { ...before, fields, updated: now }
    : { key: w.key, uuid: braced(), fields, author: me(ctx), created: now, updated: now, annotations: [] };
  ctx.store.insights.set("datacenter", w.name, w.commit, r);
  return { status: 200, body: render(r) };
}

function get(ctx: Ctx): Reply {
  const w = whereOf(ctx, 404);
  if (isReply(w)) return w;
  const r = stored(ctx, w);
  return r ? { status: 200, body: render(r) } : noReport(w);
}

function remove(ctx: Ctx): Reply {
  const w = whereOf(ctx, 404);
  if (isReply(w)) return w;
  const r = stored(ctx, w);
  if (!r) return noReport(w);
  if (r.author !== me(ctx)) return notAuthor();
  ctx.store.insights.delete("datacenter", w.name, w.commit, w.key);
  return { status: 204 };
}

/** One annotation's problems (400). */
function annotationProblem(a: Record<string, unknown>): Reply | undefined {
  if (typeof a.message !== "string" || a.message === "")
    return dcError(400, "An annotation message is required.", "message");
  if (a.message.length > MAX_MESSAGE)
    return dcError(400, `An annotation message holds at most ${MAX_MESSAGE} characters.`, "message");
  if (a.severity !== "LOW" && a.severity !== "MEDIUM" && a.severity !== "HIGH")
    return dcError(400, "The severity must be LOW, MEDIUM or HIGH.", "severity");
  if (a.type !== undefined && !["VULNERABILITY", "CODE_SMELL", "BUG"].includes(String(a.type)))
    return dcError(400, "The type must be VULNERABILITY, CODE_SMELL or BUG.", "type");
  if (
    a.externalId !== undefined &&
    (typeof a.externalId !== "string" || a.externalId.length >= MAX_EXTERNAL_ID)
  )
    return dcError(400, `An externalId is text shorter than ${MAX_EXTERNAL_ID} characters.`, "externalId");
  if (a.line !== undefined && !(Number.isInteger(a.line) && (a.line as number) >= 0))
    return dcError(400, "The line must be a non-negative integer.", "line");
  return undefined;
}

function postAnnotations(ctx: Ctx): Reply {
  const w = whereOf(ctx, 404);
  if (isReply(w)) return w;
  const r = stored(ctx, w);
  if (!r) return noReport(w);
  if (r.author !== me(ctx)) return notAuthor();
  const list = body(ctx).annotations;
  if (!Array.isArray(list) || list.length === 0)
    return dcError(400, "The request must hold a list of annotations.", "annotations");
  for (const a of list) {
    const problem = annotationProblem((a ?? {}) as Record<string, unknown>);
    if (problem) return problem;
  }
  if (r.annotations.length + list.length > MAX_ANNOTATIONS)
    return dcError(400, `A report holds at most ${MAX_ANNOTATIONS} annotations; none of these were added.`);
  const now = new Date(ctx.store.now()).toISOString();
  for (const a of list as Array<Record<string, unknown>>) {
    const externalId = typeof a.externalId === "string" ? a.externalId : undefined;
    r.annotations.push({
      ...(externalId !== undefined && { externalId }),
      uuid: braced(),
      fields: a,
      created: now,
      updated: now,
    });
  }
  return { status: 204 };
}

function listAnnotations(ctx: Ctx): Reply {
  const w = whereOf(ctx, 404);
  if (isReply(w)) return w;
  const r = stored(ctx, w);
  return r
    ? { status: 200, body: { annotations: r.annotations.map((a) => renderAnnotation(r, a)) } }
    : noReport(w);
}

function deleteAnnotations(ctx: Ctx): Reply {
  const w = whereOf(ctx, 404);
  if (isReply(w)) return w;
  const r = stored(ctx, w);
  if (!r) return noReport(w);
  if (r.author !== me(ctx)) return notAuthor();
  const ids = ctx.query.getAll("externalId");
  r.annotations = ids.length ? r.annotations.filter((a) => !ids.includes(a.externalId ?? "")) : [];
  return { status: 204 };
}

const REPORT =
  "/rest/insights/latest/projects/:projectKey/repos/:repositorySlug/commits/:commitId/reports/:key";
const permission = () => "REPO_READ" as const;

export const dcInsightsRoutes: Route[] = [
  { method: "GET", path: REPORT, permission, handle: get },
  { method: "PUT", path: REPORT, permission, handle: put },
  { method: "DELETE", path: REPORT, permission, handle: remove },
  { method: "GET", path: `${REPORT}/annotations`, permission, handle: listAnnotations },
  { method: "POST", path: `${REPORT}/annotations`, permission, handle: postAnnotations },
  { method: "DELETE", path: `${REPORT}/annotations`, permission, handle: deleteAnnotations },
];
