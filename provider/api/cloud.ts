// Bitbucket Cloud 2.0 paths, built in one place. Every segment is percent-encoded: braced
// UUIDs travel as %7B…%7D, as Bitbucket's own `links.self.href` does (bitbucket-api.md §1.1).

const seg = encodeURIComponent;

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
