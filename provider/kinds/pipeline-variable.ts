// Pipelines variables: `pipelineVariables:` entries (Cloud only), of the workspace, a repository,
// or a repository's deployment environment. The resource: provider/resources/pipeline-variable.ts.

import { environmentsPath, variablesPath } from "../api/cloud";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import { credentialPattern } from "../policy/rules";
import {
  changesOf,
  lookup,
  PipelineVariable,
  pipelineVariableProvider,
  type ApiVariable,
} from "../resources/pipeline-variable";
import { NO_PIPELINES } from "./checks";
import { text } from "./checks";
import type {
  AuditSink,
  CheckContext,
  Entry,
  ExportSink,
  KindDescriptor,
  Problem,
  SecretRef,
  Selector,
} from "./kind";

export interface PipelineVariableEntry extends Entry {
  repositories?: Selector;
  environment?: string;
  key: string;
  value: string | SecretRef;
  secured?: boolean;
}

export const pipelineVariables = {
  key: "pipelineVariables",
  type: "PipelineVariable",
  schema: "pipelineVariable",
  fields: ["workspace", "repositories", "environment", "key", "value", "secured", "adopt", "retainOnDelete"],
  flavors: { cloud: true, datacenter: NO_PIPELINES },
  placed: true,
  check: (ctx) => (ctx.flavor === "cloud" ? check(ctx) : []),
  expand(v, ctx) {
    for (const repo of ctx.targets(v, true).map((t) => t.repository)) {
      const where = `${v.workspace}/${repo ?? "*"}${v.environment !== undefined ? `/${v.environment}` : ""}`;
      ctx.add(
        { name: `variable/${where}/${v.key}`, workspace: v.workspace, repository: repo },
        `variable ${v.key} on ${where}`,
        naturalKey.variable(v.workspace, repo, v.environment, v.key),
      );
    }
  },
  declare(s, v, ctx) {
    const r = new PipelineVariable(
      s.name,
      {
        ...ctx.cloudWhere,
        environment: v.environment,
        key: v.key,
        value: typeof v.value === "string" ? v.value : ctx.secret(v.value, "value"),
        secured: v.secured,
        adopt: v.adopt,
      },
      ctx.opts,
    );
    return { resource: r, output: r.uuid };
  },
  subject: (i) => ({ kind: "variable", key: text(i.key), secured: i.secured !== false }),
  plan: {
    check: pipelineVariableProvider.check!,
    lookup,
    read: pipelineVariableProvider.read!,
    changes: changesOf,
    secretHashes: { value: "valueHash" },
    // pipeline-variable.ts: POST {variables}; an adoption PUTs one that differs (a secured one
    // always: its value cannot be compared); PUT and DELETE {variables}/{uuid}.
    requests: {
      create: () => ["POST"],
      adopt: (differs) => (differs.length ? ["PUT"] : []),
      update: () => ["PUT"],
      delete: () => ["DELETE"],
    },
  },
  export: {
    cloud: {
      async repository(repository, sink) {
        for (const [v, environment] of await repositoryVariables(sink.container, repository))
          sink.add(variableEntry(v, sink, repository, environment));
      },
      container: async (sink) => {
        for (const v of await workspaceVariables(sink)) sink.add(variableEntry(v, sink));
      },
    },
  },
  audit: {
    cloud: {
      async repository(repository, sink) {
        for (const [v, environment] of await repositoryVariables(sink.container, repository))
          auditVariable(v, sink, repository, environment);
      },
      container: async (sink) => {
        for (const v of await workspaceVariables(sink)) auditVariable(v, sink);
      },
    },
    datacenter: NO_PIPELINES,
  },
} satisfies KindDescriptor<PipelineVariableEntry, "pipelineVariables", "PipelineVariable">;

/** Deployment environments belong to a repository. */
function check(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  ctx.list("pipelineVariables").forEach((e, i) => {
    if (e?.environment !== undefined && e?.repositories === undefined) {
      problems.push({
        loc: ctx.at(["pipelineVariables", i, "environment"]),
        message: "environment needs repositories: deployment environments belong to a repository",
      });
    }
  });
  return problems;
}

/**
 * A repository's variables and its deployment environments' (environments by name), each with its
 * environment's name (none: the repository's own).
 */
async function repositoryVariables(
  workspace: string,
  repository: string,
): Promise<Array<[ApiVariable, string | undefined]>> {
  const at = { workspace, repository };
  const [vars, envs] = await Promise.all([
    listAll<ApiVariable>(variablesPath(at)),
    listAll<{ uuid: string; name: string }>(environmentsPath(workspace, repository)),
  ]);
  const out: Array<[ApiVariable, string | undefined]> = vars.map((v) => [v, undefined]);
  for (const e of [...envs].sort((a, b) => a.name.localeCompare(b.name))) {
    const values = await listAll<ApiVariable>(variablesPath({ ...at, environmentUuid: e.uuid }));
    out.push(...values.map((v): [ApiVariable, string] => [v, e.name]));
  }
  return out;
}

/** The workspace's own variables; a 403 or 404 (not an admin) is said and reads as none. */
const workspaceVariables = (sink: Pick<ExportSink, "container" | "optional">) =>
  sink.optional(`workspace variables of ${sink.container}`, () =>
    listAll<ApiVariable>(variablesPath({ workspace: sink.container })),
  );

/** Export's entry of a variable: a secured value becomes a reference to set, a plain one is written. */
function variableEntry(
  v: ApiVariable,
  sink: Pick<ExportSink, "container" | "secret"> & Partial<Pick<ExportSink, "warn">>,
  repository?: string,
  environment?: string,
): Record<string, unknown> {
  const where = `${sink.container}/${repository ?? "(workspace)"}${environment ? ` (${environment})` : ""}`;
  const like = v.secured ? undefined : credentialPattern(v.key);
  if (like !== undefined)
    sink.warn?.(
      `variable ${v.key} on ${where} is not secured and looks like a credential (${like}): its value is written here as Bitbucket shows it; take it out of the file, make the variable secured in Bitbucket and rotate it`,
    );
  return {
    ...(repository !== undefined && { repositories: [repository] }),
    ...(environment !== undefined && { environment }),
    key: v.key,
    ...(v.secured
      ? {
          value: sink.secret(
            repository === undefined
              ? { kind: "workspace-variable", parts: [v.key] }
              : environment === undefined
                ? { kind: "variable", parts: [repository, v.key] }
                : { kind: "deployment-variable", parts: [repository, environment, v.key] },
            `secured variable ${v.key} on ${where}`,
          ),
        }
      : { value: v.value ?? "", secured: false }),
    adopt: true,
  };
}

/**
 * A variable as audit reads it: `variable KEY on acme/api (Production)`. Its entry is secured, its
 * value a reference: a report never copies a value, even one Bitbucket shows in clear.
 */
function auditVariable(v: ApiVariable, sink: AuditSink, repository?: string, environment?: string): void {
  const place = repository === undefined ? `workspace ${sink.container}` : `${sink.container}/${repository}`;
  sink.add({
    what: `variable ${v.key} on ${place}${environment !== undefined ? ` (${environment})` : ""}`,
    subject: { kind: "variable", key: v.key, secured: v.secured === true },
    entry: variableEntry({ ...v, secured: true }, sink, repository, environment),
    ...(!v.secured && {
      note: "its value is in clear in Bitbucket: the entry secures it (set the reference to a new value)",
    }),
  });
}
