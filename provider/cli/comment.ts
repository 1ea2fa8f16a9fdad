// `plan --comment`: the plan as one comment on the pull request a Bitbucket Pipelines build runs
// for. The comment carries a marker (report.ts COMMENT_MARKER); each push finds it again and
// edits it, so a pull request has one plan, always the latest.
//
//   GET  /repositories/{ws}/{repo}/pullrequests/{id}/comments?pagelen=100  (every page)
//   PUT  .../comments/{comment_id}  {content: {raw}}   when our marked comment exists
//   POST .../comments               {content: {raw}}   otherwise
// The credentials need the `pullrequest` scope (the spec's security entry for all three).

import { request } from "../api/client";
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

interface ApiComment {
  id: number;
  deleted?: boolean;
  content?: { raw?: string };
}

/** Posts `markdown` (which starts with the marker) on the pull request, or edits our earlier comment. */
export async function upsertComment(
  pr: PullRequestRef,
  markdown: string,
): Promise<{ id: number; how: "created" | "updated" }> {
  const path = `/repositories/${seg(pr.workspace)}/${seg(pr.repository)}/pullrequests/${pr.id}/comments`;
  const what = `the plan comment on pull request #${pr.id} of ${pr.workspace}/${pr.repository}`;
  try {
    const comments = await listAll<ApiComment>(path);
    const ours = comments.find((c) => !c.deleted && c.content?.raw?.includes(COMMENT_MARKER));
    const body = { content: { raw: markdown } };
    if (ours) {
      await request("PUT", `${path}/${ours.id}`, { body });
      return { id: ours.id, how: "updated" };
    }
    const { data } = await request<ApiComment>("POST", path, { body });
    return { id: data.id, how: "created" };
  } catch (e) {
    (e as Error).message = `post ${what}: ${(e as Error).message}`;
    throw e;
  }
}
