// `bitbucket-iac audit`: the policy's rules applied to what exists in Bitbucket, managed or not.
// Read-only calls, through the API layer (pagination, the read cache, rate-limit waits, retries);
// each kind reads its own live objects (kinds/*.ts, `audit`), and this file loops over them.
//
// Cloud (`--workspace W [--repositories GLOB]`):
//   GET /repositories/{ws}                           repositories (filtered by the glob)
//   per repository: hooks, deploy-keys, pipelines_config/variables, environments and each one's
//     variables, pipelines_config/ssh/key_pair (404 = none)
//   per project of those repositories: /workspaces/{ws}/projects/{key}/deploy-keys (403/404 said)
//   GET /workspaces/{ws}/hooks, /workspaces/{ws}/pipelines-config/variables (403/404 said)
//   GET /user, /users/{uuid}/ssh-keys                the credentials' own SSH keys
// Cloud has no API that lists access tokens or OAuth consumers: the report says so.
//
// Data Center (`--project P ... [--repositories GLOB] [--user SLUG]`):
//   per project: GET /rest/api/latest/projects/{p}/repos; per repository: webhooks, access keys
//     (/rest/keys/.../ssh), access tokens; the project's own webhooks, access keys, access tokens
//   the credentials' user (the X-AUSERNAME header of GET /rest/api/latest/projects/{p}, its slug
//     from GET /rest/api/latest/users?filter=) and its tokens; GET /rest/ssh/latest/keys
//
// Every object is judged by every layer of the policy (policy/evaluate.ts), and reported with the
// manifest entry that would manage it, as `export` writes it (write-only values as references).

import { KINDS, type Kind } from "../kinds";
import type { AuditSink, LiveObject } from "../kinds/kind";
import { judge, type Layer, type Violation } from "../policy/evaluate";
import type { Flavor } from "../resources/validate";
import { SecretRefs } from "./config-keys";
import { memo, optionalRead, repositoriesOf, userOf, type ReadTarget } from "./reading";

/** What to audit. */
export type AuditTarget = ReadTarget;

/** An object read, with what the policy finds wrong with it. */
export interface Audited extends LiveObject {
  /** Its kind's manifest key: `webhooks`. */
  kind: Kind;
  violations: Violation[];
}

export interface AuditResult {
  flavor: Flavor;
  /** "workspace acme", "project PROJ", "projects PROJ, OPS". */
  target: string;
  /** Where the policy comes from, layer by layer. */
  policy: string[];
  /** Every object read, in the order read (repository by repository, then the workspace's or project's, then the account's). */
  objects: Audited[];
  /** Repositories read. */
  repositories: number;
  /** Objects read, by kind (every kind the flavor can audit, 0 included). */
  counts: Partial<Record<Kind, number>>;
  /** Kinds this flavor cannot audit, and why. */
  notAudited: Array<{ kind: Kind; why: string }>;
  /** What was left unread, and why. */
  notes: string[];
  /** Stack config keys the entries' `fromConfig` references name, with what each holds (as export's). */
  configKeys: Array<{ key: string; holds: string }>;
}

/** The kinds that read live objects on a flavor, with their readers. */
const auditorsOf = (flavor: Flavor) =>
  KINDS.flatMap((k) => {
    const a = k.audit?.[flavor];
    return a !== undefined && typeof a !== "string" ? [{ kind: k.key, ...a }] : [];
  });

type Reader = ReturnType<typeof auditorsOf>[number];

/** At most this many repositories are read at once (the shared limiter bounds the requests themselves). */
const REPOSITORIES_AT_ONCE = 4;

/** Reads every live object of the target and judges each against `layers`. */
export async function audit(
  target: AuditTarget,
  layers: readonly Layer[],
  progress: { start(total: number): { tick(): void; done(): void } },
): Promise<AuditResult> {
  const readers = auditorsOf(target.flavor);
  const notes: string[] = [];
  const secrets = new SecretRefs();
  const user = memo(() =>
    target.flavor === "datacenter" ? userOf(target, notes) : Promise.resolve(undefined),
  );
  /** Reads `how` of every kind at once; keeps what each says in the order of the kinds. */
  const read = async (
    container: string,
    projects: readonly string[],
    how: (r: Reader, sink: AuditSink) => Promise<void> | undefined,
  ): Promise<Omit<Audited, "violations">[]> => {
    const said = readers.map(() => ({ objects: [] as Omit<Audited, "violations">[], notes: [] as string[] }));
    await Promise.all(
      readers.map((r, i) => {
        const sink: AuditSink = {
          container,
          projects,
          add: (o) => said[i]!.objects.push({ kind: r.kind, ...o }),
          secret: (scope, holds) => secrets.ref(scope, holds),
          optional: (what, list) => optionalRead(what, list, said[i]!.notes, "not audited", [401, 403, 404]),
          note: (message) => said[i]!.notes.push(message),
          user,
          ...(target.user !== undefined && { named: target.user }),
        };
        return how(r, sink);
      }),
    );
    notes.push(...said.flatMap((s) => s.notes));
    return said.flatMap((s) => s.objects);
  };

  const places = await repositoriesOf(target);
  const total = places.reduce((n, p) => n + p.repositories.length, 0);
  const p = progress.start(total);
  const found: Array<Omit<Audited, "violations">> = [];
  for (const place of places) {
    const byRepo = await inTurn(place.repositories, REPOSITORIES_AT_ONCE, async (repo) => {
      const objects = await read(place.container, place.projects, (r, sink) => r.repository?.(repo, sink));
      p.tick();
      return objects;
    });
    found.push(...byRepo.flat());
    found.push(...(await read(place.container, place.projects, (r, sink) => r.container?.(sink))));
  }
  p.done();
  found.push(...(await read(target.containers[0] ?? "", [], (r, sink) => r.account?.(sink))));

  const configKeys = secrets.settle();
  const objects = found.map((o) => ({ ...o, violations: judge(o.subject, layers) }));
  const counts: Partial<Record<Kind, number>> = {};
  for (const r of readers) counts[r.kind] = objects.filter((o) => o.kind === r.kind).length;
  return {
    flavor: target.flavor,
    target: targetText(target),
    policy: layers.map((l) => l.source),
    objects,
    repositories: total,
    counts,
    notAudited: notAudited(target.flavor),
    notes,
    configKeys,
  };
}

/** Kinds a flavor cannot audit, with why (their descriptors say it). */
export const notAudited = (flavor: Flavor): Array<{ kind: Kind; why: string }> =>
  KINDS.flatMap((k) => {
    const a = k.audit?.[flavor];
    return typeof a === "string" ? [{ kind: k.key, why: a }] : [];
  });

const targetText = (t: AuditTarget) =>
  t.flavor === "cloud"
    ? `workspace ${t.containers[0]}`
    : `project${t.containers.length === 1 ? "" : "s"} ${t.containers.join(", ")}`;

/** `f` of each item, at most `width` at a time, results in the items' order. */
async function inTurn<T, R>(items: readonly T[], width: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await f(items[i]!);
      } catch (e) {
        next = items.length; // the others stop after the item they are on
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}
