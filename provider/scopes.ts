// Bitbucket Cloud OAuth scopes: the names, what each implies, and what each of our resources
// needs (Cloud OpenAPI narrative "Bitbucket OAuth 2.0 scopes" and the per-operation `security`
// lists; shared/bitbucket-api.md §6).
//
// Only documented implications are here. `repository:admin` and `project:admin` deliberately
// imply nothing ("does not imply repository or repository:write"); for `account:write`,
// `pipeline:write`, `pipeline:variable` and `runner:write` the docs state no implication, so
// none is assumed: declare the read scope too (Bitbucket's consumer form ticks it for you).

/** Every scope an OAuth consumer can hold, including the legacy `team` pair still in the spec. */
export const SCOPES = [
  "account", "account:write", "email",
  "issue", "issue:write",
  "pipeline", "pipeline:variable", "pipeline:write",
  "project", "project:admin", "project:write",
  "pullrequest", "pullrequest:write",
  "repository", "repository:admin", "repository:delete", "repository:write",
  "runner", "runner:write",
  "snippet", "snippet:write",
  "team", "team:write",
  "webhook", "wiki",
] as const; // prettier-ignore

export type Scope = (typeof SCOPES)[number];

/** Scope -> the scopes it implies directly (as documented). */
export const IMPLIES: Readonly<Record<string, readonly string[]>> = {
  project: ["repository"],
  "repository:write": ["repository"],
  pullrequest: ["repository"],
  "pullrequest:write": ["pullrequest", "repository:write"],
  "issue:write": ["issue"],
  "snippet:write": ["snippet"],
};

/** Every scope `scopes` grants, the implied ones included. */
export function closure(scopes: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const visit = (s: string) => {
    if (out.has(s)) return;
    out.add(s);
    for (const t of IMPLIES[s] ?? []) visit(t);
  };
  for (const s of scopes) visit(s);
  return out;
}

/** Required scopes that `granted` (with implications) does not cover, sorted. */
export function missing(granted: Iterable<string>, required: Iterable<string>): string[] {
  const have = closure(granted);
  return [...new Set(required)].filter((r) => !have.has(r)).sort();
}

/** Whether `granted` covers every `required` scope. */
export function covers(granted: Iterable<string>, required: Iterable<string>): boolean {
  return missing(granted, required).length === 0;
}

/**
 * The scopes a consumer made for `required` may declare: those and what they imply, and the read
 * level of each (the consumer form ticks "Read" with "Write", "Admin" or "Edit variables").
 */
export function allowedFor(required: Iterable<string>): Set<string> {
  const out = closure(required);
  for (const s of [...out]) out.add(s.split(":")[0]!);
  return out;
}

/** Granted scopes beyond what `declared` asks for (directly or by implication), sorted. */
export function extra(granted: Iterable<string>, declared: Iterable<string>): string[] {
  const wanted = closure(declared);
  return [...new Set(granted)].filter((g) => !wanted.has(g)).sort();
}

/** Bitbucket's space-separated `scopes` string (or a list) as a sorted set. */
export function parseScopes(s: string | readonly string[] | undefined): string[] {
  const list = typeof s === "string" ? s.split(/[\s,]+/) : [...(s ?? [])];
  return [...new Set(list.map((x) => x.trim()).filter(Boolean))].sort();
}

/** Where a scope is ticked in the consumer form (Workspace settings > OAuth consumers > Edit). */
export function checkboxOf(scope: string): string {
  const [area = "", level = "read"] = scope.split(":");
  const areas: Record<string, string> = {
    account: "Account", email: "Account: Email", issue: "Issues", pipeline: "Pipelines", project: "Projects",
    pullrequest: "Pull requests", repository: "Repositories", runner: "Runners", snippet: "Snippets",
    team: "Workspace membership", webhook: "Webhooks", wiki: "Wikis",
  }; // prettier-ignore
  const levels: Record<string, string> = {
    read: "Read",
    write: "Write",
    admin: "Admin",
    delete: "Delete",
    variable: "Edit variables",
  };
  if (area === "email" || area === "webhook" || area === "wiki") return areas[area] ?? area;
  return `${areas[area] ?? area}: ${levels[level] ?? level}`;
}

/** The scope an event's resource needs to subscribe a webhook to it (Cloud narrative, `webhook` scope). */
export function eventScope(event: string): string {
  const prefix = event.split(":")[0];
  return (
    {
      repo: "repository",
      pullrequest: "pullrequest",
      issue: "issue",
      project: "project",
      pipeline: "pipeline",
    }[prefix ?? ""] ?? "repository"
  );
}

/**
 * The scopes the credentials bitbucket-iac runs with need, per resource (from each endpoint's
 * `security` list in the Cloud spec), so a manifest's total can be computed and checked.
 */
export const RESOURCE_SCOPES = {
  Webhook: (a: { events?: readonly string[] }) => ["webhook", ...(a.events ?? []).map(eventScope)],
  DeployKey: (a: { project?: string }) =>
    a.project !== undefined ? ["project", "project:admin"] : ["repository", "repository:admin"],
  SshKey: () => ["account", "account:write"],
  PipelineVariable: () => ["pipeline", "pipeline:variable"],
  PipelineSshKeyPair: () => ["pipeline", "pipeline:variable"],
  PipelineKnownHost: () => ["pipeline", "pipeline:variable"],
} satisfies Record<string, (args: never) => string[]>;
