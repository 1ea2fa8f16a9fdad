// Pull request comments, the one part of pull requests `plan --comment` uses (Cloud spec
// `pullrequest_comment`): list (paginated, chronological; a deleted comment is not modelled),
// create (201), get and update one (200). Content is Markdown: `content.raw` is required,
// `html` is rendered (here: the raw text escaped). Every operation needs the `pullrequest`
// scope, writes included (the spec's security entry for POST and PUT).

import { error, page, type Ctx, type Reply, type Route } from "../server";
import { ME, type Comment, type PullRequest, type Repo, type Workspace } from "../store";
import { body, isReply, repoOf } from "./common";

function pullRequestOf(ctx: Ctx): { ws: Workspace; repo: Repo; pr: PullRequest } | Reply {
  const r = repoOf(ctx);
  if (isReply(r)) return r;
  const pr = r.repo.pullRequests.get(Number(ctx.params.pull_request_id));
  return pr ? { ...r, pr } : error(404, `Pull request ${ctx.params.pull_request_id} does not exist`);
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function render(ctx: Ctx, where: { ws: Workspace; repo: Repo; pr: PullRequest }, c: Comment) {
  const prPath = `/repositories/${where.ws.slug}/${where.repo.slug}/pullrequests/${where.pr.id}`;
  const author = ctx.store.account(c.author);
  return {
    type: "pullrequest_comment",
    id: c.id,
    created_on: c.created_on,
    updated_on: c.updated_on,
    content: { raw: c.raw, markup: "markdown", html: `<p>${escapeHtml(c.raw)}</p>` },
    user: {
      type: "user",
      uuid: author?.uuid,
      account_id: c.author,
      nickname: author?.nickname,
      display_name: author?.display_name,
    },
    deleted: c.deleted,
    pending: false,
    pullrequest: { type: "pullrequest", id: where.pr.id, title: where.pr.title },
    links: {
      self: { href: `${ctx.origin}/2.0${prPath}/comments/${c.id}` },
      html: {
        href: `${ctx.origin}/${where.ws.slug}/${where.repo.slug}/pull-requests/${where.pr.id}#comment-${c.id}`,
      },
    },
  };
}

/** The most characters a comment holds on Bitbucket Cloud (a longer one answers 400: atlantis#1251). */
export const MAX_COMMENT_CHARACTERS = 32_768;

/** `content.raw` of a request body, or the 400 Bitbucket answers without it or when too long. */
function rawOf(ctx: Ctx): string | Reply {
  const content = body(ctx).content as { raw?: unknown } | undefined;
  if (typeof content?.raw !== "string" || content.raw.trim() === "") {
    return error(400, "content.raw: This field is required.", {
      fields: { "content.raw": ["This field is required."] },
    });
  }
  if ([...content.raw].length > MAX_COMMENT_CHARACTERS) return error(400, "Bad Request");
  return content.raw;
}

function list(ctx: Ctx): Reply {
  const w = pullRequestOf(ctx);
  if (isReply(w)) return w;
  return page(
    ctx,
    w.pr.comments.map((c) => render(ctx, w, c)),
  );
}

function create(ctx: Ctx): Reply {
  const w = pullRequestOf(ctx);
  if (isReply(w)) return w;
  const raw = rawOf(ctx);
  if (isReply(raw)) return raw;
  const now = new Date().toISOString();
  const c: Comment = {
    id: ctx.store.nextCommentId++,
    raw,
    author: ctx.credential?.account ?? ME.account_id,
    created_on: now,
    updated_on: now,
    deleted: false,
  };
  w.pr.comments.push(c);
  const body = render(ctx, w, c);
  return { status: 201, body, headers: { Location: body.links.self.href } };
}

function commentOf(ctx: Ctx) {
  const w = pullRequestOf(ctx);
  if (isReply(w)) return w;
  const c = w.pr.comments.find((x) => x.id === Number(ctx.params.comment_id) && !x.deleted);
  return c ? { w, c } : error(404, `Comment ${ctx.params.comment_id} does not exist`);
}

function get(ctx: Ctx): Reply {
  const x = commentOf(ctx);
  return isReply(x) ? x : { status: 200, body: render(ctx, x.w, x.c) };
}

function update(ctx: Ctx): Reply {
  const x = commentOf(ctx);
  if (isReply(x)) return x;
  if (x.c.author !== (ctx.credential?.account ?? ME.account_id)) {
    return error(403, "You can only edit your own comments.");
  }
  const raw = rawOf(ctx);
  if (isReply(raw)) return raw;
  x.c.raw = raw;
  x.c.updated_on = new Date().toISOString();
  return { status: 200, body: render(ctx, x.w, x.c) };
}

const COMMENTS = "/2.0/repositories/:workspace/:repo_slug/pullrequests/:pull_request_id/comments";
const scopes = () => ["pullrequest"];

export const pullRequestRoutes: Route[] = [
  { method: "GET", path: COMMENTS, scopes, handle: list },
  { method: "POST", path: COMMENTS, scopes, handle: create },
  { method: "GET", path: `${COMMENTS}/:comment_id`, scopes, handle: get },
  { method: "PUT", path: `${COMMENTS}/:comment_id`, scopes, handle: update },
];
