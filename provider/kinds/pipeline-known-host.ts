// Pipelines known hosts: `knownHosts:` entries (Cloud only), on each repository. The resource:
// provider/resources/pipeline-known-host.ts.

import { pipelinesSshPath } from "../api/cloud";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import {
  changesOf,
  lookup,
  PipelineKnownHost,
  pipelineKnownHostProvider,
  type ApiHost,
} from "../resources/pipeline-known-host";
import type { Entry, KindDescriptor, Selector } from "./kind";
import { NO_PIPELINES } from "./checks";

export interface KnownHostEntry extends Entry {
  repositories: Selector;
  hostname: string;
  publicKey: string;
}

export const knownHosts = {
  key: "knownHosts",
  type: "PipelineKnownHost",
  schema: "knownHost",
  fields: ["workspace", "repositories", "hostname", "publicKey", "adopt", "retainOnDelete"],
  flavors: { cloud: true, datacenter: NO_PIPELINES },
  placed: true,
  expand(h, ctx) {
    for (const repo of ctx.targets(h, false).map((t) => t.repository)) {
      ctx.add(
        {
          name: `known-host/${h.workspace}/${repo}/${h.hostname}`,
          workspace: h.workspace,
          repository: repo,
        },
        `known host ${h.hostname} on ${h.workspace}/${repo}`,
        naturalKey.knownHost(h.workspace, repo ?? "", h.hostname),
      );
    }
  },
  declare(s, h, ctx) {
    const r = new PipelineKnownHost(
      s.name,
      {
        workspace: ctx.cloudWhere.workspace,
        repository: s.repository ?? "",
        hostname: h.hostname,
        publicKey: h.publicKey,
        adopt: h.adopt,
      },
      ctx.opts,
    );
    return { resource: r, output: r.uuid };
  },
  plan: {
    check: pipelineKnownHostProvider.check!,
    lookup,
    read: pipelineKnownHostProvider.read!,
    changes: changesOf,
    // pipeline-known-host.ts: POST {hosts}; an adoption PUTs one whose key differs; PUT and DELETE {hosts}/{uuid}.
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
        const path = `${pipelinesSshPath(sink.container, repository)}/known_hosts`;
        for (const h of await listAll<ApiHost>(path)) {
          sink.add({
            repositories: [repository],
            hostname: h.hostname,
            publicKey: `${h.public_key?.key_type ?? ""} ${h.public_key?.key ?? ""}`,
            adopt: true,
          });
        }
      },
    },
  },
} satisfies KindDescriptor<KnownHostEntry, "knownHosts", "PipelineKnownHost">;
