// expand(): from a loaded Manifest to the resources it declares, pure.
//
// Resolves each entry's repositories (a list, `{ project: KEY }`, or a glob) against the
// workspace's (Cloud) or project's (Data Center) repositories, and lets each kind (kinds/) name
// its resources from their natural keys (so adding a repository never renames the others).
// Reports, all at once and with positions: selectors matching nothing, malformed keys, and two
// declarations that would manage the same object or get the same name.
// deploy.ts lists the repositories and declares the resources.

import { DECLARATION_ORDER, type Manifest } from "../kinds";
import type { ExpandContext, Loc, Placed, Problem, Selector, Spec, Target } from "../kinds/kind";
import { fingerprintPart } from "../names";
import type { Flavor } from "../resources/validate";
import { isKeyError, parsePublicKey } from "../ssh";
import { globMatcher, globProblem } from "../glob";
import { manifestError } from "./load";

export type { Spec };

/** A repository as the selectors see it. */
export interface RepoInfo {
  slug: string;
  project?: string;
}

/**
 * The repositories of a workspace (Cloud) or project (Data Center), or undefined when unknown
 * (offline validation). Marked `placeholders`, a selector it cannot resolve stands for one
 * repository named as the selector is written (`svc-*`): offline, the policy still sees what each
 * entry would declare (`validate`).
 */
export type RepoLister = ((container: string) => RepoInfo[] | undefined) & { placeholders?: true };

/** Lists nothing, offline; every selector stands for one repository named as written. */
export const PLACEHOLDERS: RepoLister = Object.assign(() => undefined, { placeholders: true as const });

/** Resolves, names and checks every resource of the manifest. Throws a ManifestError with every problem. */
export function expand(m: Manifest, repos: RepoLister): Spec[] {
  const { specs, problems } = expandAll(m, repos);
  if (problems.length) throw manifestError(problems);
  return specs;
}

/** expand(), going on past problems: every entry is expanded; the resources named, and every problem. */
export function expandAll(m: Manifest, repos: RepoLister): { specs: Spec[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const declared = new Declarations(problems);
  const shared = { m, dc: m.flavor === "datacenter", problems, ...placement(m, repos, problems) };
  for (const kind of DECLARATION_ORDER) {
    for (const e of m[kind.key]) {
      kind.expand(e, {
        ...shared,
        claim: (natural, loc, what) => declared.claim(natural, loc, what),
        add: (part, what, natural) =>
          declared.add(
            { kind: kind.key, index: e.index, loc: e.loc, type: kind.type, ...part },
            what,
            natural,
            kind.sameName,
          ),
      });
    }
  }
  return { specs: declared.specs, problems };
}

const where = (loc: Loc) => `${loc.path} (${loc.file}:${loc.line}:${loc.col})`;

/**
 * The resources and objects declared so far. A second declaration of an object (its natural key,
 * across entries and integrations' children, case-folded as Bitbucket folds it), or of a resource
 * name, is a problem naming both places.
 */
class Declarations {
  readonly specs: Spec[] = [];
  private readonly byName = new Map<string, Spec>();
  private readonly byObject = new Map<string, Loc>();

  constructor(private readonly problems: Problem[]) {}

  claim(natural: string, loc: Loc, what: string): boolean {
    const before = this.byObject.get(natural);
    if (before) {
      this.problems.push({
        loc,
        message: `${what} is already declared at ${where(before)}: both would manage one Bitbucket object; keep one`,
      });
      return false;
    }
    this.byObject.set(natural, loc);
    return true;
  }

  add(s: Spec, what: string, natural: string | undefined, sameName = ""): void {
    if (natural !== undefined && !this.claim(natural, s.loc, what)) return;
    const before = this.byName.get(s.name);
    if (before) {
      this.problems.push({
        loc: s.loc,
        message: `${what} would have the same resource name as ${where(before.loc)}${sameName}; keep one entry`,
      });
      return;
    }
    this.byName.set(s.name, s);
    this.specs.push(s);
  }
}

/** Where resources go and how messages show it, for every kind's expand. */
function placement(
  m: Manifest,
  repos: RepoLister,
  problems: Problem[],
): Pick<ExpandContext, "targets" | "placeOf" | "shown" | "keyOf" | "refText"> {
  const dc = m.flavor === "datacenter";
  const matched: Matched = new Map();
  return {
    targets: (e, optional) => targets(e, optional, m.flavor, repos, problems, matched),
    placeOf: (t) => ({
      ...(dc ? { project: t.container } : { workspace: t.container }),
      repository: t.repository,
    }),
    shown: (t) =>
      t.repository !== undefined
        ? `${t.container}/${t.repository}`
        : dc
          ? `project ${t.container}`
          : `${t.container}/(workspace)`,
    keyOf(e, field) {
      const k = parsePublicKey((e as unknown as Record<string, unknown>)[field]);
      if (!isKeyError(k)) return { fingerprint: k.fingerprint, part: fingerprintPart(k.fingerprint) };
      problems.push({ loc: e.at[field]!, message: `${field} ${k.error}` });
      return undefined;
    },
    refText: (ref) =>
      "fromConfig" in ref ? `stack config ${ref.fromConfig}` : `environment variable ${ref.fromEnv}`,
  };
}

// ---- placement ----------------------------------------------------------------------------------

/** The projects a Data Center entry applies to. */
const projectsOf = (e: Placed) => e.projects ?? (e.project !== undefined ? [e.project] : []);

/**
 * Each repository of an entry; without `repositories`, its workspace or projects themselves when
 * `optional` (workspace or project scope), else nothing.
 */
function targets(
  e: Placed,
  optional: boolean,
  flavor: Flavor,
  repos: RepoLister,
  problems: Problem[],
  matched: Matched,
): Target[] {
  const dc = flavor === "datacenter";
  if (e.repositories === undefined) {
    if (!optional) return [];
    return dc ? projectsOf(e).map((container) => ({ container })) : [{ container: e.workspace }];
  }
  const out: Target[] = [];
  const tooBig = typeof e.repositories === "string" ? globProblem(e.repositories) : undefined;
  if (tooBig) {
    problems.push({ loc: e.at.repositories!, message: tooBig });
    return out;
  }
  for (const { container, sel } of lookups(e, flavor)) {
    const written = dc ? { container: `project ${container}`, sel: e.repositories } : undefined;
    const r = select(container, sel, e.at.repositories!, repos, matched, written);
    if (isProblem(r)) problems.push(r);
    else for (const repository of r ?? []) out.push({ container, repository });
  }
  return out;
}

/**
 * Where an entry's selector looks: each workspace or project to list, and what to match in it. On
 * Data Center `{ project: KEY }` is every repository of KEY, `KEY/glob` a glob in KEY, and a bare
 * glob or list applies in each of the entry's projects.
 */
export function lookups(e: Placed, flavor: Flavor): Array<{ container: string; sel: Selector }> {
  const sel = e.repositories!;
  if (flavor === "cloud") return [{ container: e.workspace, sel }];
  if (typeof sel === "object" && !Array.isArray(sel)) return [{ container: sel.project, sel: "*" }];
  if (typeof sel === "string" && sel.includes("/")) {
    const [container = "", glob = ""] = sel.split("/");
    return [{ container, sel: glob }];
  }
  return projectsOf(e).map((container) => ({ container, sel }));
}

function describe(sel: Selector): string {
  return Array.isArray(sel)
    ? sel.join(", ")
    : typeof sel === "string"
      ? `"${sel}"`
      : `{ project: ${sel.project} }`;
}

/**
 * What each selector matched in each workspace or project, sorted, by `container \n selector`:
 * entries that share a selector (most of a large manifest) match the listing once between them.
 */
type Matched = Map<string, string[]>;

/**
 * The repositories a selector names; undefined when they cannot be known offline; a problem
 * when it matches none.
 */
function select(
  workspace: string,
  sel: Selector,
  loc: Loc,
  repos: RepoLister,
  matched: Matched,
  asWritten: { container: string; sel: Selector } = { container: `workspace ${workspace}`, sel },
): string[] | undefined | Problem {
  if (Array.isArray(sel)) return sel;
  const all = repos(workspace);
  if (all === undefined)
    return repos.placeholders ? [typeof sel === "string" ? sel : `{ project: ${sel.project} }`] : undefined;
  const key = `${workspace}\n${typeof sel === "string" ? sel : `{ project: ${sel.project} }`}`;
  let hits = matched.get(key);
  if (hits === undefined) {
    let keep: (r: RepoInfo) => boolean;
    if (typeof sel === "string") {
      const matches = globMatcher(sel);
      keep = sel.includes("/") ? (r) => matches(`${workspace}/${r.slug}`) : (r) => matches(r.slug);
    } else keep = (r) => r.project?.toUpperCase() === sel.project.toUpperCase();
    hits = all
      .filter(keep)
      .map((r) => r.slug)
      .sort();
    matched.set(key, hits);
  }
  if (hits.length) return hits;
  const known = all
    .map((r) => r.slug)
    .slice(0, 10)
    .join(", ");
  return {
    loc,
    message: `${describe(asWritten.sel)} matches no repository in ${asWritten.container}${known ? ` (repositories: ${known}${all.length > 10 ? ", ..." : ""})` : " (it has none)"}`,
  };
}

const isProblem = (x: unknown): x is Problem =>
  typeof x === "object" && x !== null && "message" in x && "loc" in x;
