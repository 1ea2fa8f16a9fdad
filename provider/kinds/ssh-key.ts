// SSH keys: `sshKeys:` entries, keys of the credentials' account (Cloud) or of a user (Data
// Center). The resource: provider/resources/ssh-key.ts.

import { sshKeysPath } from "../api/cloud";
import { getCached } from "../api/client";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import { changesOf, lookup, SshKey, sshKeyProvider, type ApiKey } from "../resources/ssh-key";
import { text } from "./checks";
import type { EntryBase, KindDescriptor } from "./kind";

export interface SshKeyEntry extends EntryBase {
  user?: string;
  key: string;
  label?: string;
}

export const sshKeys = {
  key: "sshKeys",
  type: "SshKey",
  schema: "sshKey",
  fields: ["user", "key", "label", "adopt", "retainOnDelete"],
  flavors: { cloud: true, datacenter: true },
  placed: false,
  expand(s, ctx) {
    const k = ctx.keyOf(s, "key");
    if (k !== undefined)
      ctx.add(
        { name: `ssh-key/${s.user ?? "me"}/${k.part}` },
        `this SSH key on ${s.user ?? "the account"}`,
        naturalKey.sshKey(s.user, k.fingerprint),
      );
  },
  declare(s, k, ctx) {
    const r = new SshKey(
      s.name,
      { ...ctx.flavorArg, user: k.user, key: k.key, label: k.label, adopt: k.adopt },
      ctx.opts,
    );
    return { resource: r, output: r.fingerprint };
  },
  subject: (i) => ({ kind: "key", key: text(i.key), account: true }),
  plan: { check: sshKeyProvider.check!, lookup, read: sshKeyProvider.read!, changes: changesOf },
  export: {
    async account(sink) {
      const me = await sink.optional("the credentials' account", async () => [
        await getCached<{ uuid: string }>("/user"),
      ]);
      if (!me[0]) return;
      for (const k of await sink.optional("the account's SSH keys", () =>
        listAll<ApiKey>(sshKeysPath(me[0]!.uuid)),
      )) {
        sink.add({
          key: `${k.key}${k.comment ? ` ${k.comment}` : ""}`,
          ...(k.label && { label: k.label }),
          adopt: true,
        });
      }
    },
  },
} satisfies KindDescriptor<SshKeyEntry, "sshKeys", "SshKey">;
