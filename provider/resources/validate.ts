// Input checks several resources share. Each pushes failures that name the property and
// say what to write instead; none ever echoes a secret.

import { flavorSetting } from "../api/auth";
import { isKeyError, parsePublicKey } from "../ssh";
import type { CheckFailure } from "./common";

/** Which Bitbucket a resource lives on. */
export type Flavor = "cloud" | "datacenter";

export const FLAVOR_NAME: Record<Flavor, string> = {
  cloud: "Bitbucket Cloud",
  datacenter: "Bitbucket Data Center",
};

/**
 * The resource's `flavor` (default: the connection's, `bitbucket:flavor`), and a failure for each
 * field the other flavor alone has (a Cloud `workspace` on a Data Center hook, say).
 */
export function checkFlavor(
  raw: Record<string, unknown>,
  failures: CheckFailure[],
  fields: { cloudOnly?: string[]; dcOnly?: string[] } = {},
): Flavor {
  let flavor: Flavor = flavorSetting();
  if (raw.flavor === "cloud" || raw.flavor === "datacenter") flavor = raw.flavor;
  else if (raw.flavor !== undefined && raw.flavor !== null && raw.flavor !== "") {
    failures.push({
      property: "flavor",
      reason: `flavor must be "cloud" or "datacenter", got ${JSON.stringify(raw.flavor)}`,
    });
  }
  const foreign = flavor === "cloud" ? (fields.dcOnly ?? []) : (fields.cloudOnly ?? []);
  for (const f of foreign) {
    if (raw[f] === undefined || raw[f] === null || raw[f] === "") continue;
    failures.push({
      property: f,
      reason:
        `${f} is for ${FLAVOR_NAME[flavor === "cloud" ? "datacenter" : "cloud"]}; this resource is on ${FLAVOR_NAME[flavor]} (flavor: ${flavor})` +
        (f === "workspace" ? ": Data Center has projects, give project: <KEY>" : ""),
    });
  }
  return flavor;
}

/**
 * The flavor of an object the engine names by id: the one its state records; state written before
 * Data Center support records none and is Cloud's; no state at all (`pulumi import`) is the
 * connection's.
 */
export function stateFlavor(recorded: Flavor | undefined, hasState: boolean): Flavor {
  return recorded ?? (hasState ? "cloud" : flavorSetting());
}

/**
 * A failure when the connection is Data Center (`bitbucket:flavor datacenter`) for a kind that only
 * Bitbucket Cloud has (Pipelines, OAuth consumers): said at preview, not as a 404 at create.
 */
export function checkCloudOnly(kind: string, failures: CheckFailure[], instead: string): void {
  if (flavorSetting() !== "datacenter") return;
  failures.push({
    property: "flavor",
    reason: `${kind} is Bitbucket Cloud only, but the connection is Bitbucket Data Center (bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter"): ${instead}`,
  });
}

/** A Data Center project key (`project`), e.g. PROJ or ~alice (a personal project). */
export function checkProjectKey(
  raw: Record<string, unknown>,
  failures: CheckFailure[],
  opts: { required?: boolean } = {},
): string | undefined {
  return checkSlug(raw, "project", failures, {
    ...(opts.required && { required: "the project key, e.g. PROJ" }),
    pattern: /^~?[A-Za-z][A-Za-z0-9_]*$/,
    what: "a project key such as PROJ (or ~user for a personal project)",
  });
}

/** A workspace/repository slug or a braced uuid. */
const SLUG = /^(\{[0-9a-f-]{36}\}|[A-Za-z0-9][A-Za-z0-9._-]*)$/;
/** A project key: letters, digits and underscores (Bitbucket upper-cases them). */
const PROJECT_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Reads an optional slug-like field; `required` makes absence a failure. */
export function checkSlug(
  raw: Record<string, unknown>,
  field: string,
  failures: CheckFailure[],
  opts: { required?: string; pattern?: RegExp; what?: string } = {},
): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) {
    if (opts.required) failures.push({ property: field, reason: `${field} is required: ${opts.required}` });
    return undefined;
  }
  if (typeof v !== "string") {
    failures.push({ property: field, reason: `${field} must be text` });
    return undefined;
  }
  const s = v.trim();
  if (!(opts.pattern ?? SLUG).test(s))
    failures.push({ property: field, reason: `"${s}" is not ${opts.what ?? `a ${field} slug or {uuid}`}` });
  return s;
}

/** `workspace` plus exactly one of `repository` and `project`. */
export function checkOwner(
  raw: Record<string, unknown>,
  failures: CheckFailure[],
): { workspace: string; repository?: string; project?: string } {
  const workspace =
    checkSlug(raw, "workspace", failures, { required: "the workspace slug, e.g. acme" }) ?? "";
  const repository = checkSlug(raw, "repository", failures);
  const project = checkSlug(raw, "project", failures, {
    pattern: PROJECT_KEY,
    what: "a project key such as PROJ",
  });
  if (repository !== undefined && project !== undefined) {
    failures.push({
      property: "project",
      reason: "give repository (a repository deploy key) or project (a project deploy key), not both",
    });
  } else if (
    repository === undefined &&
    project === undefined &&
    raw.repository === undefined &&
    raw.project === undefined
  ) {
    failures.push({
      property: "repository",
      reason: "give repository (a repository deploy key) or project (a project deploy key)",
    });
  }
  return {
    workspace,
    ...(repository !== undefined && { repository }),
    ...(project !== undefined && { project }),
  };
}

/** An OpenSSH public key field: `type base64` and its comment kept apart ("" when malformed). */
export function checkPublicKey(
  raw: Record<string, unknown>,
  field: string,
  failures: CheckFailure[],
): { key: string; keyComment: string } {
  const parsed = parsePublicKey(raw[field]);
  if (!isKeyError(parsed)) return { key: parsed.normalized, keyComment: parsed.comment };
  failures.push({ property: field, reason: `${field} ${parsed.error}` });
  return { key: "", keyComment: "" };
}

/** An optional text field; default "". */
export function checkText(raw: Record<string, unknown>, field: string, failures: CheckFailure[]): string {
  const v = raw[field];
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  failures.push({ property: field, reason: `${field} must be text` });
  return "";
}
