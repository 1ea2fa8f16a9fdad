// Data Center pull requests, as far as `plan --comment` uses them (spec 9.2 "Pull Requests"): GET
// one pull request; its activities (paged, newest first; each COMMENTED activity carries its
// comment as it is now: the javadoc's PullRequestCommentActivity, absent from the spec's schema);
// general comments: POST (201, version 0), GET one, PUT {text, version} (200, version + 1). Only
// the author may change a comment's text (else 401, how Data Center refuses a permission); a PUT
// whose version is not the comment's current one answers 409 (updateComment_2). Everything needs
// REPO_READ, writes included (the spec's descriptions).

import type { Ctx, Reply, Route } from "../../server";
import {
  dcError,
  dcPage,
  dcRepoOf,
  repoRef,
  userRef,
  type DcComment,
  type DcProject,
  type DcPullRequest,
  type DcRepo,
} from "../../dc";
import { body, isReply } from "../common";

type Where = { project: DcProject; repo: DcRepo; pr: DcPullRequest };

function pullRequestOf(ctx: Ctx): Where | Reply {
  const r = dcRepoOf(ctx);
  if (isReply(r)) return r;
  const pr = r.repo.pullRequests.get(Number(ctx.params.pullRequestId));
  return pr
    ? { ...r, pr }
    : dcError(
        404,
        `Pull request ${ctx.params.pullRequestId} does not exist in ${r.project.key}/${r.repo.slug}.`,
      );
}

/** The slug the request acts as. */
const actor = (ctx: Ctx) => ctx.credential?.dcUser ?? "me";

const renderComment = (ctx: Ctx, c: DcComment) => ({
  id: c.id,
  version: c.version,
  text: c.text,
  author: userRef(ctx.store.dc, c.author),
  createdDate: c.createdDate,
  updatedDate: c.updatedDate,
  comments: [],
  severity: "NORMAL",
  state: "OPEN",
  threadResolved: false,
});

function renderPullRequest(ctx: Ctx, w: Where) {
  const ref = (branch: string) => ({
    id: `refs/heads/${branch}`,
    displayId: branch,
    latestCommit: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    repository: repoRef(w.project, w.repo),
  });
  return {
    id: w.pr.id,
    version: w.pr.version,
    title: w.pr.title,
    state: "OPEN",
    open: true,
    closed: false,
    draft: false,
    locked: false,
    createdDate: w.pr.createdDate,
    updatedDate: w.pr.createdDate,
    fromRef: ref(`feature-${w.pr.id}`),
    toRef: ref("main"),
    reviewers: [],
    participants: [],
    links: {
      self: [
        {
          href: `${ctx.origin}/projects/${w.project.key}/repos/${w.repo.slug}/pull-requests/${w.pr.id}`,
        },
      ],
    },
  };
}

function activities(ctx: Ctx): Reply {
  const w = pullRequestOf(ctx);
  if (isReply(w)) return w;
  return dcPage(
    ctx,
    w.pr.activities.map((a) => {
      const c = a.commentId === undefined ? undefined : w.pr.comments.find((x) => x.id === a.commentId);
      return {
        id: a.id,
        createdDate: a.createdDate,
        user: userRef(ctx.store.dc, a.user),
        action: a.action,
        ...(c && { commentAction: a.commentAction, comment: renderComment(ctx, c) }),
      };
    }),
  );
}

/**
 * The request's `text`, or Data Center's 400 without one or with 32,768 characters or more
 * ("Please enter a non-empty value less than 32768 characters":
 * jenkinsci/violation-comments-to-stash-plugin#26).
 */
function textOf(ctx: Ctx): string | Reply {
  const text = body(ctx).text;
  return typeof text === "string" && text.trim() !== "" && text.length < 32_768
    ? text
    : dcError(400, "Please enter a non-empty value less than 32768 characters", "text");
}

function create(ctx: Ctx): Reply {
  const w = pullRequestOf(ctx);
  if (isReply(w)) return w;
  const text = textOf(ctx);
  if (isReply(text)) return text;
  const c = ctx.store.dc.addComment(w.pr, actor(ctx), text);
  return { status: 201, body: renderComment(ctx, c) };
}

function commentOf(ctx: Ctx): { w: Where; c: DcComment } | Reply {
  const w = pullRequestOf(ctx);
  if (isReply(w)) return w;
  const c = w.pr.comments.find((x) => x.id === Number(ctx.params.commentId));
  return c ? { w, c } : dcError(404, `Comment ${ctx.params.commentId} does not exist.`);
}

function update(ctx: Ctx): Reply {
  const x = commentOf(ctx);
  if (isReply(x)) return x;
  const text = textOf(ctx);
  if (isReply(text)) return text;
  if (x.c.author !== actor(ctx))
    return dcError(401, "You are not permitted to edit the text of another user's comment.");
  if (body(ctx).version !== x.c.version)
    return dcError(
      409,
      `You are attempting to modify a comment based on out-of-date information (version ${String(body(ctx).version)}; it is at ${x.c.version}).`,
    );
  x.c.text = text;
  x.c.version++;
  x.c.updatedDate = Date.now();
  return { status: 200, body: renderComment(ctx, x.c) };
}

const PR = "/rest/api/latest/projects/:projectKey/repos/:repositorySlug/pull-requests/:pullRequestId";
const permission = () => "REPO_READ" as const;

export const dcPullRequestRoutes: Route[] = [
  {
    method: "GET",
    path: PR,
    permission,
    handle: (ctx) => {
      const w = pullRequestOf(ctx);
      return isReply(w) ? w : { status: 200, body: renderPullRequest(ctx, w) };
    },
  },
  { method: "GET", path: `${PR}/activities`, permission, handle: activities },
  { method: "POST", path: `${PR}/comments`, permission, handle: create },
  {
    method: "GET",
    path: `${PR}/comments/:commentId`,
    permission,
    handle: (ctx) => {
      const x = commentOf(ctx);
      return isReply(x) ? x : { status: 200, body: renderComment(ctx, x.c) };
    },
  },
  { method: "PUT", path: `${PR}/comments/:commentId`, permission, handle: update },
];
