// Generic: any bundle of webhooks, deploy keys and Pipelines variables fanned out over the
// repositories, with the scopes an optional consumer must have. No platform guide: its
// instructions list what it made and where each webhook's secret is.

import * as pulumi from "../pulumi";
import { keyNamePart, urlForName } from "../names";
import { instructions, listOf, problemsOf, unknownOptions, type Preset } from "./common";

interface GenericWebhook {
  url: string;
  events: string[];
  description?: string;
  /** A resolved secret reference, or { generate: true }. */
  secret?: pulumi.Input<string> | { generate: true };
}
interface GenericKey {
  key: string;
  label?: string;
}
interface GenericVariable {
  key: string;
  value: pulumi.Input<string>;
  secured?: boolean;
}

const generates = (s: GenericWebhook["secret"]): s is { generate: true } =>
  typeof s === "object" && s !== null && !pulumi.Output.isInstance(s) && "generate" in s;

export const GENERIC: Preset = {
  title: "Generic",
  guide: "README.md#integrations",
  consumer: "optional",
  repositories: "many",
  requiredScopes: (o) => (o.scopes as string[]) ?? [],
  validate: (o) => [
    ...unknownOptions(o, ["scopes", "webhooks", "deployKeys", "variables"]),
    ...problemsOf(o, [["scopes", "string[]", false]]),
    ...(["webhooks", "deployKeys", "variables"] as const).flatMap((k) =>
      o[k] === undefined || Array.isArray(o[k]) ? [] : [`${k}: must be a list`],
    ),
  ],
  children: (o) => [
    ...listOf<GenericWebhook>(o, "webhooks").map((w, i) => ({
      kind: "webhook" as const,
      value: w.url,
      path: `options.webhooks[${i}]`,
    })),
    ...listOf<GenericKey>(o, "deployKeys").map((k, i) => ({
      kind: "deployKey" as const,
      value: k.key,
      path: `options.deployKeys[${i}]`,
    })),
    ...listOf<GenericVariable>(o, "variables").map((v, i) => ({
      kind: "variable" as const,
      value: v.key,
      path: `options.variables[${i}]`,
    })),
  ],
  // Children are named by natural key (URL, key fingerprint, variable name), never by list
  // position: inserting an entry must not re-target the others. Names of earlier versions
  // (`-hook-<repo>-<index>`) are aliases, so existing stacks move over without a replace.
  build: (ctx) => {
    const o = ctx.options;
    const hookIds: pulumi.Output<string>[] = [];
    const keyIds: pulumi.Output<number>[] = [];
    const varIds: pulumi.Output<string>[] = [];
    const was = (name: string) => ({ ...ctx.opts, aliases: [{ name }] });
    for (const repository of ctx.repositories) {
      const where = { workspace: ctx.gate(ctx.workspace), repository, adopt: ctx.adopt };
      listOf<GenericWebhook>(o, "webhooks").forEach((w, i) => {
        const secret =
          w.secret === undefined || generates(w.secret) ? { generateSecret: true } : { secret: w.secret };
        const hook = ctx.declare.webhook(
          `${ctx.name}-hook-${repository}-${urlForName(w.url)}`,
          { ...where, url: w.url, events: w.events, description: w.description, ...secret },
          was(`${ctx.name}-hook-${repository}-${i}`),
        );
        // State written before hookId existed has only the uuid until the hook next changes.
        hookIds.push(pulumi.all([hook.hookId, hook.uuid]).apply(([id, uuid]) => id ?? uuid ?? ""));
      });
      listOf<GenericKey>(o, "deployKeys").forEach((k, i) => {
        keyIds.push(
          ctx.declare.deployKey(
            `${ctx.name}-key-${repository}-${keyNamePart(k.key) ?? i}`,
            { ...where, key: k.key, label: k.label },
            was(`${ctx.name}-key-${repository}-${i}`),
          ).keyId,
        );
      });
      listOf<GenericVariable>(o, "variables").forEach((v) => {
        varIds.push(
          ctx.declare.variable(
            `${ctx.name}-var-${repository}-${v.key}`,
            { ...where, key: v.key, value: v.value, secured: v.secured },
            ctx.opts,
          ).uuid,
        );
      });
    }
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    const made = [
      count(hookIds.length, "webhook"),
      count(keyIds.length, "deploy key"),
      count(varIds.length, "Pipelines variable"),
    ].join(", ");
    return {
      webhooks: pulumi.all(hookIds),
      deployKeys: pulumi.all(keyIds),
      variables: pulumi.all(varIds),
      instructions: instructions([], () => [
        `No platform guide, nothing to paste: this stack made ${made}${ctx.repositories.length ? ` on ${ctx.repositories.join(", ")}` : ""}.`,
      ]),
    };
  },
};
