// Webhooks: `webhooks:` entries, one Webhook per repository (or the workspace / each project).
// The resource: provider/resources/webhook.ts.

import { hooksPath } from "../api/cloud";
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
} from "../resources/webhook";
import { strings } from "./checks";
import type { CheckContext, Entry, ExportSink, KindDescriptor, Problem, SecretRef, Selector } from "./kind";

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
  },
  export: {
    repository: async (repository, sink) =>
      hookEntries(
        await listAll<ApiHook>(hooksPath({ workspace: sink.workspace, repository })),
        repository,
        sink,
      ),
    workspace: async (sink) =>
      hookEntries(
        await sink.optional(`workspace webhooks of ${sink.workspace}`, () =>
          listAll<ApiHook>(hooksPath({ workspace: sink.workspace })),
        ),
        undefined,
        sink,
      ),
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

/**
 * Export's entries of a repository's (or the workspace's) hooks. Objects apps own (read-only) are
 * left out; a URL that carries a credential becomes a reference to set, and the entry is named by
 * the URL's host and path.
 */
function hookEntries(hooks: ApiHook[], repository: string | undefined, sink: ExportSink): void {
  const where = `${sink.workspace}/${repository ?? "(workspace)"}`;
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
    const shown = redactUrl(h.url);
    if (h.read_only === true) {
      sink.skip(`webhook ${shown} on ${where}: installed by an app (read-only)`);
      continue;
    }
    if (seen.has(h.url)) {
      sink.skip(
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
    const scope = (what: "url" | "secret") =>
      repository === undefined
        ? { kind: `workspace-webhook-${what}` as const, parts: [n] }
        : { kind: `webhook-${what}` as const, parts: [repository, n] };
    sink.add({
      ...(repository !== undefined && { repositories: [repository] }),
      // A URL with a credential stays out of the file: a reference to set, and a name.
      ...(hasCredentials(h.url)
        ? {
            name: nameFor(h.url),
            url: sink.secret(
              scope("url"),
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
        secret: sink.secret(scope("secret"), `the secret of webhook ${shown} on ${where}`),
      }),
      adopt: true,
    });
  }
}
