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
// they become `{ fromConfig: <key> }` references, and the keys to set are listed; so does a webhook
// URL that carries a credential (`?token=`, user:password@), named by its host and path. Objects apps
// own (read-only hooks) are left out. Identical entries on several repositories become one entry.

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
import { globRe } from "../manifest/expand";
import type { ApiKey as ApiDeployKey } from "../resources/deploy-key";
import type { ApiHost } from "../resources/pipeline-known-host";
import type { ApiVariable } from "../resources/pipeline-variable";
import type { ApiKey as ApiSshKey } from "../resources/ssh-key";
import type { ApiHook } from "../resources/webhook";
import { hasCredentials, redactUrl, urlForName } from "../names";

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

/** A config key from parts: letters, digits, `-` and `_` (Pulumi config keys). */
const configKey = (...parts: string[]) => parts.join("-").replace(/[^A-Za-z0-9_-]+/g, "-");

/** Reads everything of `workspace` (repositories matching `glob`) and writes it as a manifest. */
export async function exportWorkspace(
  workspace: string,
  glob: string | undefined,
  progress: { start(total: number): { tick(): void; done(): void } },
): Promise<Exported> {
  const configKeys: Exported["configKeys"] = [];
  const skipped: string[] = [];
  const secret = (key: string, holds: string) => {
    configKeys.push({ key, holds });
    return { fromConfig: key };
  };
  const repos = (await listAll<{ slug: string }>(repositoriesPath(workspace)))
    .map((r) => r.slug)
    .filter((slug) => glob === undefined || globRe(glob).test(slug))
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
      const n = seen.size;
      kinds.webhooks.push({
        ...(repository !== undefined && { repositories: [repository] }),
        // A URL with a credential stays out of the file: a reference to set, and a name.
        ...(hasCredentials(h.url)
          ? {
              name: nameFor(h.url),
              url: secret(
                configKey("webhook-url", repository ?? "workspace", String(n)),
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
            configKey("webhook-secret", repository ?? "workspace", String(n)),
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
                configKey(
                  "variable",
                  repository ?? "workspace",
                  ...(environment ? [environment] : []),
                  v.key,
                ),
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
          configKey("ssh-key-pair", repo),
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

  const counts = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v.length]));
  const manifest: Record<string, unknown> = { version: 1, workspace };
  for (const [kind, entries] of Object.entries(kinds)) if (entries.length) manifest[kind] = grouped(entries);
  return { text: render(workspace, glob, manifest, configKeys), configKeys, counts, skipped };
}

/** Entries equal but for their repositories become one entry listing them all. */
function grouped(entries: Entry[]): Entry[] {
  const byRest = new Map<string, Entry>();
  for (const e of entries) {
    const { repositories, ...rest } = e;
    const key = JSON.stringify(rest);
    const before = byRest.get(key);
    if (before && Array.isArray(before.repositories) && Array.isArray(repositories)) {
      before.repositories = [...before.repositories, ...repositories];
    } else byRest.set(key, { ...(repositories !== undefined && { repositories }), ...rest });
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
