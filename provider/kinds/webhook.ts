// Webhooks: `webhooks:` entries, one Webhook per repository (or the workspace / each project).
// The resource: provider/resources/webhook.ts.

import { hooksPath, scopeLabel } from "../api/cloud";
import { dcHooksPath, dcScopeLabel } from "../api/datacenter";
import type { SecretScope } from "../cli/config-keys";
import { listAll } from "../api/paginate";
import { hasCredentials, naturalKey, redactUrl, urlForName } from "../names";
import { FLAVOR_NAME } from "../resources/validate";
import {
  changesOf,
  CLOUD_WEBHOOK_EVENTS,
  DC_WEBHOOK_EVENTS,
  eventCounterpart,
  lookup,
  Webhook,
  webhookProvider,
  type ApiHook,
  type DcHook,
} from "../resources/webhook";
import { strings } from "./checks";
import type {
  AuditSink,
  CheckContext,
  Entry,
  ExportSink,
  KindDescriptor,
  Problem,
  SecretRef,
  Selector,
} from "./kind";

export interface WebhookEntry extends Entry {
  repositories?: Selector;
  /** Stable name in the stack instead of the URL's host and path. */
  name?: string;
  allowHttp?: boolean;
  /** The URL, or a reference to it (a URL that carries a credential can stay out of the manifest). */
  url: string | SecretRef;
  events: string[];
  description?: string;
  active?: boolean;
  secret?: SecretRef | { generate: true };
  skipCertVerification?: boolean;
}

export const webhooks = {
  key: "webhooks",
  type: "Webhook",
  schema: "webhook",
  fields: [
    "workspace", "project", "projects", "repositories", "name", "url", "events", "description",
    "active", "secret", "skipCertVerification", "allowHttp", "adopt", "retainOnDelete",
  ], // prettier-ignore
  flavors: { cloud: true, datacenter: true },
  placed: true,
  sameName: " (URLs that differ only in their query get the same name: give one a name:)",
  check,
  expand(w, ctx) {
    // A URL given by reference is unknown here: the entry's name (required then) names it, and
    // the reference stands for it in the natural key.
    const url = typeof w.url === "string" ? w.url : ctx.refText(w.url);
    for (const t of ctx.targets(w, true)) {
      const prefix = `webhook/${t.container}/${t.repository ?? "*"}/`;
      const name = prefix + (w.name ?? urlForName(url));
      // Before names left out a URL's query and credentials, or could be chosen, they were the URL
      // (Cloud). Not for a URL with credentials: Pulumi keeps aliases in state, in clear.
      const was = prefix + url.replace(/^https:\/\//, "");
      const alias = !ctx.dc && typeof w.url === "string" && !hasCredentials(w.url) && was !== name;
      ctx.add(
        { name, ...(alias && { aliases: [was] }), ...ctx.placeOf(t) },
        `webhook ${typeof w.url === "string" ? redactUrl(w.url) : `(url from ${url})`} on ${ctx.shown(t)}`,
        naturalKey.webhook(t.container, t.repository, url),
      );
    }
  },
  declare(s, w, ctx) {
    const secretArgs =
      w.secret === undefined
        ? {}
        : "generate" in w.secret
          ? { generateSecret: true }
          : { secret: ctx.secret(w.secret, "secret") };
    const r = new Webhook(
      s.name,
      {
        ...ctx.where,
        url: typeof w.url === "string" ? w.url : ctx.secret(w.url, "url"),
        events: w.events,
        // Data Center's hooks have a name where Cloud's have a description.
        ...(ctx.dc ? { name: w.description } : { description: w.description }),
        active: w.active,
        skipCertVerification: w.skipCertVerification,
        allowHttp: w.allowHttp,
        adopt: w.adopt,
        ...secretArgs,
      },
      ctx.opts,
    );
    return {
      resource: r,
      output: ctx.dc ? r.hookId : r.uuid,
      ...("generateSecret" in secretArgs && { secretOutputs: { generatedSecrets: r.generatedSecret } }),
    };
  },
  subject: (i) => ({
    kind: "webhook",
    ...(typeof i.url === "string" && { url: i.url }),
    allowHttp: i.allowHttp === true,
    secret: (typeof i.secret === "string" && i.secret !== "") || i.generateSecret === true,
    skipCertVerification: i.skipCertVerification === true,
    events: strings(i.events),
  }),
  plan: {
    check: webhookProvider.check!,
    lookup,
    keyFields: ["url"],
    read: webhookProvider.read!,
    changes: changesOf,
    secretHashes: { secret: "secretHash" },
    // webhook.ts: POST {hooks}; an adoption PUTs only a hook that differs; PUT and DELETE {hooks}/{id}.
    requests: {
      create: () => ["POST"],
      adopt: (differs) => (differs.length ? ["PUT"] : []),
      update: () => ["PUT"],
      delete: () => ["DELETE"],
    },
  },
  export: {
    cloud: {
      repository: (repository, sink) => exportHooks({ container: sink.container, repository }, sink),
      container: (sink) => exportHooks({ container: sink.container }, sink),
    },
    datacenter: {
      repository: (repository, sink) =>
        exportHooks({ container: sink.container, repository, dc: true }, sink),
      container: (sink) => exportHooks({ container: sink.container, dc: true }, sink),
    },
  },
  audit: {
    cloud: {
      repository: (repository, sink) => auditHooks({ container: sink.container, repository }, sink),
      container: (sink) => auditHooks({ container: sink.container }, sink),
    },
    datacenter: {
      repository: (repository, sink) => auditHooks({ container: sink.container, repository, dc: true }, sink),
      container: (sink) => auditHooks({ container: sink.container, dc: true }, sink),
    },
  },
} satisfies KindDescriptor<WebhookEntry, "webhooks", "Webhook">;

/** Events of the other flavor (the schema lists both, for editors); a URL by reference needs a name; DC names. */
function check(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  const { flavor } = ctx;
  ctx.list("webhooks").forEach((e, i) => {
    const events: unknown[] = Array.isArray(e?.events) ? e.events : [];
    events.forEach((ev, j) => {
      const other = flavor === "cloud" ? DC_WEBHOOK_EVENTS : CLOUD_WEBHOOK_EVENTS;
      if (typeof ev !== "string" || !(other as readonly string[]).includes(ev)) return;
      const instead = eventCounterpart(ev, flavor);
      problems.push({
        loc: ctx.at(["webhooks", i, "events", j]),
        message: `"${ev}" is a ${FLAVOR_NAME[flavor === "cloud" ? "datacenter" : "cloud"]} event, and this manifest is flavor: ${flavor}${instead ? `; did you mean "${instead}"?` : ""}`,
      });
    });
  });
  // A URL read from config or the environment cannot name the resource: the entry names it.
  ctx.list("webhooks").forEach((e, i) => {
    if (typeof e?.url === "object" && e.url !== null && e.name === undefined)
      problems.push({
        loc: ctx.at(["webhooks", i, "url"]),
        message:
          "a url given by reference needs a name on the entry (letters, digits, ., _ and -): its stable name in the stack, since the URL itself cannot name it",
      });
  });
  if (flavor === "datacenter")
    ctx.list("webhooks").forEach((e, i) => {
      if (e?.description === "")
        problems.push({
          loc: ctx.at(["webhooks", i, "description"]),
          message:
            "must not be empty: on Data Center it is the hook's name (leave it out for the URL's host)",
        });
    });
  return problems;
}

/** A hook of either flavor, as export and audit read it. */
interface LiveHook {
  id: string;
  url: string;
  /** Cloud's description, Data Center's name. */
  description: string;
  active: boolean;
  events: string[];
  secret: boolean;
  skipCertVerification: boolean;
  /** Installed by an app (Cloud): no entry can manage it. */
  readOnly: boolean;
}

const cloudHook = (h: ApiHook): LiveHook => ({
  id: h.uuid,
  url: h.url,
  description: h.description ?? "",
  active: h.active !== false,
  events: [...(h.events ?? [])].sort(),
  secret: h.secret_set === true,
  skipCertVerification: h.skip_cert_verification === true,
  readOnly: h.read_only === true,
});

// Data Center returns `configuration.secret` as stored, and `{}` for a hook without one
// (shared/bitbucket-api.md §8.2): an answer without it is a hook without a secret (DECISIONS.md).
const dcHook = (h: DcHook): LiveHook => ({
  id: String(h.id),
  url: h.url,
  description: h.name ?? "",
  active: h.active !== false,
  events: [...(h.events ?? [])].sort(),
  secret: typeof h.configuration?.secret === "string" && h.configuration.secret !== "",
  skipCertVerification: h.sslVerificationRequired === false,
  readOnly: false,
});

/** Where hooks are: a Cloud workspace or Data Center project (`dc`), maybe a repository in it. */
interface HookPlace {
  container: string;
  repository?: string;
  dc?: true;
}

/**
 * The hooks of a repository, or of the workspace or project itself: those need an admin, so a
 * refusal is said (`optional`) and reads as none.
 */
async function liveHooks(at: HookPlace, sink: Pick<ExportSink, "optional">): Promise<LiveHook[]> {
  const { container: c, repository } = at;
  if (at.dc) {
    const read = () => listAll<DcHook>(dcHooksPath({ project: c, repository }));
    const hooks =
      repository !== undefined ? await read() : await sink.optional(`project webhooks of ${c}`, read);
    return hooks.map(dcHook);
  }
  const read = () => listAll<ApiHook>(hooksPath({ workspace: c, repository }));
  const hooks =
    repository !== undefined ? await read() : await sink.optional(`workspace webhooks of ${c}`, read);
  return hooks.map(cloudHook);
}

/** Where hooks are, in messages: `acme/api`, `acme/(workspace)`; Data Center `PROJ/api`, `project PROJ`. */
const hookPlaceShown = (at: HookPlace) =>
  at.dc
    ? dcScopeLabel({ project: at.container, repository: at.repository })
    : `${at.container}/${at.repository ?? "(workspace)"}`;

/** Export's and audit's entry of each hook, or why it gets none (in export's words). */
type HookEntry = { hook: LiveHook; entry: Record<string, unknown> } | { hook: LiveHook; none: string };

/**
 * The entries of a repository's (or the workspace's, or a project's) hooks. Objects apps own
 * (read-only) get none; a URL that carries a credential becomes a reference to set, and the entry
 * is named by the URL's host and path.
 */
function hookEntries(hooks: LiveHook[], at: HookPlace, secret: ExportSink["secret"]): HookEntry[] {
  const { container, repository } = at;
  const where = hookPlaceShown(at);
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
  return hooks.map((h): HookEntry => {
    const shown = redactUrl(h.url);
    if (h.readOnly) return { hook: h, none: "installed by an app (read-only)" };
    if (seen.has(h.url))
      return {
        hook: h,
        none: "a second hook with the same URL (one resource per URL; delete the duplicate)",
      };
    seen.add(h.url);
    // The hook in its key: its URL's host and path (never the query), stable however Bitbucket
    // orders the list; with the hook's id when another hook here shares host and path.
    const n = hooks.some((o) => o !== h && urlForName(o.url) === urlForName(h.url))
      ? `${urlForName(h.url)} ${h.id}`
      : urlForName(h.url);
    const scope = (what: "url" | "secret") => secretScope(at, what, n);
    const entry = {
      ...(at.dc && { project: container }),
      ...(repository !== undefined && { repositories: [repository] }),
      // A URL with a credential stays out of the file: a reference to set, and a name.
      ...(hasCredentials(h.url)
        ? {
            name: nameFor(h.url),
            url: secret(
              scope("url"),
              `the URL of webhook ${shown} on ${where} (it carries a credential: copy it from the hook's settings)`,
            ),
          }
        : { url: h.url }),
      events: h.events,
      ...(h.description && { description: h.description }),
      ...(!h.active && { active: false }),
      ...(h.skipCertVerification && { skipCertVerification: true }),
      ...(h.url.startsWith("http:") && { allowHttp: true }),
      ...(h.secret && { secret: secret(scope("secret"), `the secret of webhook ${shown} on ${where}`) }),
      adopt: true,
    };
    return { hook: h, entry };
  });
}

/** The config key scope of a hook's write-only `what` (its URL or secret), `n` naming the hook. */
function secretScope(at: HookPlace, what: "url" | "secret", n: string): SecretScope {
  if (!at.dc)
    return at.repository === undefined
      ? { kind: `workspace-webhook-${what}`, parts: [n] }
      : { kind: `webhook-${what}`, parts: [at.repository, n] };
  // Data Center project keys hold no `-`: `PROJ-api` names one repository of one project.
  return at.repository === undefined
    ? { kind: `project-webhook-${what}`, parts: [at.container, n] }
    : { kind: `webhook-${what}`, parts: [`${at.container}-${at.repository}`, n] };
}

/** Export's entries of a repository's (or the workspace's, or a project's) hooks, and what it leaves out. */
async function exportHooks(at: HookPlace, sink: ExportSink): Promise<void> {
  for (const made of hookEntries(await liveHooks(at, sink), at, sink.secret)) {
    if ("entry" in made) sink.add(made.entry);
    else sink.skip(`webhook ${redactUrl(made.hook.url)} on ${hookPlaceShown(at)}: ${made.none}`);
  }
}

/** Audit's live objects of a repository's (or the workspace's, or a project's) hooks. */
async function auditHooks(at: HookPlace, sink: AuditSink): Promise<void> {
  const where = at.dc
    ? dcScopeLabel({ project: at.container, repository: at.repository })
    : scopeLabel({ workspace: at.container, repository: at.repository });
  for (const made of hookEntries(await liveHooks(at, sink), at, sink.secret)) {
    const h = made.hook;
    sink.add({
      what: `webhook ${redactUrl(h.url)} on ${where}`,
      subject: {
        kind: "webhook",
        url: h.url,
        secret: h.secret,
        skipCertVerification: h.skipCertVerification,
        events: h.events,
      },
      ...("entry" in made ? { entry: made.entry } : { unmanageable: made.none }),
    });
  }
}
