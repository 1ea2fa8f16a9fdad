// `bitbucket-iac export --workspace W`: a manifest of what exists, to bring a hand-made setup
// under management. Every entry says `adopt: true`, so `pulumi up` takes each object over as it
// is; `plan` on the result reports no changes. Read-only calls:
//
//   GET /repositories/{ws}                          repositories (filtered by --repositories)
//   per repository: hooks, deploy-keys, pipelines_config/variables, pipelines_config/ssh/known_hosts,
//     pipelines_config/ssh/key_pair (404 = none), environments and each one's variables
//   GET /workspaces/{ws}/hooks, /workspaces/{ws}/pipelines-config/variables (403/404: skipped, said)
//   GET /user, /users/{uuid}/ssh-keys               the credentials' own SSH keys
//
// Write-only values (webhook secrets, secured variables, key pairs' private keys) cannot be read:
// they become `{ fromConfig: <key> }` references, one key per object (config-keys.ts: readable,
// never shared), and the keys to set are listed; so does a webhook URL that carries a credential
// (`?token=`, user:password@), named by its host and path. Objects apps own (read-only hooks) are
// left out. Identical entries on several repositories become one entry; an entry of the workspace
// is never merged with one of a repository, and nothing is dropped unsaid.

import * as yaml from "yaml";
import { repositoriesPath } from "../api/cloud";
import { isApiError } from "../api/errors";
import { listAll } from "../api/paginate";
import { KINDS } from "../kinds";
import type { ExportSink } from "../kinds/kind";
import { matchesGlob } from "../glob";
import { SecretRefs } from "./config-keys";

type Entry = Record<string, unknown>;

export interface Exported {
  /** The manifest text (YAML, with a header saying how it was made and what to set). */
  text: string;
  /** Stack config keys the manifest's `fromConfig` references need, with what each holds. */
  configKeys: Array<{ key: string; holds: string }>;
  /** Objects found, by kind. */
  counts: Record<string, number>;
  /** What was left out, and why. */
  skipped: string[];
}

/** The kinds export reads back (kinds/: each kind's `export`), in the manifest's order. */
const EXPORTED = KINDS.flatMap((k) => (k.export ? [{ key: k.key, placed: k.placed, ...k.export }] : []));

/** Reads everything of `workspace` (repositories matching `glob`) and writes it as a manifest. */
export async function exportWorkspace(
  workspace: string,
  glob: string | undefined,
  progress: { start(total: number): { tick(): void; done(): void } },
): Promise<Exported> {
  const skipped: string[] = [];
  const secrets = new SecretRefs();
  const entries = new Map<string, Entry[]>(EXPORTED.map((k) => [k.key, []]));
  /**
   * Reads each kind (in parallel) and keeps what they say in the order of the kinds, whichever
   * answer comes first: the config keys and skipped objects are listed the same in every run.
   */
  const read = async (how: (k: (typeof EXPORTED)[number], sink: ExportSink) => Promise<void> | undefined) => {
    const said = EXPORTED.map(() => ({ secrets: new SecretRefs(), skipped: [] as string[] }));
    await Promise.all(EXPORTED.map((k, i) => how(k, sinkOf(workspace, entries.get(k.key)!, said[i]!))));
    for (const s of said) {
      secrets.take(s.secrets);
      skipped.push(...s.skipped);
    }
  };
  const repos = (await listAll<{ slug: string }>(repositoriesPath(workspace)))
    .map((r) => r.slug)
    .filter((slug) => glob === undefined || matchesGlob(glob, slug))
    .sort();
  const p = progress.start(repos.length);
  for (const repo of repos) {
    await read((k, sink) => k.repository?.(repo, sink));
    p.tick();
  }
  p.done();
  // Workspace-wide objects need a workspace admin: without the access, say so and go on.
  if (glob === undefined) await read((k, sink) => k.workspace?.(sink));
  await read((k, sink) => k.account?.(sink));

  const configKeys = secrets.settle();
  const manifest: Record<string, unknown> = { version: 1, workspace };
  const counts: Record<string, number> = {};
  for (const { key, placed } of EXPORTED) {
    const written = grouped(entries.get(key)!, (r) => {
      const where = r !== undefined ? `${workspace}/${r}` : placed ? `workspace ${workspace}` : "the account";
      skipped.push(
        `${key} on ${where}: a second identical object (one entry manages one; delete the duplicate)`,
      );
    });
    // What the file declares: one object per entry and repository.
    counts[key] = written.reduce(
      (n, e) => n + (Array.isArray(e.repositories) ? e.repositories.length : 1),
      0,
    );
    if (written.length) manifest[key] = written;
  }
  return { text: render(workspace, glob, manifest, configKeys), configKeys, counts, skipped };
}

/** Where a kind's exporter puts what it reads: its entries, and what it says (secrets, skips). */
function sinkOf(
  workspace: string,
  entries: Entry[],
  said: { secrets: SecretRefs; skipped: string[] },
): ExportSink {
  return {
    workspace,
    add: (entry) => entries.push(entry),
    secret: (scope, holds) => said.secrets.ref(scope, holds),
    skip: (message) => said.skipped.push(message),
    optional: (what, read) => optionalRead(what, read, said.skipped, "not exported"),
  };
}

/**
 * Reads what needs more access: an answer of `statuses` (403 or 404; Data Center answers too
 * little permission with 401) is said, as `what` and then `outcome`, and reads as nothing.
 */
export async function optionalRead<T>(
  what: string,
  read: () => Promise<T[]>,
  said: string[],
  outcome: string,
  statuses: readonly number[] = [403, 404],
): Promise<T[]> {
  try {
    return await read();
  } catch (e) {
    if (isApiError(e) && statuses.includes(e.status)) {
      said.push(`${what}: not readable with these credentials (${e.status}); ${outcome}`);
      return [];
    }
    throw e;
  }
}

/**
 * Entries of repositories equal but for their repositories become one entry listing them all.
 * An entry without repositories (the workspace's, the account's) is never merged with one that
 * has them; an entry equal to one already there for the same place is left out, and `duplicate`
 * hears of it with the repository (none: the workspace's or the account's).
 */
function grouped(entries: Entry[], duplicate: (repository?: string) => void): Entry[] {
  const byRest = new Map<string, Entry & { repositories?: string[] }>();
  for (const e of entries) {
    const { repositories, ...rest } = e as Entry & { repositories?: string[] };
    const key = JSON.stringify([repositories !== undefined, rest]);
    const before = byRest.get(key);
    if (!before) byRest.set(key, { ...(repositories && { repositories: [...repositories] }), ...rest });
    else if (!before.repositories || !repositories) duplicate();
    else {
      for (const r of repositories) {
        if (before.repositories.includes(r)) duplicate(r);
        else before.repositories.push(r);
      }
    }
  }
  return [...byRest.values()];
}

function render(
  workspace: string,
  glob: string | undefined,
  manifest: Record<string, unknown>,
  keys: Exported["configKeys"],
): string {
  const doc = new yaml.Document(manifest);
  const lines = [
    ` Exported by \`bitbucket-iac export --workspace ${workspace}${glob !== undefined ? ` --repositories "${glob}"` : ""}\`.`,
    " Every entry says adopt: true: `pulumi up` takes each object over as it is.",
    ...(keys.length
      ? [
          " Write-only values cannot be read back; set them before `pulumi up`:",
          ...keys.map((k) => `   pulumi config set --secret ${k.key} <value>   # ${k.holds}`),
        ]
      : []),
  ];
  doc.commentBefore = lines.join("\n");
  return doc.toString({ lineWidth: 0 }); // main.ts puts the `$schema` line first (schema-ref.ts)
}
