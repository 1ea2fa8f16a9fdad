// Checks and words more than one kind uses.

import type { CheckContext, Problem } from "./kind";

/** Why a Cloud-only kind is not on Data Center (variables, key pairs, known hosts). */
export const NO_PIPELINES = "Data Center has no Pipelines";

/** Ids of one kind are unique (integrations name consumers by id; outputs are keyed by id). */
export function uniqueIds(ctx: CheckContext, kind: string): Problem[] {
  const problems: Problem[] = [];
  const first = new Map<string, number>();
  ctx.list(kind).forEach((e, i) => {
    if (typeof e?.id !== "string") return;
    const before = first.get(e.id);
    if (before === undefined) first.set(e.id, i);
    else {
      ctx.skip(kind, i); // its resource name is the first's too: said once, here
      problems.push({
        loc: ctx.at([kind, i, "id"]),
        message: `id ${ctx.quote(e.id)} is already used by ${kind}[${before}] (line ${ctx.at([kind, before]).line})`,
      });
    }
  });
  return problems;
}

/**
 * Why a Data Center permission does not fit where it is used (a project's on repositories, or the
 * reverse); undefined when it fits. Access tokens' permissions follow the same rule.
 */
export const permissionProblem = (
  ctx: CheckContext,
  perm: unknown,
  onRepos: boolean,
  what: string,
): string | undefined =>
  typeof perm === "string" && perm.startsWith(onRepos ? "PROJECT_" : "REPO_")
    ? `${ctx.clean(perm)} is for ${onRepos ? "a project" : "repositories"}: ${what} take ${onRepos ? "REPO_READ, REPO_WRITE or REPO_ADMIN" : "PROJECT_READ, PROJECT_WRITE or PROJECT_ADMIN"}`
    : undefined;

/** The strings of a list input (an unknown or malformed one reads as none). */
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/** A text input, or "" (the policy judges what it can read; the resource's check refuses the rest). */
export const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** A label as audit names an object by it: ` "label"`, or nothing when it has none. */
export const labelled = (label: string | undefined): string => (label ? ` "${label}"` : "");
