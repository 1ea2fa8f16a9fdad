// `plan --comment`: the plan as one comment on a pull request. The comment carries a marker
// (report.ts COMMENT_MARKER); each push finds it again and edits it, so a pull request has one
// plan, always the latest. Ours is the marked comment written by the credentials' own account: a
// reviewer who quotes a plan (marker included) keeps their comment, and the next run neither
// edits it nor fails on Bitbucket's "You can only edit your own comments".
//
// Which pull request: --repository and --pull-request, else BITBUCKET_REPO_FULL_NAME and
// BITBUCKET_PR_ID (what Bitbucket Pipelines sets on Cloud; on Data Center, where there are no
// Pipelines, Jenkins or Bamboo set them, so one step reads on both).
//
// Bitbucket Cloud:
//   GET  /user                                                               (account scope)
//   GET  /repositories/{ws}/{repo}/pullrequests/{id}/comments?pagelen=100  (every page)
//   PUT  .../comments/{comment_id}  {content: {raw}}   when our marked comment exists
//   POST .../comments               {content: {raw}}   otherwise
// The comments need the `pullrequest` scope (the spec's security entry for all three). Without
// the `account` scope the account cannot be read: a new comment is posted, and the run says why.
//
// Bitbucket Data Center (spec 9.2, paths under /rest/api/latest/projects/{p}/repos/{r}):
//   GET  .../pull-requests/{id}              the pull request; the answer's X-AUSERNAME header names
//                                            the credentials' user
//   GET  .../pull-requests/{id}/activities   (every page) each COMMENTED activity whose commentAction
//                                            is ADDED carries a top-level comment: author, text, version
//   PUT  .../pull-requests/{id}/comments/{commentId}  {text, version}   when our marked comment exists
//   POST .../pull-requests/{id}/comments              {text}            otherwise
// Data Center has no "current user" resource: Atlassian's answer is the X-AUSERNAME header it sends
// on every authenticated answer (community.developer.atlassian.com/t/24422; Renovate reads it the
// same way, renovatebot/renovate#39554). A proxy may drop it: then a new comment is posted, and the
// run says why. `GET .../comments` needs a file `path` (getComments_2), so it cannot list general
// comments; the activities can (Renovate's getComments does the same). The comment inside an
// activity (javadoc PullRequestCommentActivity.getComment) is not in the spec's activity schema.
// PUT must send the version the comment has now, or it answers 409 (updateComment_2): the one we
// listed is re-read once (GET .../comments/{commentId}) when it changed meanwhile.

import { loadSettings } from "../api/auth";
import { getCached, request } from "../api/client";
import { isApiError } from "../api/errors";
import { seg } from "../api/cloud";
import { dcPullRequestPath } from "../api/datacenter";
import { listAll } from "../api/paginate";
import { escapeUnprintable } from "../text";
import { COMMENT_MARKER } from "./report";
import { usage } from "./usage";

/** The pull request a plan comment goes on. */
export interface PullRequestRef {
  flavor: "cloud" | "datacenter";
  /** The workspace (Cloud) or the project key (Data Center). */
  workspace: string;
  repository: string;
  id: number;
}

/** `plan --repository W/R --pull-request ID`: each overrides its environment variable. */
export interface PullRequestOptions {
  repository?: string;
  pullRequest?: string;
}

/**
 * The pull request named by the options, else by `BITBUCKET_REPO_FULL_NAME` and `BITBUCKET_PR_ID`,
 * on the configured flavor; or an error naming what is missing, before any request.
 */
export function pullRequestFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  given: PullRequestOptions = {},
): PullRequestRef {
  const flavor = loadSettings(env).flavor;
  const id = given.pullRequest ?? env.BITBUCKET_PR_ID ?? "";
  const full = given.repository ?? env.BITBUCKET_REPO_FULL_NAME ?? "";
  const parts = full.split("/");
  const [workspace = "", repository = ""] = parts;
  const owner = flavor === "cloud" ? "workspace" : "PROJECT";
  // Cloud's Pipelines set the variables; on Data Center the options come first to mind.
  const source = (option: string, variable: string, fromOption: string | undefined) =>
    fromOption !== undefined ? option : flavor === "cloud" ? variable : `${option} / ${variable}`;
  const why = (value: string, expected: string) =>
    value === "" ? "unset" : `"${escapeUnprintable(value)}" is not ${expected}`;
  const missing = [
    ...(/^\d+$/.test(id)
      ? []
      : [`${source("--pull-request", "BITBUCKET_PR_ID", given.pullRequest)} (${why(id, "a number")})`]),
    ...(parts.length === 2 && workspace && repository
      ? []
      : [
          `${source("--repository", "BITBUCKET_REPO_FULL_NAME", given.repository)} (${why(full, `${owner}/repository`)})`,
        ]),
  ];
  if (missing.length) {
    throw usage(
      flavor === "cloud"
        ? `--comment posts on the pull request a Bitbucket Pipelines build runs for, and needs ${missing.join(" and ")}: run it in a pull-requests pipeline (examples/pipelines/bitbucket-pipelines.yml), or name the pull request with --repository workspace/repository --pull-request ID`
        : `--comment on Bitbucket Data Center needs the pull request to post on: ${missing.join(" and ")}; give --repository PROJECT/repository --pull-request ID, or set BITBUCKET_REPO_FULL_NAME and BITBUCKET_PR_ID in the build (Jenkins, Bamboo: Data Center has no Pipelines to set them)`,
      { withHelp: false },
    );
  }
  return { flavor, workspace, repository, id: Number(id) };
}

export interface Posted {
  id: number;
  how: "created" | "updated";
  /** Why a new comment was posted where an earlier plan may exist (the account could not be learnt). */
  note?: string;
}

/**
 * Posts `markdown` (which starts with `marker`) on the pull request, or edits our earlier comment
 * carrying that marker: each shard's plan has its own (report.ts commentMarker).
 */
export async function upsertComment(
  pr: PullRequestRef,
  markdown: string,
  marker: string = COMMENT_MARKER,
): Promise<Posted> {
  const what = `the plan comment on pull request #${pr.id} of ${pr.workspace}/${pr.repository}`;
  try {
    return pr.flavor === "datacenter"
      ? await upsertDataCenter(pr, markdown, marker)
      : await upsertCloud(pr, markdown, marker);
  } catch (e) {
    (e as Error).message = `post ${what}: ${(e as Error).message}`;
    throw e;
  }
}

/**
 * Whether the edit of our comment went through: false when the comment is gone (404: deleted since
 * it was listed), so a new one is posted rather than the run failing on every push.
 */
async function edited(edit: () => Promise<unknown>): Promise<boolean> {
  try {
    await edit();
    return true;
  } catch (e) {
    if (isApiError(e) && e.status === 404) return false;
    throw e;
  }
}

const gone = (id: number) =>
  `the earlier plan comment ${id} is gone (deleted since it was listed): a new one was posted`;

// ---- Bitbucket Cloud --------------------------------------------------------------------------

/** An account as Bitbucket Cloud names it: `GET /user`, and a comment's `user`. */
interface ApiAccount {
  uuid?: string;
  account_id?: string;
}

interface ApiComment {
  id: number;
  deleted?: boolean;
  content?: { raw?: string };
  user?: ApiAccount;
}

async function upsertCloud(pr: PullRequestRef, markdown: string, marker: string): Promise<Posted> {
  const path = `/repositories/${seg(pr.workspace)}/${seg(pr.repository)}/pullrequests/${pr.id}/comments`;
  const me = await ownAccount();
  const comments = me ? await listAll<ApiComment>(path) : [];
  const ours = comments.find(
    (c) => !c.deleted && c.content?.raw?.includes(marker) && me !== undefined && sameAccount(c.user, me),
  );
  const body = { content: { raw: markdown } };
  if (ours && (await edited(() => request("PUT", `${path}/${ours.id}`, { body }))))
    return { id: ours.id, how: "updated" };
  const { data } = await request<ApiComment>("POST", path, { body });
  return {
    id: data.id,
    how: "created",
    ...(ours && { note: gone(ours.id) }),
    ...(!me && {
      note: "the credentials' account could not be read (GET /user needs the account scope), so an earlier plan comment cannot be told from a reviewer's quote of one: a new comment was posted; give the token the account scope (Account: Read) to edit one comment instead",
    }),
  };
}

/** The credentials' own account, or undefined when the token may not read it (no account scope). */
async function ownAccount(): Promise<ApiAccount | undefined> {
  try {
    return await getCached<ApiAccount>("/user");
  } catch (e) {
    if (isApiError(e) && e.status === 403) return undefined;
    throw e;
  }
}

/** Whether a comment's author is this account (by account id, else by uuid, as Bitbucket braces it). */
const sameAccount = (user: ApiAccount | undefined, me: ApiAccount): boolean =>
  user !== undefined &&
  ((me.account_id !== undefined && user.account_id === me.account_id) ||
    (me.uuid !== undefined && user.uuid?.toLowerCase() === me.uuid.toLowerCase()));

// ---- Bitbucket Data Center --------------------------------------------------------------------

/** A user as Data Center names it (RestApplicationUser): `name` is the username, `slug` its URL form. */
interface DcUser {
  name?: string;
  slug?: string;
}

/** RestComment, as much as we read of it. */
interface DcComment {
  id: number;
  version: number;
  text?: string;
  author?: DcUser;
}

/** One item of a pull request's activity; COMMENTED ones carry the comment. */
interface DcActivity {
  action?: string;
  commentAction?: string;
  comment?: DcComment;
}

async function upsertDataCenter(pr: PullRequestRef, markdown: string, marker: string): Promise<Posted> {
  const base = dcPullRequestPath({ project: pr.workspace, repository: pr.repository }, pr.id);
  const me = await dataCenterUser(base);
  const activities = me === undefined ? [] : await listAll<DcActivity>(`${base}/activities`);
  // Newest first: the last one is the earliest of ours, the comment Cloud would edit too.
  const ours = activities
    .filter((a) => a.action === "COMMENTED" && a.commentAction === "ADDED")
    .map((a) => a.comment)
    .filter(
      (c): c is DcComment =>
        c !== undefined && !!c.text?.includes(marker) && me !== undefined && isUser(c.author, me),
    )
    .at(-1);
  if (ours && (await edited(() => editDataCenter(`${base}/comments/${ours.id}`, ours.version, markdown))))
    return { id: ours.id, how: "updated" };
  const { data } = await request<DcComment>("POST", `${base}/comments`, { body: { text: markdown } });
  return {
    id: data.id,
    how: "created",
    ...(ours && { note: gone(ours.id) }),
    ...(me === undefined && {
      note: "Bitbucket Data Center did not say which user the credentials are (no X-AUSERNAME header on its answer: a proxy in between may drop it), so an earlier plan comment cannot be told from a reviewer's quote of one: a new comment was posted; let the X-AUSERNAME response header through to edit one comment instead",
    }),
  };
}

/**
 * Reads the pull request (a clear 404 when it does not exist) and returns the username its answer's
 * X-AUSERNAME header gives, or undefined when the header is absent.
 */
async function dataCenterUser(pullRequestPath: string): Promise<string | undefined> {
  const { headers } = await request("GET", pullRequestPath);
  const name = headers["x-ausername"]?.trim();
  return name ? name : undefined;
}

/**
 * Whether a comment's author is the user named `me`, by username (`name`): unique and
 * case-insensitive on Data Center. The header may arrive percent-encoded.
 */
function isUser(author: DcUser | undefined, me: string): boolean {
  const names = new Set([me, decoded(me)].map((n) => n.toLowerCase()));
  return author?.name !== undefined && names.has(author.name.toLowerCase());
}

const decoded = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** PUT the text with the version listed; a 409 (changed meanwhile) re-reads the version and tries once more. */
async function editDataCenter(path: string, listed: number, text: string): Promise<void> {
  try {
    await request("PUT", path, { body: { text, version: listed } });
    return;
  } catch (e) {
    if (!(isApiError(e) && e.status === 409)) throw e;
  }
  const { data } = await request<DcComment>("GET", path);
  try {
    await request("PUT", path, { body: { text, version: data.version } });
  } catch (e) {
    if (isApiError(e) && e.status === 409) {
      e.message += ` (refused twice: with the version listed, ${listed}, and the one read again, ${data.version}; another run may be editing the same comment: run the plan again)`;
    }
    throw e;
  }
}
