// Policies in manifests and policy files: their checks beyond the schema, the policy file, and the
// findings on what a manifest declares. The rules themselves are provider/policy/.
//
// A policy file is a manifest that holds only `version: 1` and `policy:` (the same schema, so an
// editor helps with it as with a manifest; editors cannot point a file at part of a schema): read
// by load.ts's loadPolicyFile.

import { globProblem } from "../glob";
import { KINDS } from "../kinds";
import type { CheckContext, Loc, Problem } from "../kinds/kind";
import { judge, type Layer, type Violation } from "../policy/evaluate";
import { TOKEN_PERMISSIONS } from "../resources/access-token";
import { CLOUD_WEBHOOK_EVENTS, DC_WEBHOOK_EVENTS } from "../resources/webhook";
import { SCOPES } from "../scopes";
import { KEY_TYPES } from "../ssh";

/** What each list of a policy may hold, by its path in `policy:`; a value outside is a problem. */
const KNOWN: Record<string, { what: string; known: (flavor: string) => readonly string[] }> = {
  "keys.keyTypes.allow": { what: "a key type", known: () => KEY_TYPES },
  "oauthConsumers.maxScopes.scopes": { what: "a Bitbucket Cloud OAuth scope", known: () => SCOPES },
  "accessTokens.permissions.allow": { what: "an access token permission", known: () => TOKEN_PERMISSIONS },
  "webhooks.events.allow": { what: "an event", known: eventsOf },
  "webhooks.events.deny": { what: "an event", known: eventsOf },
};

function eventsOf(flavor: string): readonly string[] {
  if (flavor === "cloud") return CLOUD_WEBHOOK_EVENTS;
  if (flavor === "datacenter") return DC_WEBHOOK_EVENTS;
  return [...CLOUD_WEBHOOK_EVENTS, ...DC_WEBHOOK_EVENTS]; // a policy file serves both
}

/**
 * The checks of `policy:` beyond the schema: names a rule lists are known (with "did you mean"),
 * host globs are small. `flavor` "any" for a policy file, which serves both.
 */
export function policyProblems(ctx: CheckContext, flavor: string = ctx.flavor): Problem[] {
  const policy = ctx.data.policy;
  if (typeof policy !== "object" || policy === null) return [];
  const problems: Problem[] = [];
  for (const [path, { what, known }] of Object.entries(KNOWN)) {
    const segs = path.split(".");
    const list = segs.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], policy);
    if (!Array.isArray(list)) continue;
    list.forEach((v, i) => {
      const names = known(flavor);
      if (typeof v !== "string" || names.includes(v)) return;
      // Suggestions compare in lower case (permissions are upper case).
      const lowered = names.map((k) => k.toLowerCase());
      const near = ctx.suggest(v, lowered).map((k) => names[lowered.indexOf(k)]!);
      problems.push({
        loc: ctx.at(["policy", ...segs, i]),
        message: `${ctx.quote(v)} is not ${what}${what === "an event" && flavor !== "any" ? ` of ${flavor === "cloud" ? "Bitbucket Cloud" : "Data Center"}` : ""}${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(", ")}?` : ""}`,
      });
    });
  }
  // Every glob is matched against every object judged: each is capped, and so is each list.
  for (const { path, things, name, instead } of GLOB_LISTS) {
    const globs = path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], policy);
    if (!Array.isArray(globs)) continue;
    globs.forEach((g, i) => {
      const why = typeof g === "string" ? globProblem(g, things) : undefined;
      if (why) problems.push({ loc: ctx.at(["policy", ...path, i]), message: why });
    });
    const total = globs.reduce<number>((n, g) => n + (typeof g === "string" ? g.length : 0), 0);
    if (total > POLICY_LIMITS.maxGlobsLength)
      problems.push({
        loc: ctx.at(["policy", ...path]),
        message: `the ${name} add up to ${total} characters; at most ${POLICY_LIMITS.maxGlobsLength} are allowed: ${instead}`,
      });
  }
  // A URL's host is matched without its scheme, user, port or path: a host written with one would
  // match no hook at all.
  const hosts = (policy as { webhooks?: { allowedHosts?: { hosts?: unknown } } }).webhooks?.allowedHosts
    ?.hosts;
  (Array.isArray(hosts) ? hosts : []).forEach((h, i) => {
    if (typeof h === "string" && (/[/@\s]/.test(h) || (h.includes(":") && !/^\[[^\]]*\]$/.test(h))))
      problems.push({
        loc: ctx.at(["policy", "webhooks", "allowedHosts", "hosts", i]),
        message: `${ctx.quote(h)} is not a host: give the host alone (hooks.example.com, *.example.com), without scheme, user, port or path`,
      });
  });
  return problems;
}

/**
 * How large a policy's list of globs may be, in characters: every glob is matched against every
 * webhook's host or variable's key, each in steps up to its length times the text's.
 */
export const POLICY_LIMITS = { maxGlobsLength: 5000 } as const;

/** The policy's lists of globs: where, what they match, and what to do when a list is too large. */
const GLOB_LISTS = [
  {
    path: ["webhooks", "allowedHosts", "hosts"],
    things: "hosts",
    name: "hosts",
    instead: "use a wildcard for the hosts of one domain (*.example.com)",
  },
  {
    path: ["pipelineVariables", "securedWhenKeyMatches", "patterns"],
    things: "keys",
    name: "patterns",
    instead: "use fewer patterns, each matching more keys (*TOKEN*)",
  },
] as const;

/** A declared resource, as the policy judges it: its type, inputs, and where it was declared. */
export interface Judged {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Its entry (an integration's child: the integration's entry). */
  loc?: Loc;
  /** Where its entry's fields are (not for an integration's children: their fields are the preset's). */
  at?: Record<string, Loc>;
}

/** A violation of a declared (or, in audit, a live) object: what it is, and where. */
export interface Finding extends Violation {
  /** The object: its resource name (a declaration) or its place and identity (a live object). */
  object: string;
  /** Where in the manifest, for a declaration. */
  loc?: Loc;
}

/** What each declared resource breaks of the layers, at its field's position, in declaration order. */
export function findingsOf(declared: readonly Judged[], layers: readonly Layer[]): Finding[] {
  const kinds = new Map(KINDS.map((k) => [k.type as string, k]));
  const out: Finding[] = [];
  for (const d of declared) {
    const kind = kinds.get(d.type);
    const subject = kind?.subject?.(d.inputs);
    if (!subject) continue;
    for (const v of judge(subject, layers)) {
      const loc = d.at?.[kind?.policyFields?.[v.field] ?? v.field] ?? d.loc;
      out.push({ ...v, object: d.name, ...(loc && { loc }) });
    }
  }
  return out;
}
