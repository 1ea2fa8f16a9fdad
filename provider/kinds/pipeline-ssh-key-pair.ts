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
import { keyShown } from "../ssh";
import type { Entry, ExportSink, KindDescriptor, SecretRef, Selector } from "./kind";
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
    // pipeline-ssh-key-pair.ts: its lookup is a GET of {pair} of its own (not a listing), then a
    // PUT, created or adopted alike; update PUT, delete DELETE {pair}.
    requests: {
      create: () => ["GET", "PUT"],
      adopt: () => ["GET", "PUT"],
      update: () => ["PUT"],
      delete: () => ["DELETE"],
      lookup: ["GET"],
    },
  },
  export: {
    cloud: {
      async repository(repository, sink) {
        const publicKey = await publicKeyOf(sink.container, repository);
        if (publicKey !== undefined) sink.add(pairEntry(publicKey, repository, sink));
      },
    },
  },
  audit: {
    cloud: {
      async repository(repository, sink) {
        const publicKey = await publicKeyOf(sink.container, repository);
        if (publicKey === undefined) return;
        sink.add({
          what: `Pipelines SSH key pair ${keyShown(publicKey)} of ${sink.container}/${repository}`,
          // The repository's own key, not a grant: readOnly does not apply, its type and size do.
          subject: { kind: "key", key: publicKey, account: true },
          entry: pairEntry(publicKey, repository, sink),
        });
      },
    },
    datacenter: NO_PIPELINES,
  },
} satisfies KindDescriptor<PipelineSshKeyPairEntry, "pipelineSshKeyPairs", "PipelineSshKeyPair">;

/** The public key of a repository's Pipelines key pair; undefined when it has none (404). */
async function publicKeyOf(workspace: string, repository: string): Promise<string | undefined> {
  const pair = await getOrUndefined<{ public_key?: string }>(
    `${pipelinesSshPath(workspace, repository)}/key_pair`,
  );
  return pair?.public_key || undefined;
}

/** Export's entry of a key pair: the private key is a reference to set. */
const pairEntry = (
  publicKey: string,
  repository: string,
  sink: Pick<ExportSink, "container" | "secret">,
) => ({
  repositories: [repository],
  privateKey: sink.secret(
    { kind: "ssh-key-pair", parts: [repository] },
    `the private key of the Pipelines SSH key pair of ${sink.container}/${repository}`,
  ),
  publicKey,
  adopt: true,
});
