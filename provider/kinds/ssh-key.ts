// SSH keys: `sshKeys:` entries, keys of the credentials' account (Cloud) or of a user (Data
// Center). The resource: provider/resources/ssh-key.ts.

import { sshKeysPath } from "../api/cloud";
import { getCached } from "../api/client";
import { dcSshKeysPath } from "../api/datacenter";
import { listAll } from "../api/paginate";
import { naturalKey } from "../names";
import { changesOf, lookup, SshKey, sshKeyProvider, type ApiKey, type DcSshKey } from "../resources/ssh-key";
import { keyShown } from "../ssh";
import { labelled, text } from "./checks";
import type { EntryBase, ExportSink, KindDescriptor } from "./kind";

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
  plan: {
    check: sshKeyProvider.check!,
    lookup,
    read: sshKeyProvider.read!,
    changes: changesOf,
    // ssh-key.ts: POST {keys}; adopting one with another label: Cloud PUTs it, Data Center deletes
    // and adds it again (no update there); PUT and DELETE {keys}/{id}.
    requests: {
      create: () => ["POST"],
      adopt: (differs, n) =>
        differs.includes("label") ? (n.flavor === "datacenter" ? ["DELETE", "POST"] : ["PUT"]) : [],
      update: () => ["PUT"],
      delete: () => ["DELETE"],
    },
  },
  export: {
    cloud: {
      async account(sink) {
        for (const k of await accountKeys(sink)) sink.add(cloudEntry(k));
      },
    },
    datacenter: {
      // The credentials' own keys (`--user`: that user's, an admin's read).
      async account(sink) {
        const named = sink.named;
        const keys = await sink.optional(`the SSH keys of ${userShown(named)}`, () =>
          listAll<DcSshKey>(dcSshKeysPath(named)),
        );
        for (const k of keys) sink.add(dcEntry(k, named));
      },
    },
  },
  audit: {
    cloud: {
      async account(sink) {
        for (const k of await accountKeys(sink))
          sink.add({
            what: `SSH key ${keyShown(k.key)}${labelled(k.label)} of the account`,
            subject: { kind: "key", key: k.key, account: true },
            entry: cloudEntry(k),
          });
      },
    },
    datacenter: {
      // The credentials' own keys (`--user`: that user's, an admin's read).
      async account(sink) {
        const user = await sink.user();
        const named = sink.named ? user : undefined;
        const keys = await sink.optional(`the SSH keys of ${userShown(user)}`, () =>
          listAll<DcSshKey>(dcSshKeysPath(named)),
        );
        for (const k of keys)
          sink.add({
            what: `SSH key ${keyShown(k.text)}${labelled(k.label)} of ${userShown(user)}`,
            subject: { kind: "key", key: k.text, account: true },
            entry: dcEntry(k, named),
          });
      },
    },
  },
} satisfies KindDescriptor<SshKeyEntry, "sshKeys", "SshKey">;

/** The credentials' account's SSH keys (Cloud); a 403 or 404 is said and reads as none. */
async function accountKeys(sink: Pick<ExportSink, "optional">): Promise<ApiKey[]> {
  const me = await sink.optional("the credentials' account", async () => [
    await getCached<{ uuid: string }>("/user"),
  ]);
  if (!me[0]) return [];
  return sink.optional("the account's SSH keys", () => listAll<ApiKey>(sshKeysPath(me[0]!.uuid)));
}

/** Export's entry of a Cloud account key. */
const cloudEntry = (k: ApiKey) => ({
  key: `${k.key}${k.comment ? ` ${k.comment}` : ""}`,
  ...(k.label && { label: k.label }),
  adopt: true,
});

/** A Data Center user in messages: `user ci-bot`, or the credentials' user when unnamed. */
const userShown = (user: string | undefined) => (user ? `user ${user}` : "the credentials' user");

/** The entry of a Data Center user's key (export's and audit's); `user` only when one was named. */
const dcEntry = (k: DcSshKey, user: string | undefined) => ({
  ...(user && { user }),
  key: k.text,
  ...(k.label && { label: k.label }),
  adopt: true,
});
