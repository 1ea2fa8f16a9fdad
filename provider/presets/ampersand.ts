// Ampersand, from its Bitbucket provider guide (docs.withampersand.com, "Bitbucket"):
//
// Register a Bitbucket OAuth app: Workspace Settings > OAuth consumers > Add consumer; Name,
// Description, Callback URL `https://api.withampersand.com/callbacks/v1/oauth`; "Select the
// permissions you want to grant to your app"; Save; note the Client ID and Client Secret.
// Then in the Ampersand Dashboard: the project > Provider Apps > Bitbucket; Client ID, Client
// Secret; Save Changes. The guide does not ask for a private consumer (Ampersand runs the
// authorization-code flow), so a public one is accepted; its scopes then cannot be read back.
//
// The permissions follow from the objects the integration reads and writes, in the guide's
// words; each object's scope is the `security` of its endpoint in Bitbucket's Cloud spec.

import * as pulumi from "../pulumi";
import { checkboxOf } from "../scopes";
import { instructions, listOf, problemsOf, str, unknownOptions, type Preset } from "./common";

export const AMPERSAND_GUIDE = 'Ampersand docs (docs.withampersand.com): provider guide "Bitbucket"';
export const AMPERSAND_CALLBACK = "https://api.withampersand.com/callbacks/v1/oauth";

/** An object Ampersand reads or writes: its endpoint and the OAuth scope each action needs (null: none; absent: not done). */
interface AmpersandObject {
  path: string;
  read?: string | null;
  write?: string;
}

/**
 * The guide's "Supported Objects": those it reads, and those it writes.
 * addon/linkers: Bitbucket removed the linker endpoints in May 2026 (absent from the Cloud spec);
 * Connect apps read them with their own JWT, so no consumer permission applies.
 */
export const AMPERSAND_OBJECTS: Record<string, AmpersandObject> = {
  "addon/linkers": { path: "/addon/linkers", read: null },
  "pipelines-config/variables": {
    path: "/workspaces/{workspace}/pipelines-config/variables",
    read: "pipeline",
    write: "pipeline:variable",
  },
  repositories: { path: "/repositories/{workspace}", read: "repository" },
  "user/emails": { path: "/user/emails", read: "email" },
  hook_events: { path: "/hook_events", read: null },
  hooks: { path: "/workspaces/{workspace}/hooks", read: "webhook", write: "webhook" },
  members: { path: "/workspaces/{workspace}/members", read: "account" },
  projects: { path: "/workspaces/{workspace}/projects", read: "project", write: "project:admin" },
  snippets: { path: "/snippets", write: "snippet:write" },
};

/** The object names of earlier versions, and the guide's names for them. */
const RENAMED: Record<string, string> = {
  account: "user/emails or members",
  repository: "repositories",
  project: "projects",
  pipeline: "pipelines-config/variables",
  snippet: "snippets",
  webhook: "hooks",
};

const objectOf = (x: string): AmpersandObject | undefined =>
  Object.hasOwn(AMPERSAND_OBJECTS, x) ? AMPERSAND_OBJECTS[x] : undefined;

const scopesOf = (o: { read?: unknown; write?: unknown } & Record<string, unknown>) => [
  ...listOf<unknown>(o, "read")
    .filter(str)
    .flatMap((x) => objectOf(x)?.read ?? []),
  ...listOf<unknown>(o, "write")
    .filter(str)
    .flatMap((x) => objectOf(x)?.write ?? []),
];

function objectProblems(o: Record<string, unknown>, action: "read" | "write"): string[] {
  return listOf<unknown>(o, action)
    .filter(str)
    .flatMap((x) => {
      const known = objectOf(x);
      if (known && known[action] !== undefined) return [];
      const names = Object.entries(AMPERSAND_OBJECTS)
        .filter(([, v]) => v[action] !== undefined)
        .map(([k]) => k);
      const hint = RENAMED[x] ? `; Ampersand's guide calls it ${RENAMED[x]}` : "";
      return [
        known
          ? `${action}: Ampersand does not ${action} "${x}" (it ${action}s: ${names.join(", ")})`
          : `${action}: unknown object "${x.slice(0, 60)}"${hint} (objects Ampersand ${action}s: ${names.join(", ")})`,
      ];
    });
}

export const AMPERSAND: Preset = {
  title: "Ampersand",
  guide: AMPERSAND_GUIDE,
  consumer: "required",
  consumerNeeds: { callbackUrl: { url: AMPERSAND_CALLBACK, exact: true } },
  repositories: "none",
  noRepositories: "Ampersand works on the consumer alone; remove repositories",
  requiredScopes: scopesOf,
  validate: (o) => {
    const problems = [
      ...unknownOptions(o, ["read", "write"]),
      ...problemsOf(o, [
        ["read", "string[]", false],
        ["write", "string[]", false],
      ]),
      ...objectProblems(o, "read"),
      ...objectProblems(o, "write"),
    ];
    if (listOf<unknown>(o, "read").length + listOf<unknown>(o, "write").length === 0)
      problems.push(
        "read: list the objects Ampersand reads (and write: those it writes), e.g. read: [repositories, hooks]",
      );
    return problems;
  },
  children: () => [],
  build: (ctx) => {
    const consumer = ctx.consumer!;
    const scopes = [...new Set(scopesOf(ctx.options))].sort();
    return {
      clientId: pulumi.secret(ctx.gate(consumer.key)),
      clientSecret: pulumi.secret(consumer.secret),
      callbackUrl: pulumi.output(AMPERSAND_CALLBACK),
      instructions: instructions([consumer.name, consumer.private], (name, isPrivate) => [
        `Register a Bitbucket OAuth app: done by you in Bitbucket and verified by this stack ("${name}", Callback URL ${AMPERSAND_CALLBACK}, permissions ${scopes.map(checkboxOf).join(", ") || "none"}${isPrivate !== false ? "" : "; a public consumer, whose permissions Bitbucket does not show to this stack: check them in its settings"}).`,
        "Log in to your Ampersand Dashboard (https://dashboard.withampersand.com).",
        "Select the project where you want to create a Bitbucket integration.",
        "Select Provider Apps.",
        "Select Bitbucket from the Provider list.",
        `Client ID: paste what ${ctx.reveal("clientId")} prints into the Client ID field.`,
        `Client Secret: paste what ${ctx.reveal("clientSecret")} prints into the Client Secret field.`,
        "Click Save Changes.",
      ]),
    };
  },
};
