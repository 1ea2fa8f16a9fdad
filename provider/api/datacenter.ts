// Bitbucket Data Center REST paths (spec 9.2), built in one place, relative to the server's base
// URL (bitbucket:apiUrl): `/rest/{api}/latest/...` (shared/bitbucket-api.md §8). Segments are
// percent-encoded and checked by `seg` like Cloud's.

import { seg } from "./cloud";

/** Where a Data Center object lives: a project, or a repository in it. */
export interface DcScope {
  project: string;
  repository?: string;
}

const projectBase = (api: string, s: DcScope) =>
  s.repository === undefined
    ? `/rest/${api}/latest/projects/${seg(s.project)}`
    : `/rest/${api}/latest/projects/${seg(s.project)}/repos/${seg(s.repository)}`;

/** Webhooks of a repository or a project (§8.2). */
export const dcHooksPath = (s: DcScope) => `${projectBase("api", s)}/webhooks`;

/** SSH access keys of a repository or a project (§8.3): Data Center's deploy keys. */
export const dcAccessKeysPath = (s: DcScope) => `${projectBase("keys", s)}/ssh`;

/** Changes an access key's permission in place (§8.3): PUT, no body. */
export const dcAccessKeyPermissionPath = (s: DcScope, keyId: string, permission: string) =>
  `${dcAccessKeysPath(s)}/${seg(keyId)}/permission/${seg(permission)}`;

/**
 * A user's SSH keys (§8.4): the credentials' own without `user`, another user's (an admin's
 * call) with it. The query names the collection, so it is part of the path.
 */
export const dcSshKeysPath = (user?: string) =>
  user === undefined ? `/rest/ssh/latest/keys` : `/rest/ssh/latest/keys?user=${encodeURIComponent(user)}`;

/** One user SSH key; read and delete take no `user`. */
export const dcSshKeyPath = (keyId: string) => `/rest/ssh/latest/keys/${seg(keyId)}`;

/** Who an HTTP access token belongs to (§8.5): a user, a project, or a repository. */
export type TokenOwner = { user: string } | DcScope;

/** The collection of a token owner's HTTP access tokens; PUT here creates one. */
export const dcTokensPath = (o: TokenOwner) =>
  "user" in o ? `/rest/access-tokens/latest/users/${seg(o.user)}` : projectBase("access-tokens", o);

/** "PROJ/api" or "project PROJ", for messages. */
export const dcScopeLabel = (s: DcScope) =>
  s.repository === undefined ? `project ${s.project}` : `${s.project}/${s.repository}`;

/** A project (GET: its key and name). */
export const dcProjectPath = (project: string) => `/rest/api/latest/projects/${seg(project)}`;

/** The users of the server (GET `?filter=`: those whose name, display name or email contains it). */
export const dcUsersPath = "/rest/api/latest/users";

/** A project's repositories (read, paged): what `repositories:` selectors match on Data Center. */
export const dcReposPath = (project: string) => `/rest/api/latest/projects/${seg(project)}/repos`;

/** A pull request of a repository (spec 9.2 "Pull Requests"); its `/activities` and `/comments` hang below. */
export const dcPullRequestPath = (s: Required<DcScope>, id: number) =>
  `${projectBase("api", s)}/pull-requests/${id}`;
/** A commit's Code Insights report (its key); `/annotations` below it (bitbucket-datacenter-9.2 spec). */
export const dcReportPath = (project: string, repository: string, commit: string, key: string) =>
  `/rest/insights/latest/projects/${seg(project)}/repos/${seg(repository)}/commits/${seg(commit)}/reports/${seg(key)}`;
