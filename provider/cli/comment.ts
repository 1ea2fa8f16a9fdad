// `plan --comment`: the plan as one comment on the pull request a Bitbucket Pipelines build runs
// for. The comment carries a marker (report.ts COMMENT_MARKER); each push finds it again and
// edits it, so a pull request has one plan, always the latest. Ours is the marked comment written
// by the credentials' own account: a reviewer who quotes a plan (marker included) keeps their
// comment, and the next run neither edits it nor fails on Bitbucket's "You can only edit your own
// comments".
//
//   GET  /user                                                               (account scope)
//   GET  /repositories/{ws}/{repo}/pullrequests/{id}/comments?pagelen=100  (every page)
//   PUT  .../comments/{comment_id}  {content: {raw}}   when our marked comment exists
//   POST .../comments               {content: {raw}}   otherwise
// The comments need the `pullrequest` scope (the spec's security entry for all three). Without
// the `account` scope the account cannot be read: a new comment is posted, and the run says why.

import { getCached, request } from "../api/client";
import { isApiError } from "../api/errors";
import { seg } from "../api/cloud";
import { listAll } from "../api/paginate";
import { COMMENT_MARKER } from "./report";

/** Where Bitbucket Pipelines says the build runs: `BITBUCKET_PR_ID` and `BITBUCKET_REPO_FULL_NAME`. */
export interface PullRequestRef {
  workspace: string;
  repository: string;
  id: number;
}

/** The pull request of this Pipelines build, or an error naming what is missing. */
export function pullRequestFromEnv(env: NodeJS.ProcessEnv = process.env): PullRequestRef {
  const id = env.BITBUCKET_PR_ID ?? "";
  const full = env.BITBUCKET_REPO_FULL_NAME ?? "";
  const [workspace = "", repository = ""] = full.split("/");
  const missing = [
    ...(/^\d+$/.test(id) ? [] : [`BITBUCKET_PR_ID (${id === "" ? "unset" : `"${id}" is not a number`})`]),
    ...(workspace && repository
      ? []
      : [`BITBUCKET_REPO_FULL_NAME (${full === "" ? "unset" : `"${full}" is not workspace/repository`})`]),
  ];
  if (missing.length) {
    throw new Error(
      `--comment posts on the pull request a Bitbucket Pipelines build runs for, and needs ${missing.join(" and ")}: run it in a pull-requests pipeline (examples/pipelines/bitbucket-pipelines.yml)`,
    );
  }
  return { workspace, repository, id: Number(id) };
}

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

export interface Posted {
  id: number;
  how: "created" | "updated";
  /** Why a new comment was posted where an earlier plan may exist (the account could not be read). */
  note?: string;
}

/** Posts `markdown` (which starts with the marker) on the pull request, or edits our earlier comment. */
export async function upsertComment(pr: PullRequestRef, markdown: string): Promise<Posted> {
  const path = `/repositories/${seg(pr.workspace)}/${seg(pr.repository)}/pullrequests/${pr.id}/comments`;
  const what = `the plan comment on pull request #${pr.id} of ${pr.workspace}/${pr.repository}`;
  try {
    const me = await ownAccount();
    const comments = me ? await listAll<ApiComment>(path) : [];
    const ours = comments.find(
      (c) =>
        !c.deleted && c.content?.raw?.includes(COMMENT_MARKER) && me !== undefined && sameAccount(c.user, me),
    );
    const body = { content: { raw: markdown } };
    if (ours) {
      await request("PUT", `${path}/${ours.id}`, { body });
      return { id: ours.id, how: "updated" };
    }
    const { data } = await request<ApiComment>("POST", path, { body });
    return {
      id: data.id,
      how: "created",
      ...(!me && {
        note: "the credentials' account could not be read (GET /user needs the account scope), so an earlier plan comment cannot be told from a reviewer's quote of one: a new comment was posted; give the token the account scope (Account: Read) to edit one comment instead",
      }),
    };
  } catch (e) {
    (e as Error).message = `post ${what}: ${(e as Error).message}`;
    throw e;
  }
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
