// Pipelines SSH key pairs: `pipelineSshKeyPairs:` entries (Cloud only), one per repository. The
// resource: provider/resources/pipeline-ssh-key-pair.ts.

import { pipelinesSshPath } from "../api/cloud";
import { getOrUndefined } from "../api/client";
import { naturalKey } from "../names";
import {
  changesOf,
  lookup,
  PipelineSshKeyPair,
  pipelineSshKeyPairProvider,
} from "../resources/pipeline-ssh-key-pair";
import type { Entry, KindDescriptor, SecretRef, Selector } from "./kind";
import { NO_PIPELINES, text } from "./checks";

export interface PipelineSshKeyPairEntry extends Entry {
  repositories: Selector;
  privateKey: SecretRef;
  publicKey: string;
}

export const pipelineSshKeyPairs = {
  key: "pipelineSshKeyPairs",
  type: "PipelineSshKeyPair",
  schema: "pipelineSshKeyPair",
  fields: ["workspace", "repositories", "privateKey", "publicKey", "adopt", "retainOnDelete"],
  flavors: { cloud: true, datacenter: NO_PIPELINES },
  placed: true,
  expand(p, ctx) {
    ctx.keyOf(p, "publicKey");
    for (const repo of ctx.targets(p, false).map((t) => t.repository)) {
      ctx.add(
        { name: `ssh-key-pair/${p.workspace}/${repo}`, workspace: p.workspace, repository: repo },
        `the key pair of ${p.workspace}/${repo}`,
        naturalKey.keyPair(p.workspace, repo ?? ""),
      );
    }
  },
  declare(s, p, ctx) {
    const r = new PipelineSshKeyPair(
      s.name,
      {
        workspace: ctx.cloudWhere.workspace,
        repository: s.repository ?? "",
        privateKey: ctx.secret(p.privateKey, "privateKey"),
        publicKey: p.publicKey,
        adopt: p.adopt,
      },
      ctx.opts,
    );
    return { resource: r, output: r.fingerprint };
  },
  subject: (i) => ({ kind: "key", key: text(i.publicKey), account: true }),
  policyFields: { key: "publicKey" },
  plan: {
    check: pipelineSshKeyPairProvider.check!,
    lookup,
    read: pipelineSshKeyPairProvider.read!,
    changes: changesOf,
    secretHashes: { privateKey: "privateKeyHash" },
    updateRemakes: true,
  },
  export: {
    async repository(repository, sink) {
      const pair = await getOrUndefined<{ public_key?: string }>(
        `${pipelinesSshPath(sink.workspace, repository)}/key_pair`,
      );
      if (!pair?.public_key) return;
      sink.add({
        repositories: [repository],
        privateKey: sink.secret(
          { kind: "ssh-key-pair", parts: [repository] },
          `the private key of the Pipelines SSH key pair of ${sink.workspace}/${repository}`,
        ),
        publicKey: pair.public_key,
        adopt: true,
      });
    },
  },
} satisfies KindDescriptor<PipelineSshKeyPairEntry, "pipelineSshKeyPairs", "PipelineSshKeyPair">;
