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
import { getCached, getOrUndefined } from "../api/client";
import {
  deployKeysPath,
  environmentsPath,
  hooksPath,
  pipelinesSshPath,
  repositoriesPath,
  sshKeysPath,
  variablesPath,
} from "../api/cloud";
import { isApiError } from "../api/errors";
import { listAll } from "../api/paginate";
import { matchesGlob } from "../manifest/glob";
import type { ApiKey as ApiDeployKey } from "../resources/deploy-key";
import type { ApiHost } from "../resources/pipeline-known-host";
import type { ApiVariable } from "../resources/pipeline-variable";
import type { ApiKey as ApiSshKey } from "../resources/ssh-key";
import type { ApiHook } from "../resources/webhook";
import { hasCredentials, redactUrl, urlForName } from "../names";
import { configKeysFor, type SecretScope } from "./config-keys";

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

/** Reads everything of `workspace` (repositories matching `glob`) and writes it as a manifest. */
export async function exportWorkspace(
  workspace: string,
  glob: string | undefined,
  progress: { start(total: number): { tick(): void; done(): void } },
): Promise<Exported> {
  const skipped: string[] = [];
  // Each reference gets its key once every scope is known (a key can depend on the others).
  const secrets: Array<{ scope: SecretScope; holds: string; ref: { fromConfig: string } }> = [];
  const secret = (scope: SecretScope, holds: string) => {
    const ref = { fromConfig: "" };
    secrets.push({ scope, holds, ref });
    return ref;
  };
  const repos = (await listAll<{ slug: string }>(repositoriesPath(workspace)))
    .map((r) => r.slug)
    .filter((slug) => glob === undefined || matchesGlob(glob, slug))
    .sort();
  const kinds = {
    webhooks: [] as Entry[],
    deployKeys: [] as Entry[],
    sshKeys: [] as Entry[],
    pipelineVariables: [] as Entry[],
    pipelineSshKeyPairs: [] as Entry[],
    knownHosts: [] as Entry[],
  };

  const hookEntries = (hooks: ApiHook[], repository: string | undefined) => {
    const seen = new Set<string>();
    const names = new Set<string>();
    /** The entry's name when its URL is a reference: the URL's host and path, unique here. */
    const nameFor = (url: string) => {
      const base =
        urlForName(url)
          .replace(/[^A-Za-z0-9._-]+/g, "-")
          .replace(/^[^A-Za-z0-9]+|-+$/g, "") || "webhook";
      let name = base;
      for (let i = 2; names.has(name); i++) name = `${base}-${i}`;
      names.add(name);
      return name;
    };
    for (const h of hooks) {
      const where = `${workspace}/${repository ?? "(workspace)"}`;
      const shown = redactUrl(h.url);
      if (h.read_only === true) {
        skipped.push(`webhook ${shown} on ${where}: installed by an app (read-only)`);
        continue;
      }
      if (seen.has(h.url)) {
        skipped.push(
          `webhook ${shown} on ${where}: a second hook with the same URL (one resource per URL; delete the duplicate)`,
        );
        continue;
      }
      seen.add(h.url);
      // The hook in its key: its URL's host and path (never the query), stable however Bitbucket
      // orders the list; with the hook's uuid when another hook here shares host and path.
      const n = hooks.some((o) => o !== h && urlForName(o.url) === urlForName(h.url))
        ? `${urlForName(h.url)} ${h.uuid}`
        : urlForName(h.url);
      kinds.webhooks.push({
        ...(repository !== undefined && { repositories: [repository] }),
        // A URL with a credential stays out of the file: a reference to set, and a name.
        ...(hasCredentials(h.url)
          ? {
              name: nameFor(h.url),
              url: secret(
                repository === undefined
                  ? { kind: "workspace-webhook-url", parts: [n] }
                  : { kind: "webhook-url", parts: [repository, n] },
                `the URL of webhook ${shown} on ${where} (it carries a credential: copy it from the hook's settings)`,
              ),
            }
          : { url: h.url }),
        events: [...(h.events ?? [])].sort(),
        ...(h.description && { description: h.description }),
        ...(h.active === false && { active: false }),
        ...(h.skip_cert_verification === true && { skipCertVerification: true }),
        ...(h.url.startsWith("http:") && { allowHttp: true }),
        ...(h.secret_set === true && {
          secret: secret(
            repository === undefined
              ? { kind: "workspace-webhook-secret", parts: [n] }
              : { kind: "webhook-secret", parts: [repository, n] },
            `the secret of webhook ${shown} on ${where}`,
          ),
        }),
        adopt: true,
      });
    }
  };
  const variableEntries = (vars: ApiVariable[], repository: string | undefined, environment?: string) => {
    for (const v of vars) {
      const where = `${workspace}/${repository ?? "(workspace)"}${environment ? ` (${environment})` : ""}`;
      kinds.pipelineVariables.push({
        ...(repository !== undefined && { repositories: [repository] }),
        ...(environment !== undefined && { environment }),
        key: v.key,
        ...(v.secured
          ? {
              value: secret(
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
  };

  const p = progress.start(repos.length);
  for (const repo of repos) {
    const at = { workspace, repository: repo };
    const [hooks, keys, vars, hosts, pair, envs] = await Promise.all([
      listAll<ApiHook>(hooksPath(at)),
      listAll<ApiDeployKey>(deployKeysPath(at)),
      listAll<ApiVariable>(variablesPath(at)),
      listAll<ApiHost>(`${pipelinesSshPath(workspace, repo)}/known_hosts`),
      getOrUndefined<{ public_key?: string }>(`${pipelinesSshPath(workspace, repo)}/key_pair`),
      listAll<{ uuid: string; name: string }>(environmentsPath(workspace, repo)),
    ]);
    hookEntries(hooks, repo);
    for (const k of keys) {
      kinds.deployKeys.push({
        repositories: [repo],
        key: `${k.key}${k.comment ? ` ${k.comment}` : ""}`,
        ...(k.label && { label: k.label }),
        adopt: true,
      });
    }
    variableEntries(vars, repo);
    for (const e of [...envs].sort((a, b) => a.name.localeCompare(b.name))) {
      variableEntries(
        await listAll<ApiVariable>(variablesPath({ ...at, environmentUuid: e.uuid })),
        repo,
        e.name,
      );
    }
    for (const h of hosts) {
      kinds.knownHosts.push({
        repositories: [repo],
        hostname: h.hostname,
        publicKey: `${h.public_key?.key_type ?? ""} ${h.public_key?.key ?? ""}`,
        adopt: true,
      });
    }
    if (pair?.public_key) {
      kinds.pipelineSshKeyPairs.push({
        repositories: [repo],
        privateKey: secret(
          { kind: "ssh-key-pair", parts: [repo] },
          `the private key of the Pipelines SSH key pair of ${workspace}/${repo}`,
        ),
        publicKey: pair.public_key,
        adopt: true,
      });
    }
    p.tick();
  }
  p.done();

  // Workspace-wide objects need a workspace admin: without the access, say so and go on.
  const optional = async <T>(what: string, read: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await read();
    } catch (e) {
      if (isApiError(e) && (e.status === 403 || e.status === 404)) {
        skipped.push(`${what}: not readable with these credentials (${e.status}); not exported`);
        return [];
      }
      throw e;
    }
  };
  if (glob === undefined) {
    hookEntries(
      await optional(`workspace webhooks of ${workspace}`, () => listAll<ApiHook>(hooksPath({ workspace }))),
      undefined,
    );
    variableEntries(
      await optional(`workspace variables of ${workspace}`, () =>
        listAll<ApiVariable>(variablesPath({ workspace })),
      ),
      undefined,
    );
  }
  const me = await optional("the credentials' account", async () => [
    await getCached<{ uuid: string }>("/user"),
  ]);
  for (const k of me[0]
    ? await optional("the account's SSH keys", () => listAll<ApiSshKey>(sshKeysPath(me[0]!.uuid)))
    : []) {
    kinds.sshKeys.push({
      key: `${k.key}${k.comment ? ` ${k.comment}` : ""}`,
      ...(k.label && { label: k.label }),
      adopt: true,
    });
  }

  const keys = configKeysFor(secrets.map((s) => s.scope));
  const configKeys: Exported["configKeys"] = secrets.map((s, i) => {
    s.ref.fromConfig = keys[i]!;
    return { key: keys[i]!, holds: s.holds };
  });
  const manifest: Record<string, unknown> = { version: 1, workspace };
  const counts: Record<string, number> = {};
  for (const [kind, entries] of Object.entries(kinds)) {
    const written = grouped(entries, (r) => {
      const where =
        r !== undefined ? `${workspace}/${r}` : kind === "sshKeys" ? "the account" : `workspace ${workspace}`;
      skipped.push(
        `${kind} on ${where}: a second identical object (one entry manages one; delete the duplicate)`,
      );
    });
    // What the file declares: one object per entry and repository.
    counts[kind] = written.reduce(
      (n, e) => n + (Array.isArray(e.repositories) ? e.repositories.length : 1),
      0,
    );
    if (written.length) manifest[kind] = written;
  }
  return { text: render(workspace, glob, manifest, configKeys), configKeys, counts, skipped };
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
  return `# yaml-language-server: $schema=https://unpkg.com/bitbucket-iac/schema/manifest.schema.json\n${doc.toString({ lineWidth: 0 })}`;
}
