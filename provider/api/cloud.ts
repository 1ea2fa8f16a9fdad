// Bitbucket Cloud 2.0 paths, built in one place. Every segment is percent-encoded: braced
// UUIDs travel as %7B…%7D, as Bitbucket's own `links.self.href` does (bitbucket-api.md §1.1).
// `.` and `..` survive percent-encoding and would climb the path (`/repositories/acme/..`
// is `/repositories`), so an empty, `.` or `..` segment is refused here, whoever built it.

/** One path segment, percent-encoded; throws on a segment that would change the path's shape. */
export function seg(value: string): string {
  if (value === "" || value === "." || value === "..") {
    throw new Error(
      `"${value}" cannot be a part of a Bitbucket API path (empty, "." and ".." would address another object); check the workspace, repository, project and key names`,
    );
  }
  return encodeURIComponent(value);
}

/** Where a webhook lives: a repository, or (no repository) the whole workspace. */
export interface HookScope {
  workspace: string;
  repository?: string;
}

export function hooksPath(s: HookScope): string {
  return s.repository
    ? `/repositories/${seg(s.workspace)}/${seg(s.repository)}/hooks`
    : `/workspaces/${seg(s.workspace)}/hooks`;
}

export function hookPath(s: HookScope, uuid: string): string {
  return `${hooksPath(s)}/${seg(uuid)}`;
}

/** "acme/api" or "workspace acme", for messages. */
export function scopeLabel(s: HookScope): string {
  return s.repository ? `${s.workspace}/${s.repository}` : `workspace ${s.workspace}`;
}

/** Where a deploy key lives: a repository, or a project (by its key). */
export interface KeyOwner {
  workspace: string;
  repository?: string;
  project?: string;
}

export function deployKeysPath(o: KeyOwner): string {
  return o.project !== undefined
    ? `/workspaces/${seg(o.workspace)}/projects/${seg(o.project)}/deploy-keys`
    : `/repositories/${seg(o.workspace)}/${seg(o.repository ?? "")}/deploy-keys`;
}

export function ownerLabel(o: KeyOwner): string {
  return o.project !== undefined ? `project ${o.workspace}/${o.project}` : `${o.workspace}/${o.repository}`;
}

export const sshKeysPath = (user: string) => `/users/${seg(user)}/ssh-keys`;

/** Where a Pipelines variable lives: workspace, repository, or a repository's deployment environment. */
export interface VariableScope {
  workspace: string;
  repository?: string;
  /** The environment's uuid (resolved from its name). */
  environmentUuid?: string;
}

export function variablesPath(s: VariableScope): string {
  if (s.repository === undefined) return `/workspaces/${seg(s.workspace)}/pipelines-config/variables`;
  const repo = `/repositories/${seg(s.workspace)}/${seg(s.repository)}`;
  return s.environmentUuid === undefined
    ? `${repo}/pipelines_config/variables`
    : `${repo}/deployments_config/environments/${seg(s.environmentUuid)}/variables`;
}

export const environmentsPath = (workspace: string, repository: string) =>
  `/repositories/${seg(workspace)}/${seg(repository)}/environments`;

export const pipelinesSshPath = (workspace: string, repository: string) =>
  `/repositories/${seg(workspace)}/${seg(repository)}/pipelines_config/ssh`;

/** What a workspace, repository or project is, whatever alias named it: slugs and Bitbucket's uuids. */
export interface Location {
  workspace: string;
  workspaceUuid: string;
  repository?: string;
  repositoryUuid?: string;
  project?: string;
  projectUuid?: string;
}

export const workspacePath = (workspace: string) => `/workspaces/${seg(workspace)}`;
/** A workspace's repositories (GET lists them). */
export const repositoriesPath = (workspace: string) => `/repositories/${seg(workspace)}`;
export const repositoryPath = (workspace: string, repository: string) =>
  `${repositoriesPath(workspace)}/${seg(repository)}`;
export const projectPath = (workspace: string, project: string) =>
  `${workspacePath(workspace)}/projects/${seg(project)}`;

/** A commit's Code Insights report (`reportId`: its uuid or our external id); `/annotations` below it. */
export const reportPath = (workspace: string, repository: string, commit: string, reportId: string) =>
  `${repositoryPath(workspace, repository)}/commit/${seg(commit)}/reports/${seg(reportId)}`;
