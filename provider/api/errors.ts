// One typed error for everything the API layer can fail with. It carries what a user
// needs to act (method, path, status, Bitbucket's own words) and never the request
// config: an AxiosError holds the Authorization header, so it must not escape.
//
// Bitbucket Cloud error bodies (shared/bitbucket-api.md §1.3) are
//   {"type":"error","error":{"message","detail"?,"fields"?,"id"?,"data"?}}
// where in practice `detail` may be an object ({required, granted} on a scope 403) and
// `fields` may be an object of arrays or an array of strings. Data Center sends
//   {"errors":[{"context","message","exceptionName"}]}.
// The OAuth token endpoint sends RFC 6749 {"error","error_description"}; Cloud's Code Insights
// (reports) service its own {"message", ...}.

export const API_ERROR_CODE = "BITBUCKET_API_ERROR";

export interface ApiErrorFields {
  /** HTTP status; 0 for a network error or timeout (no response). */
  status: number;
  method: string;
  /** Path and query as sent, relative to the API base URL. */
  path: string;
  /** Bitbucket's message, or the network error's description. */
  apiMessage: string;
  /** Bitbucket's `detail`, flattened to text. */
  detail?: string;
  /** Field validation messages, `field: message`. */
  fields?: string[];
  /** Scopes a 403 says are required and were granted. */
  requiredScopes?: string[];
  grantedScopes?: string[];
  /** Seconds from `Retry-After`, when the server sent it. */
  retryAfterSeconds?: number;
  /**
   * What to change when the answer was 404 or 501 and the API URL looks wrong (api-url.ts): then a
   * 404 says nothing of the object.
   */
  urlHint?: string;
}

export interface ApiError extends Error, ApiErrorFields {
  code: typeof API_ERROR_CODE;
}

/** Type guard; do not use `instanceof` (the serialized provider duplicates classes). */
export function isApiError(e: unknown): e is ApiError {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === API_ERROR_CODE;
}

/**
 * A 404 that says the object is not there (gone, or never made): not one under an API URL that
 * looks wrong, which every path answers, so that refresh never takes a mistyped URL for objects
 * deleted.
 */
export const isNotFound = (e: unknown): e is ApiError =>
  isApiError(e) && e.status === 404 && e.urlHint === undefined;

export function apiError(f: ApiErrorFields): ApiError {
  const err = new Error(formatApiError(f)) as ApiError;
  Object.assign(err, f, { code: API_ERROR_CODE, name: "BitbucketApiError" });
  return err;
}

export function formatApiError(f: ApiErrorFields): string {
  const where = `${f.method} ${f.path}`;
  const head =
    f.status === 0
      ? `${where} failed (network): ${f.apiMessage}`
      : `${where} failed (${f.status}): ${f.apiMessage}`;
  const parts = [head];
  if (f.detail) parts.push(f.detail);
  if (f.fields?.length) parts.push(f.fields.join("; "));
  if (f.requiredScopes?.length) {
    parts.push(
      `the credentials need scope(s) ${f.requiredScopes.join(", ")} but were granted ${f.grantedScopes?.join(", ") || "none"}: add them to the OAuth consumer or token`,
    );
  }
  if (f.status === 401 && f.path.startsWith("/rest/"))
    // Data Center answers 401 for a missing permission too (shared/bitbucket-api.md §8.1).
    parts.push(
      "Data Center answers 401 both for bad credentials and for a missing permission: check BITBUCKET_TOKEN / BITBUCKET_USERNAME+BITBUCKET_API_TOKEN, and that the user or token has REPO_ADMIN on the repository (PROJECT_ADMIN for project hooks, keys and tokens)",
    );
  else if (f.status === 401)
    parts.push("check BITBUCKET_TOKEN / BITBUCKET_USERNAME+BITBUCKET_API_TOKEN or the bitbucket:* config");
  if (f.urlHint) parts.push(f.urlHint);
  return parts.join(" - ");
}

/** Reads Bitbucket's error body (Cloud, Data Center, OAuth or plain text) into our fields. */
export function parseErrorBody(
  body: unknown,
): Pick<ApiErrorFields, "apiMessage" | "detail" | "fields" | "requiredScopes" | "grantedScopes"> {
  if (typeof body === "string") return { apiMessage: body.trim().slice(0, 300) || "no message" };
  if (typeof body !== "object" || body === null) return { apiMessage: "no message" };
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.errors)) {
    const msgs = b.errors.map((e: { context?: string | null; message?: string }) =>
      e.context ? `${e.context}: ${e.message}` : String(e.message),
    );
    return { apiMessage: msgs.join("; ") };
  }
  if (typeof b.error === "string") {
    return {
      apiMessage: typeof b.error_description === "string" ? `${b.error_description} (${b.error})` : b.error,
    };
  }
  // Cloud's Code Insights service answers {"key", "message", "arguments"} or {"code", "message"}
  // (reviewdog/reviewdog#1285, mc1arke/sonarqube-community-branch-plugin#209).
  if (b.error === undefined && typeof b.message === "string") return { apiMessage: b.message };
  const e = (b.error ?? {}) as Record<string, unknown>;
  const out: ReturnType<typeof parseErrorBody> = {
    apiMessage: typeof e.message === "string" ? e.message : "no message",
  };
  if (typeof e.detail === "string") out.detail = e.detail;
  else if (e.detail && typeof e.detail === "object") {
    const d = e.detail as { required?: unknown; granted?: unknown };
    if (Array.isArray(d.required)) out.requiredScopes = d.required.map(String);
    if (Array.isArray(d.granted)) out.grantedScopes = d.granted.map(String);
    if (!out.requiredScopes) out.detail = JSON.stringify(e.detail);
  }
  if (Array.isArray(e.fields)) out.fields = e.fields.map(String);
  else if (e.fields && typeof e.fields === "object") {
    out.fields = Object.entries(e.fields).map(
      ([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`,
    );
  }
  return out;
}
