// The policy where resources are made. The provider's check (provider/runtime.ts) holds every
// resource to the policy, whoever declared it (a manifest, or a program building resources in
// code): a rule broken at level `error` fails the check. A rule broken at level `warn` is printed
// by the program, once per resource, through Pulumi's log (a provider's check can only fail).
//
// The layers are the ones validate and plan apply (policy/evaluate.ts layersOf): the resource's
// `policy` input (a manifest's `policy:`, handed to each of its resources) over the default
// policy, and the policy file `bitbucket:policy` / BITBUCKET_POLICY names, a path relative to the
// working directory of the Pulumi program (read once per process).

import * as path from "path";
import * as pulumi from "../pulumi";
import { policySettings, setProviderConfig } from "../api/auth";
import { processWide } from "../api/shared";
import { KINDS } from "../kinds";
import { layersOf, type Layer } from "../policy/evaluate";
import type { Policy } from "../policy/rules";
import type { CheckFailure } from "../resources/common";
import { escapeUnprintable } from "../text";
import { isManifestError, loadPolicyFile, parseManifest, shownProblems } from "./load";
import { findingsOf, type Finding } from "./policy";

/** The engine's placeholder for a value not known yet (in a preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A policy that cannot be applied: why, as a check failure says it (at `policy`, for the input's). */
type Broken = { problem: string; property: "" | "policy" };

/** The shared policy files' layers (none when no file is named), or why one cannot be read. */
type Shared = { layers: Layer[] } | Broken;

/** A resource's own policy input, once read: none, not known yet, or why it is malformed. */
type Own = { policy?: Policy; unknown?: true } | Broken;

/**
 * The policy files `bitbucket:policy` and BITBUCKET_POLICY name (both apply), each read once per
 * process and path (every resource's check asks for them).
 */
export function sharedPolicy(settings: string[] = policySettings()): Shared {
  const files = processWide("policyFiles", () => new Map<string, { layer: Layer } | Broken>());
  const layers: Layer[] = [];
  for (const setting of settings) {
    const file = path.resolve(setting);
    let read = files.get(file);
    if (read === undefined) {
      read = readShared(file, setting);
      files.set(file, read);
    }
    if ("problem" in read) return read;
    layers.push(read.layer);
  }
  return { layers };
}

function readShared(file: string, setting: string): { layer: Layer } | Broken {
  try {
    return { layer: loadPolicyFile(file) };
  } catch (e) {
    if (!isManifestError(e)) throw e;
    return {
      property: "",
      problem: `the policy file bitbucket:policy / BITBUCKET_POLICY names ("${escapeUnprintable(setting)}", from ${escapeUnprintable(process.cwd())}) cannot be applied; fix the file, or set the setting to the right one:\n${shownProblems(e.problems).join("\n")}`,
    };
  }
}

/**
 * A resource's `policy` input, checked as a manifest's `policy:` is (the same schema and checks,
 * the problems at their path in it); read once per process and policy.
 */
function ownPolicy(given: unknown): Own {
  if (given === undefined || given === null) return {};
  if (given === UNKNOWN) return { unknown: true };
  const text = JSON.stringify({ version: 1, policy: given }, null, 2);
  const inputs = processWide("policyInputs", () => new Map<string, Own>());
  let own = inputs.get(text);
  if (own === undefined) {
    try {
      own = { policy: parseManifest(text, "policy input").policy! };
    } catch (e) {
      if (!isManifestError(e)) throw e;
      own = {
        property: "policy",
        problem: `the policy input is not a policy: ${e.problems.map((p) => `${p.loc.path}: ${p.message}`).join("; ")}`,
      };
    }
    inputs.set(text, own);
  }
  return own;
}

/**
 * What the policy finds of a resource of `type` (`Webhook`, ...) with these inputs, given its own
 * `policy` input: every rule broken, at either level; or why the policy cannot be applied. `file`
 * names the manifest the policy input comes from, for the findings' source.
 */
export function verdictOf(
  type: string,
  inputs: Record<string, unknown>,
  given: unknown,
  file?: string,
): { findings: Finding[] } | Broken {
  if (!KINDS.find((k) => k.type === type)?.subject) return { findings: [] };
  const own = ownPolicy(given);
  if ("problem" in own) return own;
  const shared = sharedPolicy();
  if ("problem" in shared) return shared;
  // A policy not known yet is judged when it is (a preview's check, then up's); the shared one now.
  const layers = own.unknown
    ? shared.layers
    : layersOf(
        { ...(own.policy && { policy: own.policy }), ...(file !== undefined && { file }) },
        shared.layers,
      );
  return { findings: findingsOf([{ type, name: type, inputs }], layers) };
}

/**
 * The check failures of the policy for a resource's checked inputs: one per rule broken at level
 * `error`, at the input at fault (`reason`: `<rule>: <message> [<source>]`), or one saying why the
 * policy cannot be applied.
 */
export function policyFailures(
  type: string,
  inputs: Record<string, unknown>,
  given: unknown,
): CheckFailure[] {
  const v = verdictOf(type, inputs, given);
  if ("problem" in v) return [{ property: v.property, reason: v.problem }];
  const fields = KINDS.find((k) => k.type === type)?.policyFields ?? {};
  return v.findings
    .filter((f) => f.level === "error")
    .map((f) => ({ property: fields[f.field] ?? f.field, reason: `${f.rule}: ${f.message} [${f.source}]` }));
}

/** Where the program's warnings go. */
export type Warn = (message: string, resource: pulumi.Resource) => void;

/**
 * Pulumi's log, when an engine runs the program (`pulumi up`, `preview`); without one (plan, which
 * runs the program under mocks and reports the findings itself) nothing.
 */
const engineLog: Warn = (message, resource) => {
  if (pulumi.runtime.hasEngine()) void pulumi.log.warn(message, resource);
};

/** The type token of bitbucket-iac's resources: `pulumi-nodejs:dynamic/bitbucket:Webhook`. */
const TYPE = /^pulumi-nodejs:dynamic\/bitbucket:(\w+)$/;

/**
 * A Pulumi transformation for bitbucket-iac's resources: hands `policy` to each one that has no
 * policy of its own, and prints once, as a warning on the resource, the rules its inputs break at
 * level `warn` (those at level `error` fail its check). deployManifest gives one to every resource
 * it declares (and so to an integration's children); a program that builds resources in code may
 * register one for the whole stack: `pulumi.runtime.registerStackTransformation(policyTransformation())`.
 * `file`: the manifest `policy` comes from, as the warnings name it.
 */
export function policyTransformation(
  policy?: Policy,
  opts: { file?: string; warn?: Warn } = {},
): pulumi.ResourceTransformation {
  // The shared policy file may be named in stack config (the provider's check gets it from configure).
  setProviderConfig((k) => pulumi.runtime.getConfig(k));
  const warn = opts.warn ?? engineLog;
  return ({ type, props, opts: resourceOpts, resource }) => {
    const kind = KINDS.find((k) => k.type === TYPE.exec(type)?.[1]);
    if (!kind?.subject) return undefined;
    const handed = policy !== undefined && props.policy === undefined;
    const given = handed ? { ...props, policy } : props;
    warnings(kind.type, given, resource, handed ? opts.file : undefined, warn);
    return handed ? { props: given, opts: resourceOpts } : undefined;
  };
}

/** Resources judged already (a second transformation, the stack's beside deployManifest's, says nothing more). */
const judged = new WeakSet<pulumi.Resource>();

/** Prints the rules a resource's inputs break at level `warn`, once they are known, in one warning. */
function warnings(
  type: string,
  props: Record<string, unknown>,
  resource: pulumi.Resource,
  file: string | undefined,
  warn: Warn,
): void {
  if (judged.has(resource)) return;
  judged.add(resource);
  pulumi.output(props).apply((resolved) => {
    const { policy, ...inputs } = resolved as Record<string, unknown>;
    let v: ReturnType<typeof verdictOf>;
    try {
      v = verdictOf(type, inputs, policy, file);
    } catch {
      return; // the provider's check says what is wrong
    }
    const warns = "findings" in v ? v.findings.filter((f) => f.level === "warn") : [];
    if (warns.length)
      warn(warns.map((f) => `policy ${f.rule}: ${f.message} [${f.source}]`).join("\n"), resource);
  });
}
