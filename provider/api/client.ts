// The HTTP client every resource uses: one axios instance per process, credentials from
// auth.ts, the shared limiter, the retry policy, and one typed error (errors.ts).
// Paths are relative to the API base URL ("/repositories/acme/api/hooks"); an absolute
// URL (a pagination `next` link) is used as given.

import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import * as http from "http";
import * as https from "https";
import {
  basicHeader,
  credentialsOf,
  loadSettings,
  refreshTime,
  tokenCache,
  type CachedToken,
  type Credentials,
  type Settings,
} from "./auth";
import { apiError, isApiError, parseErrorBody, type ApiError } from "./errors";
import { sharedLimiter } from "./limiter";
import { retryDelay } from "./retry";
import { processWide } from "./shared";

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

export interface Response<T> {
  status: number;
  data: T;
}

/** The process-wide axios instance, with keep-alive agents. */
function http1(): AxiosInstance {
  return processWide("axios", () =>
    axios.create({
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({ keepAlive: true }),
      maxRedirects: 0,
      // Every status is an answer to interpret here; only transport failures throw.
      validateStatus: () => true,
      headers: { Accept: "application/json", "User-Agent": "bitbucket-iac" },
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The path shown in errors: relative to the base URL, with the query. */
function displayPath(url: string, base: string): string {
  return url.startsWith(base) ? url.slice(base.length) || "/" : url.replace(/^https?:\/\/[^/]+/, "");
}

/**
 * An absolute URL (a pagination `next` link) is followed only on the API's own origin: the
 * request carries the credentials, which must never reach another host or drop to plain http.
 */
function onApiOrigin(url: string, apiUrl: string): string {
  const origin = (u: string) => {
    try {
      return new URL(u).origin;
    } catch {
      return undefined;
    }
  };
  if (origin(url) === origin(apiUrl)) return url;
  throw new Error(
    `GET ${url.replace(/[?#].*$/, "")}: refused to follow a pagination link away from the API origin ${origin(apiUrl)}; credentials are sent only there`,
  );
}

/** Transport failure (no response) as our typed error; the AxiosError (and its headers) stays here. */
function networkError(e: unknown, method: string, path: string, timeoutMs: number): ApiError {
  const ax = e as { code?: string; message?: string };
  const why =
    ax.code === "ECONNABORTED" || ax.code === "ETIMEDOUT"
      ? `no answer within ${timeoutMs} ms (bitbucket:timeoutMs / BITBUCKET_TIMEOUT_MS)`
      : `${ax.code ?? "network error"}${ax.code === "ECONNREFUSED" ? ": is the API URL right?" : ""}`;
  return apiError({ status: 0, method, path, apiMessage: why });
}

/** Bitbucket's answer to a client-credentials grant (shared/bitbucket-api.md §5.2). */
export interface TokenGrant {
  access_token: string;
  /** Space-separated: Bitbucket's own field name, not RFC 6749's `scope`. */
  scopes?: string;
  expires_in?: number;
  token_type?: string;
}

/**
 * POST grant_type=client_credentials to the token URL with Basic key:secret. Throws an
 * ApiError carrying Bitbucket's `error_description` (never the credentials).
 */
export async function clientCredentialsGrant(
  tokenUrl: string,
  clientId: string,
  clientSecret: string,
): Promise<TokenGrant> {
  const s = loadSettings();
  const path = displayPath(tokenUrl, s.apiUrl);
  let res: AxiosResponse;
  try {
    res = await http1().post(tokenUrl, "grant_type=client_credentials", {
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: basicHeader(clientId, clientSecret),
      },
      timeout: s.timeoutMs,
    });
  } catch (e) {
    throw networkError(e, "POST", path, s.timeoutMs);
  }
  const body = res.data as Partial<TokenGrant>;
  if (res.status !== 200 || typeof body?.access_token !== "string") {
    throw apiError({ status: res.status, method: "POST", path, ...parseErrorBody(res.data) });
  }
  return body as TokenGrant;
}

async function oauthToken(c: Extract<Credentials, { kind: "oauth" }>, fresh: boolean): Promise<string> {
  const cache = tokenCache();
  const key = `${c.tokenUrl} ${c.clientId}`;
  const hit = cache.get(key);
  if (hit && !fresh) {
    const t = await hit;
    if (t.refreshAt > Date.now()) return t.accessToken;
  }
  const pending = clientCredentialsGrant(c.tokenUrl, c.clientId, c.clientSecret).then((g): CachedToken => ({
    accessToken: g.access_token,
    refreshAt: refreshTime(Date.now(), Number(g.expires_in ?? 3600)),
  }));
  cache.set(key, pending);
  try {
    const t = await pending;
    cache.set(key, t);
    return t.accessToken;
  } catch (e) {
    cache.delete(key);
    throw e;
  }
}

async function authorization(s: Settings, fresh = false): Promise<string> {
  const c = credentialsOf(s);
  if (c.kind === "bearer") return `Bearer ${c.token}`;
  if (c.kind === "basic") return basicHeader(c.username, c.password);
  return `Bearer ${await oauthToken(c, fresh)}`;
}

/**
 * Sends one API request with retries. Resolves with any 2xx; throws an ApiError for
 * everything else (after the retries the policy allows).
 */
export async function request<T = unknown>(
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<Response<T>> {
  const s = loadSettings();
  if (s.flavor !== "cloud") {
    throw new Error(
      `bitbucket:flavor / BITBUCKET_FLAVOR is "${s.flavor}", but bitbucket-iac manages Bitbucket Cloud only so far: unset it, or point bitbucket:apiUrl at a Cloud API`,
    );
  }
  const limiter = sharedLimiter(s.concurrency);
  const url = /^https?:\/\//i.test(path) ? onApiOrigin(path, s.apiUrl) : `${s.apiUrl}${path}`;
  const shown = displayPath(url, s.apiUrl);
  const params = opts.query
    ? Object.fromEntries(Object.entries(opts.query).filter(([, v]) => v !== undefined))
    : undefined;
  let refreshedToken = false;

  /** One try: the 2xx response, or the failure as our typed error (with Retry-After, if sent). */
  const once = async (): Promise<{ ok: Response<T> } | { failure: ApiError; retryAfter?: string }> => {
    // Missing credentials and a failed OAuth grant throw here, already explained.
    const auth = await authorization(s);
    let res: AxiosResponse;
    try {
      res = await limiter.run(() =>
        http1().request({
          method,
          url,
          params,
          data: opts.body,
          timeout: s.timeoutMs,
          headers: { Authorization: auth },
        }),
      );
    } catch (e) {
      return { failure: networkError(e, method, shown, s.timeoutMs) };
    }
    if (res.status >= 200 && res.status < 300) return { ok: { status: res.status, data: res.data as T } };
    const retryAfter = res.headers["retry-after"] as string | undefined;
    const failure = apiError({
      status: res.status,
      method,
      path: shown,
      ...parseErrorBody(res.data),
      ...(retryAfter !== undefined && { retryAfterSeconds: Number(retryAfter) || undefined }),
    });
    return { failure, retryAfter };
  };

  for (let attempt = 1; ; attempt++) {
    const r = await once();
    if ("ok" in r) return r.ok;
    // An OAuth access token can expire between our refresh margin and the server's clock: renew it once.
    if (r.failure.status === 401 && !refreshedToken && credentialsOf(s).kind === "oauth") {
      refreshedToken = true;
      await authorization(s, true);
      attempt--;
      continue;
    }
    const delay = retryDelay(
      { method, status: r.failure.status, retryAfter: r.retryAfter },
      attempt,
      s.retry,
    );
    if (delay === undefined) throw r.failure;
    if (r.failure.status === 429) limiter.pause(delay);
    await sleep(delay);
  }
}

/** GET that resolves undefined on 404 (the object is gone). */
export async function getOrUndefined<T>(path: string, opts: RequestOptions = {}): Promise<T | undefined> {
  try {
    return (await request<T>("GET", path, opts)).data;
  } catch (e) {
    if (isApiError(e) && e.status === 404) return undefined;
    throw e;
  }
}

/** DELETE where 404 counts as success (already gone). */
export async function deleteIfExists(path: string): Promise<void> {
  try {
    await request("DELETE", path);
  } catch (e) {
    if (!(isApiError(e) && e.status === 404)) throw e;
  }
}
