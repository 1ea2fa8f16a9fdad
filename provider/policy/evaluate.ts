// Applying policies to a subject. Policies come in layers, each judged on its own, so one cannot
// loosen another: the manifest's own (`policy:` over the default policy, rule by rule) and a
// shared one (`--policy FILE`, `bitbucket:policy`). An object breaking one rule in two layers is
// one violation, at the stricter level.

import {
  DEFAULT_POLICY,
  partsOf,
  RULES,
  type Policy,
  type RuleBase,
  type RuleName,
  type Subject,
} from "./rules";

/** A policy and where it comes from, as findings name it. */
export interface Layer {
  /** "default policy", "policy of bitbucket.yaml", "policy file org-policy.yaml". */
  source: string;
  policy: Policy;
}

/** A rule an object breaks. */
export interface Violation {
  rule: RuleName;
  level: "error" | "warn";
  /** The subject's field at fault: url, secret, key, permission, secured, expiryDays, ... */
  field: string;
  /** What is wrong and what to do, then the policy's own message. */
  message: string;
  /** The layer whose rule it breaks. */
  source: string;
}

/** The default policy with a manifest's own rules over it (a rule written replaces the default's). */
export function withDefaults(policy: Policy | undefined): Policy {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of [DEFAULT_POLICY, policy ?? {}])
    for (const [section, rules] of Object.entries(p)) Object.assign((out[section] ??= {}), rules);
  return out as Policy;
}

/** The layers that apply: the manifest's (or the default), then the shared policies'. */
export function layersOf(
  manifest: { policy?: Policy; file?: string },
  shared: readonly Layer[] = [],
): Layer[] {
  return [
    {
      source: manifest.policy ? `policy of ${manifest.file ?? "the manifest"}` : "default policy",
      policy: withDefaults(manifest.policy),
    },
    ...shared,
  ];
}

/** A layer's settings for a rule, when it states it and does not switch it off. */
function ruleIn(policy: Policy, name: RuleName): RuleBase | undefined {
  const [section, key] = partsOf(name);
  const r = (policy[section] as Record<string, RuleBase> | undefined)?.[key];
  return r && r.enforcement !== "off" ? r : undefined;
}

/** Every rule the subject breaks, in the order of RULES; errors win over warnings of the same rule. */
export function judge(subject: Subject, layers: readonly Layer[]): Violation[] {
  const found: Violation[] = [];
  for (const name of Object.keys(RULES) as RuleName[]) {
    const def = RULES[name];
    if (def.kind !== subject.kind) continue;
    let worst: Violation | undefined;
    for (const layer of layers) {
      const r = ruleIn(layer.policy, name);
      // The rule's settings and subject match by construction (RULES pairs them by `kind`).
      const broken =
        r && (def.judge as (r: RuleBase, s: Subject) => ReturnType<typeof def.judge>)(r, subject);
      if (!broken) continue;
      const level = r.enforcement === "warn" ? "warn" : "error"; // ruleIn leaves out "off"
      if (worst && (worst.level === "error" || level === "warn")) continue;
      worst = {
        rule: name,
        level,
        field: broken.field,
        message: `${broken.message}${r.message ? ` (${r.message})` : ""}`,
        source: layer.source,
      };
    }
    if (worst) found.push(worst);
  }
  return found;
}
