// Checks what went over the wire (the emulator's request log) against Atlassian's own
// OpenAPI spec in ../shared/specs: the path and method exist, the status is one the
// operation declares, the response body matches that status's schema, and a request
// body matches the object the operation takes. Real Bitbucket departs from its spec in
// a few documented ways (shared/bitbucket-api.md §1.3, §2.2); those, and only those, are
// accepted, each with its source.

import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import * as fs from "fs";
import * as path from "path";
import type { LogEntry } from "../emulator/server";

/** Atlassian's specs: `../shared/specs` beside the repository, or where BITBUCKET_IAC_SPECS points. */
export const SPECS_DIR = path.resolve(
  process.env.BITBUCKET_IAC_SPECS || path.join(__dirname, "../../../shared/specs"),
);
export const CLOUD_SPEC = path.join(SPECS_DIR, "bitbucket-cloud.openapi.json");
export const DC_SPEC = path.join(SPECS_DIR, "bitbucket-datacenter-9.2.openapi.json");

/** True under CI: `CI` set to anything but empty, "0" or "false" (GitHub, GitLab, Bitbucket Pipelines set "true"). */
export const underCi = (env: NodeJS.ProcessEnv = process.env): boolean =>
  !["", "0", "false"].includes((env.CI ?? "").trim().toLowerCase());

/**
 * A contract check needs `spec`. When it is absent, a developer's machine skips the check with a
 * line saying so; CI fails it instead, since a skipped contract leaves a green run that checked
 * no exchange.
 */
export function requireSpec(ctx: Mocha.Context, spec: string): void {
  if (fs.existsSync(spec)) return;
  if (underCi()) {
    throw new Error(
      `${spec} is absent and CI is set: contract tests cannot be skipped in CI; put Atlassian's OpenAPI specs in ../shared/specs beside the repository or point BITBUCKET_IAC_SPECS at their folder`,
    );
  }
  console.log(
    `    SKIPPED: ${spec} is absent; contract tests did not run (put the specs in ../shared/specs or set BITBUCKET_IAC_SPECS; under CI=true this fails)`,
  );
  ctx.skip();
}

type Content = Record<string, { schema?: { $ref?: string } }>;
interface Operation {
  responses: Record<string, { content?: Content }>;
  requestBody?: { content?: Content; $ref?: string };
  parameters?: Array<{ name: string; in: string }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation | unknown>>;
  components: { schemas: Record<string, unknown>; requestBodies: Record<string, { content?: Content }> };
}

/** Operations whose body the spec describes only in prose: the object they take. */
const UNDECLARED_BODIES: Array<{ path: RegExp; schema: string }> = [
  { path: /\/hooks(\/\{uid\})?$/, schema: "webhook_subscription" },
  { path: /^\/repositories\/.*\/deploy-keys(\/\{key_id\})?$/, schema: "deploy_key" },
  { path: /^\/workspaces\/.*\/deploy-keys$/, schema: "project_deploy_key" },
];

/** Statuses real Bitbucket sends beyond what an operation declares. */
const EXTRA_STATUSES: Array<{ method: RegExp; path: RegExp; status: number; why: string }> = [
  { method: /^(POST|PUT)$/, path: /\/hooks(\/[^/]+)?$/, status: 400, why: "validation errors on webhook bodies (ovh/cds#6292, harness/harness-core#39903)" },
  { method: /./, path: /./, status: 401, why: "missing or bad credentials (Cloud narrative: Authentication methods)" },
  { method: /./, path: /./, status: 429, why: "rate limiting (support.atlassian.com api-request-limits)" },
]; // prettier-ignore

/**
 * A Code Insights data field's value is a number, boolean, string or link object as its `type`
 * says (both report operations' own "Data field formats" table; the Data Center schema's example
 * is `9`), where both specs' schemas (`report_data`, `RestInsightReportData`) say `object`.
 */
const insightDataValue = (e: ErrorObject) =>
  e.keyword === "type" && /(^|\/)data\/\d+\/value$/.test(e.instancePath) && typeof e.data !== "object";

/** A JSON pointer into the spec, as a URI fragment. */
const pointer = (...tokens: string[]) =>
  `#/${tokens.map((t) => encodeURIComponent(t.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/")}`;

/** What differs between the two specs for checking: where paths start, paging, errors, known departures. */
interface Profile {
  spec: string;
  /** The request path's prefix the spec's paths leave out. */
  prefix: RegExp;
  /** Query parameters every paged operation takes (the narratives' "Pagination"). */
  pageParams: string[];
  /** The error body's schema. */
  errorSchema: string;
  undeclaredBodies: Array<{ path: RegExp; schema: string }>;
  extraStatuses: Array<{ method: RegExp; path: RegExp; status: number; why: string }>;
  deviation: (e: ErrorObject) => boolean;
}

const CLOUD: Profile = {
  spec: CLOUD_SPEC,
  prefix: /^\/2\.0/,
  pageParams: ["page", "pagelen"],
  errorSchema: "#/components/schemas/error",
  undeclaredBodies: UNDECLARED_BODIES,
  extraStatuses: EXTRA_STATUSES,
  deviation: (e) => acceptedDeviation(e),
};

/**
 * Data Center 9.2 (shared/bitbucket-api.md §8, §9): paging is `start`/`limit` on every paged
 * resource, even where an operation does not list them (webhooks); dates are epoch milliseconds
 * where the spec says date-time strings ([tf-gavin] `jsonTime`); an error's `context` and
 * `exceptionName` are null when there is none (the narrative's example).
 */
const DATACENTER: Profile = {
  spec: DC_SPEC,
  prefix: /^\/rest/,
  pageParams: ["start", "limit"],
  errorSchema: "#/components/schemas/RestErrors",
  undeclaredBodies: [],
  extraStatuses: [
    { method: /./, path: /./, status: 429, why: "rate limiting (confluence: Improving instance stability with rate limiting)" },
  ],
  deviation: (e) =>
    insightDataValue(e) ||
    (e.keyword === "type" && typeof e.data === "number" && /\/createdDate$/.test(e.instancePath)) ||
    (e.keyword === "type" && e.data === null && /^\/errors\/\d+\/(context|exceptionName)$/.test(e.instancePath)),
}; // prettier-ignore

/** Response-body departures from the spec's schemas that real Bitbucket sends. */
function acceptedDeviation(e: ErrorObject): boolean {
  if (insightDataValue(e)) return true;
  // Never-used keys and keys without expiry have `last_used: null` / `expires_on: null` (the
  // spec's own deploy-key examples; ansible's bitbucket_access_key docs).
  if (e.keyword === "type" && e.data === null && /\/(last_used|expires_on)$/.test(e.instancePath))
    return true;
  // `error.fields` carries field validation messages (Cloud narrative "Standardized error responses").
  if (
    e.keyword === "additionalProperties" &&
    e.instancePath === "/error" &&
    e.params.additionalProperty === "fields"
  )
    return true;
  // A missing-scope 403 has `detail: {required, granted}` (backstage/backstage#22383).
  if (e.keyword === "type" && e.instancePath === "/error/detail") return true;
  return false;
}

export class Contract {
  private readonly spec: Spec;
  private readonly ajv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ template: string; re: RegExp }>;

  constructor(private readonly profile: Profile = CLOUD) {
    this.spec = JSON.parse(fs.readFileSync(profile.spec, "utf8")) as Spec;
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, verbose: true });
    addFormats(this.ajv);
    this.ajv.addSchema(this.spec as object, "cloud");
    this.templates = Object.keys(this.spec.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    }));
  }

  /** A validator for `#/components/schemas/<name>` (or a sub-path of the spec). */
  validator(pointer: string): ValidateFunction {
    let v = this.cache.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `cloud${pointer}` });
      this.cache.set(pointer, v);
    }
    return v;
  }

  schema(name: string): unknown {
    return this.spec.components.schemas[name];
  }

  /** The spec's path template for a request path under /2.0, e.g. /repositories/{workspace}/{repo_slug}/hooks. */
  template(requestPath: string): string | undefined {
    const p = requestPath.replace(this.profile.prefix, "");
    const hits = this.templates.filter((t) => t.re.test(p));
    // Prefer the most literal template (fewest parameters) when several match.
    hits.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
    return hits[0]?.template;
  }

  /** Every way one logged exchange departs from the spec; empty when it conforms. */
  check(e: LogEntry): string[] {
    const where = `${e.method} ${e.path} -> ${e.status}`;
    const template = this.template(e.path);
    if (!template) return [`${where}: no such path in the spec`];
    const op = this.spec.paths[template]?.[e.method.toLowerCase()] as Operation | undefined;
    if (!op) return [`${where}: the spec has no ${e.method} on ${template}`];
    const problems: string[] = [];

    // Query parameters: the operation's own, plus the global pagination ones (narrative "Pagination").
    const declared = new Set([
      ...(op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
      ...this.profile.pageParams,
    ]);
    for (const q of new URLSearchParams(e.query).keys()) {
      if (!declared.has(q)) problems.push(`${where}: query parameter "${q}" is not declared`);
    }

    // Request body: the declared requestBody, else the object the operation's description names.
    if (e.requestBody !== undefined && (e.method === "POST" || e.method === "PUT")) {
      const ref = this.requestSchema(op, template, e.method);
      if (!ref) problems.push(`${where}: sends a body the spec does not describe`);
      else problems.push(...this.validateRequest(ref, e.requestBody).map((m) => `${where}: request ${m}`));
    }

    const declaredStatus = op.responses[String(e.status)];
    if (!declaredStatus) {
      const extra = this.profile.extraStatuses.find(
        (x) => x.status === e.status && x.method.test(e.method) && x.path.test(template),
      );
      if (!extra)
        problems.push(
          `${where}: status ${e.status} is not declared (declared: ${Object.keys(op.responses).join(", ")})`,
        );
      else if (typeof e.responseBody !== "string")
        problems.push(
          ...this.validateBody(this.profile.errorSchema, e.responseBody).map((m) => `${where}: ${m}`),
        );
      return problems;
    }
    const schema = declaredStatus.content?.["application/json"]?.schema;
    // An inline schema (Data Center's pages) is checked where it stands in the spec.
    const ref =
      schema?.$ref ??
      (schema &&
        pointer(
          "paths",
          template,
          e.method.toLowerCase(),
          "responses",
          String(e.status),
          "content",
          "application/json",
          "schema",
        ));
    if (ref) problems.push(...this.validateBody(ref, e.responseBody).map((m) => `${where}: response ${m}`));
    else if (e.responseBody !== undefined && e.status === 204) problems.push(`${where}: a 204 has a body`);
    return problems;
  }

  private validateBody(ref: string, body: unknown): string[] {
    const v = this.validator(ref);
    if (v(body)) return [];
    return (v.errors ?? [])
      .filter((err) => !this.profile.deviation(err))
      .map((err) => `${err.instancePath || "/"} ${err.message} (${ref})`);
  }

  private requestSchema(op: Operation, template: string, method: string): string | undefined {
    const declared = op.requestBody?.$ref
      ? this.spec.components.requestBodies[op.requestBody.$ref.split("/").pop() ?? ""]
      : op.requestBody;
    const named = this.profile.undeclaredBodies.find((u) => u.path.test(template));
    const schema = declared?.content?.["application/json"]?.schema;
    return (
      schema?.$ref ??
      // An inline schema (Data Center's user-key POST) is checked where it stands in the spec.
      (schema && !op.requestBody?.$ref
        ? pointer(
            "paths",
            template,
            method.toLowerCase(),
            "requestBody",
            "content",
            "application/json",
            "schema",
          )
        : undefined) ??
      (named && `#/components/schemas/${named.schema}`)
    );
  }

  /**
   * Request bodies omit the output-only `type` discriminator (at any depth), so its absence is fine;
   * so are Code Insights data values typed as they say.
   */
  private validateRequest(ref: string, body: unknown): string[] {
    const v = this.validator(ref);
    if (v(body)) return [];
    return (v.errors ?? [])
      .filter((err) => !(err.keyword === "required" && err.params.missingProperty === "type"))
      .filter((err) => !insightDataValue(err))
      .map((err) => `${err.instancePath || "/"} ${err.message} (${ref})`);
  }
}

/** The same checks against the Data Center 9.2 spec. */
export const dataCenterContract = () => new Contract(DATACENTER);
