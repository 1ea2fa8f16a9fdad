// `bitbucket-iac export`: a manifest of what exists, to bring a hand-made setup under management.
// Every entry says `adopt: true`, so `pulumi up` takes each object over as it is; `plan` on the
// result reports no changes. Read-only calls; each kind reads its own objects (kinds/*.ts,
// `export`, per flavor), and this file loops over them.
//
// Cloud (`--workspace W [--repositories GLOB]`):
//   GET /repositories/{ws}                          repositories (filtered by --repositories)
//   per repository: hooks, deploy-keys, pipelines_config/variables, pipelines_config/ssh/known_hosts,
//     pipelines_config/ssh/key_pair (404 = none), environments and each one's variables
//   GET /workspaces/{ws}/hooks, /workspaces/{ws}/pipelines-config/variables (403/404: skipped, said)
//   GET /user, /users/{uuid}/ssh-keys               the credentials' own SSH keys
//
// Data Center (`--project P ... [--repositories GLOB] [--user SLUG]`):
//   per project: GET /rest/api/latest/projects/{p}/repos; per repository: webhooks, access keys
//     (/rest/keys/.../ssh), access tokens; the project's own (without --repositories; 401/403/404
//     said): webhooks, access keys, access tokens
//   the user's SSH keys (GET /rest/ssh/latest/keys) and personal tokens (the credentials' user is
//     found as audit finds it: reading.ts)
// A token's value is shown only when it is made: tokens get no entry, and export says which it found.
//
// Write-only values (webhook secrets, secured variables, key pairs' private keys) cannot be read:
// they become `{ fromConfig: <key> }` references, one key per object (config-keys.ts: readable,
// never shared), and the keys to set are listed; so does a webhook URL that carries a credential
// (`?token=`, user:password@), named by its host and path. Objects apps own (read-only hooks) are
// left out. Identical entries on several repositories become one entry; an entry of the workspace
// or a project is never merged with one of a repository, and nothing is dropped unsaid: what is
// left out is listed, on stderr and in the file's header.

import * as yaml from "yaml";
import { KINDS } from "../kinds";
import type { ExportSink } from "../kinds/kind";
import type { Flavor } from "../resources/validate";
import { SecretRefs } from "./config-keys";
import { memo, optionalRead, repositoriesOf, userOf, type ReadTarget } from "./reading";

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
  /** What the file holds that whoever commits it must see. */
  warnings: string[];
}

/** The kinds export reads back on a flavor (kinds/: each kind's `export`), in the manifest's order. */
const exportersOf = (flavor: Flavor) =>
  KINDS.flatMap((k) => {
    const e = k.export?.[flavor];
    return e ? [{ key: k.key, placed: k.placed, ...e }] : [];
  });

type Reader = ReturnType<typeof exportersOf>[number];

/**
 * Reads everything of the workspace or projects (repositories matching the glob; their own objects
 * only without one) and the account's, and writes it as a manifest.
 */
export async function exportFrom(
  target: ReadTarget,
  progress: { start(total: number): { tick(): void; done(): void } },
): Promise<Exported> {
  const readers = exportersOf(target.flavor);
  const dc = target.flavor === "datacenter";
  const skipped: string[] = [];
  const warnings: string[] = [];
  const secrets = new SecretRefs();
  const entries = new Map<string, Entry[]>(readers.map((k) => [k.key, []]));
  const user = memo(() => (dc ? userOf(target, skipped) : Promise.resolve(undefined)));
  /**
   * Reads each kind (in parallel) and keeps what they say in the order of the kinds, whichever
   * answer comes first: the config keys and skipped objects are listed the same in every run.
   */
  const read = async (container: string, how: (k: Reader, sink: ExportSink) => Promise<void> | undefined) => {
    const said = readers.map(() => ({
      secrets: new SecretRefs(),
      skipped: [] as string[],
      warnings: [] as string[],
    }));
    await Promise.all(
      readers.map((k, i) => {
        const s = said[i]!;
        return how(k, {
          container,
          add: (entry) => entries.get(k.key)!.push(entry),
          secret: (scope, holds) => s.secrets.ref(scope, holds),
          skip: (message) => s.skipped.push(message),
          warn: (message) => s.warnings.push(message),
          // Data Center answers too little permission with 401.
          optional: (what, list) =>
            optionalRead(what, list, s.skipped, "not exported", dc ? [401, 403, 404] : [403, 404]),
          user,
          ...(target.user !== undefined && { named: target.user }),
        });
      }),
    );
    for (const s of said) {
      secrets.take(s.secrets);
      skipped.push(...s.skipped);
      warnings.push(...s.warnings);
    }
  };
  const places = await repositoriesOf(target);
  const p = progress.start(places.reduce((n, place) => n + place.repositories.length, 0));
  for (const place of places)
    for (const repo of place.repositories) {
      await read(place.container, (k, sink) => k.repository?.(repo, sink));
      p.tick();
    }
  p.done();
  // The workspace's or a project's own objects need an admin: without the access, say so and go on.
  if (target.glob === undefined)
    for (const place of places) await read(place.container, (k, sink) => k.container?.(sink));
  await read(target.containers[0] ?? "", (k, sink) => k.account?.(sink));

  const configKeys = secrets.settle();
  const manifest: Record<string, unknown> = {
    version: 1,
    ...(dc ? { flavor: "datacenter" } : { workspace: target.containers[0] }),
  };
  const counts: Record<string, number> = {};
  for (const { key, placed } of readers) {
    const written = grouped(entries.get(key)!, (e, r) => {
      const where = placeShown(target, e, placed, r);
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
  const text = render(target, manifest, configKeys, skipped, warnings);
  return { text, configKeys, counts, skipped, warnings };
}

/** Where an entry's object is, in messages: `acme/api`, `workspace acme`, `PROJ/api`, `project PROJ`, the account. */
function placeShown(t: ReadTarget, e: Entry, placed: boolean, repository: string | undefined): string {
  const container = typeof e.project === "string" ? e.project : (t.containers[0] ?? "");
  if (repository !== undefined) return `${container}/${repository}`;
  if (!placed) return "the account";
  return t.flavor === "datacenter" ? `project ${container}` : `workspace ${container}`;
}

/**
 * Entries of repositories equal but for their repositories become one entry listing them all.
 * An entry without repositories (the workspace's, the account's) is never merged with one that
 * has them; an entry equal to one already there for the same place is left out, and `duplicate`
 * hears of it with the repository (none: the workspace's, the project's or the account's).
 */
function grouped(entries: Entry[], duplicate: (e: Entry, repository?: string) => void): Entry[] {
  const byRest = new Map<string, Entry & { repositories?: string[] }>();
  for (const e of entries) {
    const { repositories, ...rest } = e as Entry & { repositories?: string[] };
    const key = JSON.stringify([repositories !== undefined, rest]);
    const before = byRest.get(key);
    // A copy in the entry's own order (Data Center's name their project first).
    if (!before) byRest.set(key, { ...e, ...(repositories && { repositories: [...repositories] }) });
    else if (!before.repositories || !repositories) duplicate(e);
    else {
      for (const r of repositories) {
        if (before.repositories.includes(r)) duplicate(e, r);
        else before.repositories.push(r);
      }
    }
  }
  return [...byRest.values()];
}

/** The command that made the export, as its header shows it. */
const commandOf = (t: ReadTarget) =>
  [
    "bitbucket-iac export",
    t.flavor === "datacenter" ? `--project ${t.containers.join(",")}` : `--workspace ${t.containers[0]}`,
    ...(t.glob !== undefined ? [`--repositories "${t.glob}"`] : []),
    ...(t.user !== undefined ? [`--user ${t.user}`] : []),
  ].join(" ");

function render(
  target: ReadTarget,
  manifest: Record<string, unknown>,
  keys: Exported["configKeys"],
  skipped: string[],
  warnings: string[],
): string {
  const doc = new yaml.Document(manifest);
  const lines = [
    ` Exported by \`${commandOf(target)}\`.`,
    " Every entry says adopt: true: `pulumi up` takes each object over as it is.",
    ...(keys.length
      ? [
          " Write-only values cannot be read back; set them before `pulumi up`:",
          ...keys.map((k) => `   pulumi config set --secret ${k.key} <value>   # ${k.holds}`),
        ]
      : []),
    ...(skipped.length ? [" Not exported:", ...skipped.map((s) => `   ${s}`)] : []),
    ...(warnings.length ? [" Before you commit this file:", ...warnings.map((w) => `   ${w}`)] : []),
  ];
  doc.commentBefore = lines.join("\n");
  return doc.toString({ lineWidth: 0 }); // main.ts puts the `$schema` line first (schema-ref.ts)
}
