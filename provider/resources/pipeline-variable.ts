// PipelineVariable: a Bitbucket Pipelines variable of a workspace, a repository, or one of a
// repository's deployment environments (named, e.g. "Production").
//
//   create  [GET {repo}/environments (environment name -> uuid)], GET {vars}?pagelen=100 (adopt the
//           variable with the same key), else POST {vars} -> 201 (409 = exists: adopt it)
//   read    GET {vars}/{uuid} -> 200, 404 = gone; deployment variables have no GET by uuid: listed
//   update  PUT {vars}/{uuid} -> 200, the whole variable
//   delete  DELETE {vars}/{uuid} -> 204, 404 = already gone
// where {vars} is /workspaces/{ws}/pipelines-config/variables (hyphen),
// /repositories/{ws}/{repo}/pipelines_config/variables (underscore), or
// /repositories/{ws}/{repo}/deployments_config/environments/{env}/variables.
//
// API facts that shaped it (shared/bitbucket-api.md §4.1):
// - A secured variable's value never comes back (the `value` key is absent): we keep a salted
//   hash of it and compare the declared value against that; a change made by hand to a secured
//   value cannot be seen.
// - Keys are unique per scope (409): a key or scope change deletes the old variable first.
// - The UI cannot un-secure a variable, so secured -> not secured replaces it; securing one
//   updates it in place.

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { request, deleteIfExists } from "../api/client";
import { environmentsPath, seg, variablesPath, type VariableScope } from "../api/cloud";
import { findIn, listCached, readListed } from "../api/paginate";
import {
  configure,
  hashSecret,
  partialFailure,
  secretMatches,
  statusOf,
  withContext,
  type CheckFailure,
  withSecretOutputs,
} from "./common";
import {
  claim,
  createOrAdopt,
  diffOf,
  holdUnlessReplaced,
  keptByThisRun,
  ownershipOf,
  writeOnly,
  type Changes,
  type Lookup,
  type Ownership,
  replacedFields,
} from "./ownership";
import { naturalKey } from "../names";
import { checkSlug, checkCloudOnly } from "./validate";
import type { Policy } from "../policy/rules";

export interface PipelineVariableArgs {
  /** Workspace slug. Changing it replaces the variable. */
  workspace: pulumi.Input<string>;
  /** Repository slug. Absent: a workspace variable. Changing it replaces the variable. */
  repository?: pulumi.Input<string>;
  /** Deployment environment name (e.g. "Production"); needs `repository`. Changing it replaces the variable. */
  environment?: pulumi.Input<string>;
  /** Variable name: ASCII letters, digits and underscores, not starting with a digit. Changing it replaces the variable. */
  key: pulumi.Input<string>;
  /** The value. Secret (in state and previews) unless `secured` is false. Updates in place. */
  value: pulumi.Input<string>;
  /** Hide the value in Bitbucket's UI, logs and API. Default true. Un-securing replaces the variable; securing updates it. */
  secured?: pulumi.Input<boolean>;
  /** Take over an existing variable with the same key even when it differs or is secured (its value cannot be compared): it is then set to this declaration. Default false: only an identical, not secured variable is adopted; otherwise create fails, changing nothing. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Rules of a policy this variable must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
}

export type PipelineVariableInputs = pulumi.Unwrap<PipelineVariableArgs>;

interface Normalized extends Ownership {
  workspace: string;
  repository?: string;
  environment?: string;
  key: string;
  value: string;
  secured: boolean;
}

export interface PipelineVariableOutputs extends Omit<Normalized, "value" | "adopt" | "resourceName"> {
  /** True when the variable existed and was adopted rather than created. */
  adopted?: boolean;
  /** Bitbucket's id (braced uuid). */
  uuid: string;
  /** The environment's uuid, for deployment variables. */
  environmentUuid?: string;
  /** The value, only when not secured (Bitbucket returns it then). */
  value?: string;
  /** Salted hash of a secured value (secret output), to notice a changed value without keeping it. */
  valueHash?: string;
}

export const REPLACE_ON = ["workspace", "repository", "environment", "key"] as const;
export const SECRET_OUTPUTS = ["valueHash"];

/** Pipelines variable names (Pipelines docs, "User variables"). */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ApiVariable {
  uuid: string;
  key: string;
  value?: string;
  secured?: boolean;
}

// ---- normalize, toApi, fromApi ---------------------------------------------------------

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  checkCloudOnly(
    "PipelineVariable",
    failures,
    "Data Center has no Pipelines; keep build variables in your CI server",
  );
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const workspace =
    checkSlug(raw, "workspace", failures, { required: "the workspace slug, e.g. acme" }) ?? "";
  const repository = checkSlug(raw, "repository", failures);
  const environment =
    typeof raw.environment === "string" && raw.environment.trim() ? raw.environment.trim() : undefined;
  if (environment !== undefined && repository === undefined) {
    fail(
      "environment",
      `environment "${environment}" needs repository: deployment environments belong to a repository`,
    );
  }
  const key = typeof raw.key === "string" ? raw.key.trim() : "";
  if (!key) fail("key", "key is required: the variable name, e.g. DEPLOY_TOKEN");
  else if (!VARIABLE_NAME.test(key)) {
    fail(
      "key",
      `"${key}" is not a valid variable name: use ASCII letters, digits and underscores, not starting with a digit (e.g. ${key.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1")})`,
    );
  }
  const secured = raw.secured !== false;
  if (raw.secured !== undefined && typeof raw.secured !== "boolean")
    fail("secured", "secured must be true or false");
  if (typeof raw.value !== "string") fail("value", "value is required (text)");
  else if (secured && raw.value === "")
    fail(
      "value",
      `value of secured variable ${key || "(unnamed)"} is empty: give a value, or set secured: false`,
    );
  return {
    inputs: {
      ...ownershipOf(raw, failures),
      workspace,
      ...(repository !== undefined && { repository }),
      ...(environment !== undefined && { environment }),
      key,
      value: typeof raw.value === "string" ? raw.value : "",
      secured,
    },
    failures,
  };
}

const toApi = (n: Normalized) => ({ key: n.key, value: n.value, secured: n.secured });

function fromApi(
  n: Omit<Normalized, "value" | "key" | "secured" | "adopt" | "resourceName">,
  envUuid: string | undefined,
  v: ApiVariable,
  valueHash: string | undefined,
): PipelineVariableOutputs {
  const secured = v.secured === true;
  return {
    workspace: n.workspace,
    ...(n.repository !== undefined && { repository: n.repository }),
    ...(n.environment !== undefined && { environment: n.environment }),
    ...(envUuid !== undefined && { environmentUuid: envUuid }),
    key: v.key,
    secured,
    uuid: v.uuid,
    ...(!secured && { value: v.value ?? "" }),
    ...(secured && valueHash !== undefined && { valueHash }),
  };
}

const scopeOf = (o: { workspace: string; repository?: string }, environmentUuid?: string): VariableScope => ({
  workspace: o.workspace,
  repository: o.repository,
  environmentUuid,
});

function label(o: { workspace: string; repository?: string; environment?: string; key: string }): string {
  const where = o.repository === undefined ? `workspace ${o.workspace}` : `${o.workspace}/${o.repository}`;
  return `variable ${o.key} on ${where}${o.environment !== undefined ? ` (environment ${o.environment})` : ""}`;
}

const objectKey = (uuid: string) => `PipelineVariable:${uuid}`;

function idOf(
  o: { workspace: string; repository?: string },
  envUuid: string | undefined,
  uuid: string,
): string {
  return [o.workspace, o.repository, envUuid, uuid].filter((x) => x !== undefined).join("/");
}

/** The uuid of the named deployment environment, or an error listing the ones that exist. */
async function environmentUuid(workspace: string, repository: string, name: string): Promise<string> {
  const envs = await listCached<{ uuid: string; name: string }>(environmentsPath(workspace, repository));
  const hit =
    envs.find((e) => e.name === name) ?? envs.find((e) => e.name.toLowerCase() === name.toLowerCase());
  if (hit) return hit.uuid;
  throw new Error(
    `deployment environment "${name}" does not exist in ${workspace}/${repository}; existing: ${envs.map((e) => e.name).join(", ") || "none"} (create it under Repository settings > Deployments)`,
  );
}

/**
 * Where the declared variable would be found (same key in the same scope; a deployment
 * environment's uuid looked up first), and how one found compares. Values are never shown.
 */
export async function lookup(n: Normalized): Promise<Lookup<ApiVariable> & { envUuid?: string }> {
  const envUuid =
    n.environment !== undefined && n.repository !== undefined
      ? await environmentUuid(n.workspace, n.repository, n.environment)
      : undefined;
  return {
    envUuid,
    what: label(n),
    natural: naturalKey.variable(n.workspace, n.repository, n.environment, n.key),
    reads: [
      ...(envUuid !== undefined ? [environmentsPath(n.workspace, n.repository ?? "")] : []),
      variablesPath(scopeOf(n, envUuid)),
    ],
    find: (fresh) =>
      findIn<ApiVariable>(variablesPath(scopeOf(n, envUuid)), (v) => v.key === n.key, { fresh }),
    differences: (v) =>
      v.secured
        ? [
            writeOnly("value (secured)"),
            // Un-securing replaces the variable (the UI cannot do it): a difference even with no state.
            ...(n.secured ? [] : [{ field: "secured", live: true, declared: false }]),
          ]
        : [
            // A plain value is shown (it is not secret); one about to be secured is not.
            ...(v.value === n.value
              ? []
              : n.secured
                ? [
                    {
                      field: "value",
                      writeOnly: true as const,
                      live: "set" as const,
                      declared: "set" as const,
                    },
                  ]
                : [{ field: "value", live: v.value ?? "", declared: n.value }]),
            ...(n.secured ? [{ field: "secured", live: false, declared: true }] : []),
          ],
  };
}

/** What diff finds for a variable the stack holds (state `olds`); plan calls it too. */
export async function changesOf(olds: PipelineVariableOutputs, news: Normalized): Promise<Changes> {
  const replaces: string[] = await replacedFields(REPLACE_ON, olds, news);
  if (olds.secured && !news.secured) replaces.push("secured");
  const changed = [...replaces];
  const valueChanged = news.secured
    ? !olds.secured || !secretMatches(news.value, olds.valueHash)
    : olds.value !== news.value;
  if (valueChanged) changed.push("value");
  if (olds.secured !== news.secured && !changed.includes("secured")) changed.push("secured");
  return { changed, replaces, deleteBeforeReplace: true };
}

// ---- the provider -------------------------------------------------------------------------

export const pipelineVariableProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: PipelineVariableOutputs, news: Normalized) {
    return holdUnlessReplaced(diffOf(await changesOf(olds, news)), objectKey(olds.uuid), news.resourceName);
  },

  async create(inputs: Normalized) {
    const what = `create ${label(inputs)}`;
    let found: Lookup<ApiVariable> & { envUuid?: string };
    try {
      found = await lookup(inputs);
    } catch (e) {
      throw withContext(e, what);
    }
    const envUuid = found.envUuid;
    const scope = scopeOf(inputs, envUuid);
    const hash = () => (inputs.secured ? hashSecret(inputs.value) : undefined);
    return createOrAdopt<ApiVariable, PipelineVariableOutputs>({
      ...found,
      ownership: inputs,
      key: (v) => objectKey(v.uuid),
      post: async () =>
        (await request<ApiVariable>("POST", variablesPath(scope), { body: toApi(inputs) })).data,
      exists: (e) => statusOf(e) === 409,
      created: (v) => ({ id: idOf(inputs, envUuid, v.uuid), outs: fromApi(inputs, envUuid, v, hash()) }),
      adopt: async (v) => {
        const id = idOf(inputs, envUuid, v.uuid);
        if (!inputs.secured && !v.secured && v.value === inputs.value)
          return { id, outs: fromApi(inputs, envUuid, v, undefined) };
        try {
          const path = `${variablesPath(scope)}/${seg(v.uuid)}`;
          const { data } = await request<ApiVariable>("PUT", path, { body: toApi(inputs) });
          return { id, outs: fromApi(inputs, envUuid, data, hash()) };
        } catch (e) {
          throw partialFailure(
            e,
            id,
            fromApi(inputs, envUuid, v, undefined),
            `${what} (adopting the existing variable ${v.uuid})`,
          );
        }
      },
    });
  },

  async read(id: string, props: PipelineVariableOutputs) {
    const scope = scopeOf(props, props.environmentUuid);
    let v: ApiVariable | undefined;
    try {
      v = await readListed<ApiVariable>(variablesPath(scope), (x) => x.uuid === props.uuid);
    } catch (e) {
      throw withContext(e, `read ${label(props)}`);
    }
    if (!v) return {};
    const outs = {
      ...fromApi(props, props.environmentUuid, v, props.valueHash),
      ...(props.adopted && { adopted: true }),
    };
    const { uuid: _u, environmentUuid: _e, valueHash: _h, adopted: _a, ...inputs } = outs;
    return { id, props: outs, inputs };
  },

  async update(_id: string, olds: PipelineVariableOutputs, news: Normalized) {
    const scope = scopeOf(olds, olds.environmentUuid);
    claim(objectKey(olds.uuid), label(news), news.resourceName, "updated");
    try {
      const path = `${variablesPath(scope)}/${seg(olds.uuid)}`;
      const { data } = await request<ApiVariable>("PUT", path, { body: toApi(news) });
      return {
        outs: {
          ...fromApi(news, olds.environmentUuid, data, news.secured ? hashSecret(news.value) : undefined),
          ...(olds.adopted && { adopted: true }),
        },
      };
    } catch (e) {
      throw withContext(e, `update ${label(news)}`);
    }
  },

  async delete(_id: string, props: PipelineVariableOutputs) {
    const scope = scopeOf(props, props.environmentUuid);
    if (keptByThisRun(objectKey(props.uuid), label(props))) return;
    try {
      await deleteIfExists(`${variablesPath(scope)}/${seg(props.uuid)}`);
    } catch (e) {
      throw withContext(e, `delete ${label(props)}`);
    }
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class PipelineVariable extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly workspace: pulumi.Output<string>;
  declare public readonly repository: pulumi.Output<string | undefined>;
  declare public readonly environment: pulumi.Output<string | undefined>;
  declare public readonly key: pulumi.Output<string>;
  declare public readonly secured: pulumi.Output<boolean>;
  declare public readonly uuid: pulumi.Output<string>;
  declare public readonly environmentUuid: pulumi.Output<string | undefined>;
  /** Present only for a variable that is not secured. */
  declare public readonly value: pulumi.Output<string | undefined>;
  declare public readonly valueHash: pulumi.Output<string | undefined>;
  /** True when the variable existed and was adopted rather than created. */
  declare public readonly adopted: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: PipelineVariableArgs, opts?: pulumi.CustomResourceOptions) {
    // Secret unless explicitly not secured, even when given as a plain string.
    const value = pulumi
      .all([args.value, args.secured])
      .apply(([v, secured]) => (secured === false ? pulumi.output(v) : pulumi.secret(v)));
    const props = {
      ...args,
      schemaVersion: undefined,
      value,
      resourceName: name,
      uuid: undefined,
      environmentUuid: undefined,
      valueHash: undefined,
      adopted: undefined,
    };
    super(
      shim("PipelineVariable"),
      name,
      props,
      withSecretOutputs(opts, SECRET_OUTPUTS),
      "bitbucket",
      "PipelineVariable",
    );
  }
}
