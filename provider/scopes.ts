// Bitbucket Cloud OAuth scopes and what each implies, as Atlassian documents them
// (Cloud OpenAPI narrative "Bitbucket OAuth 2.0 scopes"; shared/bitbucket-api.md §6.1).
// `repository:admin` and `project:admin` deliberately imply nothing.

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

/** Required scopes that `granted` (with implications) does not cover. */
export function missing(granted: Iterable<string>, required: Iterable<string>): string[] {
  const have = closure(granted);
  return [...new Set(required)].filter((r) => !have.has(r)).sort();
}

/** Whether `granted` covers every `required` scope. */
export function covers(granted: Iterable<string>, required: Iterable<string>): boolean {
  return missing(granted, required).length === 0;
}

/** The scope an event's resource needs to subscribe a webhook to it (Cloud: "webhook" scope docs). */
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
