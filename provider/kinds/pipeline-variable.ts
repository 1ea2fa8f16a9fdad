// Pipelines variables: `pipelineVariables:` entries (Cloud only), of the workspace, a repository,
// or a repository's deployment environment. The resource: provider/resources/pipeline-variable.ts.

import { environmentsPath, variablesPath } from "../api/cloud";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import {
  changesOf,
  lookup,
  PipelineVariable,
  pipelineVariableProvider,
  type ApiVariable,
} from "../resources/pipeline-variable";
import { NO_PIPELINES } from "./checks";
import { text } from "./checks";
import type { CheckContext, Entry, ExportSink, KindDescriptor, Problem, SecretRef, Selector } from "./kind";

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
  },
  export: {
    async repository(repository, sink) {
      const at = { workspace: sink.workspace, repository };
      const [vars, envs] = await Promise.all([
        listAll<ApiVariable>(variablesPath(at)),
        listAll<{ uuid: string; name: string }>(environmentsPath(sink.workspace, repository)),
      ]);
      variableEntries(vars, sink, repository);
      for (const e of [...envs].sort((a, b) => a.name.localeCompare(b.name))) {
        const values = await listAll<ApiVariable>(variablesPath({ ...at, environmentUuid: e.uuid }));
        variableEntries(values, sink, repository, e.name);
      }
    },
    workspace: async (sink) =>
      variableEntries(
        await sink.optional(`workspace variables of ${sink.workspace}`, () =>
          listAll<ApiVariable>(variablesPath({ workspace: sink.workspace })),
        ),
        sink,
      ),
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

/** Export's entries of variables: a secured value becomes a reference to set, a plain one is written. */
function variableEntries(vars: ApiVariable[], sink: ExportSink, repository?: string, environment?: string) {
  for (const v of vars) {
    const where = `${sink.workspace}/${repository ?? "(workspace)"}${environment ? ` (${environment})` : ""}`;
    sink.add({
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
    });
  }
}
