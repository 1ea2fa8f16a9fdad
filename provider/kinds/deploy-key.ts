// Deploy keys: `deployKeys:` entries. Cloud: a key per repository, or a project's key; Data Center:
// an access key per repository, or (no repositories) per project. The resource:
// provider/resources/deploy-key.ts.

import { deployKeysPath, ownerLabel, scopeLabel } from "../api/cloud";
import { dcAccessKeysPath, dcScopeLabel } from "../api/datacenter";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import {
  changesOf,
  DeployKey,
  deployKeyProvider,
  lookup,
  type ApiKey,
  type DcAccessKey,
} from "../resources/deploy-key";
import { keyShown } from "../ssh";
import { labelled, permissionProblem, text } from "./checks";
import type { AuditSink, CheckContext, Entry, ExportSink, KindDescriptor, Problem, Selector } from "./kind";

export interface DeployKeyEntry extends Entry {
  repositories?: Selector;
  key: string;
  label?: string;
  /** Data Center: REPO_READ... or PROJECT_READ... */
  permission?: string;
}

export const deployKeys = {
  key: "deployKeys",
  type: "DeployKey",
  schema: "deployKey",
  fields: [
    "workspace", "project", "projects", "repositories", "key", "label", "permission", "adopt", "retainOnDelete",
  ], // prettier-ignore
  flavors: { cloud: true, datacenter: true },
  placed: true,
  // Cloud names a project key's project on the entry.
  dataCenterFields: ["projects", "permission"],
  check: (ctx) => (ctx.flavor === "cloud" ? cloudCheck(ctx) : permissionCheck(ctx)),
  expand(d, ctx) {
    const k = ctx.keyOf(d, "key");
    if (k === undefined) return;
    if (!ctx.dc && d.project !== undefined) {
      ctx.add(
        { name: `deploy-key/${d.workspace}/project:${d.project}/${k.part}`, workspace: d.workspace },
        `this key on project ${d.project}`,
        naturalKey.deployKey(d.workspace, `project:${d.project}`, k.fingerprint),
      );
    }
    // Cloud: repository keys; Data Center: those, or without repositories a key on each project.
    for (const t of ctx.dc ? ctx.targets(d, true) : d.project === undefined ? ctx.targets(d, false) : []) {
      ctx.add(
        { name: `deploy-key/${t.container}/${t.repository ?? "*"}/${k.part}`, ...ctx.placeOf(t) },
        `this key on ${ctx.shown(t)}`,
        naturalKey.deployKey(t.container, t.repository ?? "*", k.fingerprint),
      );
    }
  },
  declare(s, d, ctx) {
    const r = new DeployKey(
      s.name,
      {
        ...ctx.where,
        ...(!ctx.dc && d.project !== undefined && { project: d.project }),
        ...(d.permission !== undefined && { permission: d.permission }),
        key: d.key,
        label: d.label,
        adopt: d.adopt,
      },
      ctx.opts,
    );
    return { resource: r, output: r.fingerprint };
  },
  subject: (i) => ({
    kind: "key",
    key: text(i.key),
    ...(typeof i.permission === "string" && { permission: i.permission }),
  }),
  plan: {
    check: deployKeyProvider.check!,
    lookup,
    read: deployKeyProvider.read!,
    changes: changesOf,
    // deploy-key.ts: POST {keys}. Adopting one with another label: Cloud repository keys PUT it,
    // elsewhere the key is deleted and added again; another permission (Data Center): one PUT.
    // Update: Cloud PUT {keys}/{id}, Data Center PUT {keys}/{id}/permission/{p}.
    requests: {
      create: () => ["POST"],
      adopt: (differs, n) =>
        differs.includes("label")
          ? n.flavor === "datacenter" || n.project !== undefined
            ? ["DELETE", "POST"]
            : ["PUT"]
          : differs.includes("permission")
            ? ["PUT"]
            : [],
      update: () => ["PUT"],
      delete: () => ["DELETE"],
    },
  },
  export: {
    cloud: {
      async repository(repository, sink) {
        for (const k of await listAll<ApiKey>(deployKeysPath({ workspace: sink.container, repository })))
          sink.add(cloudEntry(k, { repositories: [repository] }));
      },
    },
    datacenter: {
      async repository(repository, sink) {
        const at = { project: sink.container, repository };
        for (const k of await accessKeys(at, sink)) sink.add(accessKeyEntry(k, at));
      },
      async container(sink) {
        const at = { project: sink.container };
        for (const k of await accessKeys(at, sink)) sink.add(accessKeyEntry(k, at));
      },
    },
  },
  audit: {
    cloud: {
      async repository(repository, sink) {
        const owner = { workspace: sink.container, repository };
        for (const k of await listAll<ApiKey>(deployKeysPath(owner)))
          auditCloudKey(k, scopeLabel(owner), { repositories: [repository] }, sink);
      },
      // The deploy keys of the projects the repositories read are in (one list per project).
      async container(sink) {
        for (const project of sink.projects) {
          const owner = { workspace: sink.container, project };
          const keys = await sink.optional(`deploy keys of ${ownerLabel(owner)}`, () =>
            listAll<ApiKey>(deployKeysPath(owner)),
          );
          for (const k of keys) auditCloudKey(k, ownerLabel(owner), { project }, sink);
        }
      },
    },
    datacenter: {
      async repository(repository, sink) {
        const at = { project: sink.container, repository };
        for (const k of await accessKeys(at, sink)) auditAccessKey(k, at, sink);
      },
      async container(sink) {
        const at = { project: sink.container };
        for (const k of await accessKeys(at, sink)) auditAccessKey(k, at, sink);
      },
    },
  },
} satisfies KindDescriptor<DeployKeyEntry, "deployKeys", "DeployKey">;

/** Cloud: repository keys or a project's key, one of the two. */
function cloudCheck(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  ctx.list("deployKeys").forEach((e, i) => {
    if (e?.repositories !== undefined && e?.project !== undefined) {
      problems.push({
        loc: ctx.at(["deployKeys", i, "project"]),
        message: "give repositories (repository keys) or project (a project key), not both",
      });
    } else if (e && typeof e === "object" && e.repositories === undefined && e.project === undefined) {
      problems.push({
        loc: ctx.at(["deployKeys", i]),
        message: "give repositories (repository keys) or project (a project key)",
      });
    }
  });
  return problems;
}

/** Data Center: a repository key takes a repository permission, a project key a project one. */
function permissionCheck(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  ctx.list("deployKeys").forEach((e, i) => {
    const onRepos = e?.repositories !== undefined;
    const why = permissionProblem(ctx, e?.permission, onRepos, onRepos ? "repository keys" : "project keys");
    if (why) problems.push({ loc: ctx.at(["deployKeys", i, "permission"]), message: why });
  });
  return problems;
}

/** Export's entry of a Cloud deploy key, on its repositories or its project (`where`). */
const cloudEntry = (k: ApiKey, where: { repositories: string[] } | { project: string }) => ({
  ...where,
  key: `${k.key}${k.comment ? ` ${k.comment}` : ""}`,
  ...(k.label && { label: k.label }),
  adopt: true,
});

/** A Cloud deploy key (read-only, whatever the policy says of permissions) as audit reads it. */
function auditCloudKey(
  k: ApiKey,
  place: string,
  where: { repositories: string[] } | { project: string },
  sink: AuditSink,
): void {
  sink.add({
    what: `deploy key ${keyShown(k.key)}${labelled(k.label)} on ${place}`,
    subject: { kind: "key", key: k.key },
    entry: cloudEntry(k, where),
  });
}

/**
 * The access keys of a Data Center repository, or of a project itself: those need a project admin,
 * so a refusal is said (`optional`) and reads as none.
 */
async function accessKeys(
  at: { project: string; repository?: string },
  sink: Pick<ExportSink, "optional">,
): Promise<DcAccessKey[]> {
  const read = () => listAll<DcAccessKey>(dcAccessKeysPath(at));
  return at.repository !== undefined ? read() : sink.optional(`access keys of project ${at.project}`, read);
}

/** The entry of a Data Center access key of a repository or project, with its permission (export's and audit's). */
const accessKeyEntry = (k: DcAccessKey, at: { project: string; repository?: string }) => ({
  project: at.project,
  ...(at.repository !== undefined && { repositories: [at.repository] }),
  key: k.key.text,
  ...(k.key.label && { label: k.key.label }),
  permission: k.permission,
  adopt: true,
});

/** A Data Center access key of a repository or project, with its permission, as audit reads it. */
function auditAccessKey(k: DcAccessKey, at: { project: string; repository?: string }, sink: AuditSink) {
  sink.add({
    what: `access key ${keyShown(k.key.text)}${labelled(k.key.label)} on ${dcScopeLabel(at)} (${k.permission})`,
    subject: { kind: "key", key: k.key.text, permission: k.permission },
    entry: accessKeyEntry(k, at),
  });
}
