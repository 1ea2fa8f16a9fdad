// Policy findings on a manifest's declarations, for validate and plan: which policies apply, and
// how a finding reads on one line. The rules are provider/policy/; findingsOf is manifest/policy.ts.

import * as path from "path";
import type { Loc } from "../kinds/kind";
import { loadPolicyFile, type Manifest } from "../manifest/load";
import { findingsOf, type Finding } from "../manifest/policy";
import { layersOf, type Layer } from "../policy/evaluate";
import { escapeUnprintable } from "../text";
import { policySettings } from "../api/auth";
import { PLACEHOLDERS } from "../manifest/expand";
import { declaredBy, type Declared } from "./declared";

/**
 * The shared policies: `--policy FILE` and the file BITBUCKET_POLICY names, both when both are given
 * (as the provider's check reads BITBUCKET_POLICY beside stack config at \`pulumi up\`, so plan says
 * what up enforces, and a team's file cannot replace the organisation's).
 */
export function policyOption(option: string | undefined, cwd: string): Layer[] {
  const files = [option, ...policySettings()].filter((f): f is string => f !== undefined && f !== "");
  return [...new Set(files.map((f) => path.resolve(cwd, f)))].map((f) =>
    loadPolicyFile(f, { relativeTo: cwd }),
  );
}

/** The server a Data Center manifest's integrations name offline when no bitbucket:apiUrl is set. */
const OFFLINE_SERVER = "https://bitbucket.example.invalid";

/**
 * What the manifest declares, offline (validate): a selector stands for one repository, and a Data
 * Center integration without a server URL (its option `url`, else the connection's, which validate
 * does not need) names a stand-in, so the policy sees every object either declares.
 */
export async function declaredOffline(m: Manifest): Promise<Declared[]> {
  const stand = m.flavor === "datacenter" && !process.env.BITBUCKET_API_URL;
  if (stand) process.env.BITBUCKET_API_URL = OFFLINE_SERVER;
  try {
    return await declaredBy(m, PLACEHOLDERS);
  } finally {
    if (stand) delete process.env.BITBUCKET_API_URL;
  }
}

/**
 * What the declared resources break, each finding once per place in the manifest (an entry on ten
 * repositories breaks a rule once), errors first, then by position. `own`: whether the manifest's
 * own policy (or the default one) is a layer.
 */
export function policyFindings(m: Manifest, declared: Declared[], shared: Layer[], own = true): Finding[] {
  const seen = new Set<string>();
  // Without its own (a `policy:` with a problem), the manifest is judged by the shared ones only:
  // the default it would replace may say what it does not.
  return findingsOf(declared, own ? layersOf(m, shared) : shared)
    .filter((f) => {
      const key = `${locText(f.loc)}|${f.rule}|${f.message}|${f.source}`;
      return !seen.has(key) && seen.add(key);
    })
    .sort(
      (a, b) =>
        Number(a.level === "warn") - Number(b.level === "warn") ||
        (a.loc?.line ?? 0) - (b.loc?.line ?? 0) ||
        (a.loc?.col ?? 0) - (b.loc?.col ?? 0),
    );
}

export const locText = (loc: Loc | undefined) => (loc ? `${loc.file}:${loc.line}:${loc.col}` : "");

/** `bitbucket.yaml:12:7 webhooks[0].url: error webhooks.https: the URL is not https... [default policy]` */
export const findingText = (f: Finding): string =>
  escapeUnprintable(
    `${f.loc ? `${locText(f.loc)} ${f.loc.path}: ` : ""}${f.level === "warn" ? "warning" : "error"} ${f.rule}: ${f.message} [${f.source}]`,
  );

/** Errors and warnings counted. */
export function policyCounts(findings: Finding[]): { errors: number; warnings: number } {
  const errors = findings.filter((f) => f.level === "error").length;
  return { errors, warnings: findings.length - errors };
}

/** `2 policy errors, 1 warning` ("" when none). */
export function policyLine(findings: Finding[]): string {
  const { errors, warnings } = policyCounts(findings);
  if (!errors && !warnings) return "";
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
  return `Policy: ${[...(errors ? [n(errors, "error")] : []), ...(warnings ? [n(warnings, "warning")] : [])].join(", ")}${errors ? " (pulumi up would stop)" : ""}.`;
}
