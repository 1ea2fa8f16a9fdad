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
import { apiUrlHint } from "./api-url";
import { apiError, formatApiError, isApiError, isNotFound, parseErrorBody, type ApiError } from "./errors";
import { sharedLimiter } from "./limiter";
import { cachedObject, forgetWritten, patchWritten } from "./cache";
import { fitsWaitBudget, rateLimitDelay, retryDelay, type RateLimitPause } from "./retry";
import { notice, processWide } from "./shared";

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Whether a retry after a 5xx or lost answer is harmless; default by method (retry.ts). */
  idempotent?: boolean;
  /**
   * The answer as its collection's listing has it, for the read cache's patch (cache.ts): a Data
   * Center token create's answer less its raw `token`, which is in no listing. Default: as it is.
   */
  listed?: (answer: unknown) => unknown;
}

export interface Response<T> {
  status: number;
  data: T;
  /**
   * The answer's headers with one value each, names in lower case (e.g. Data Center's
   * `x-ausername`). Set-Cookie is left out: a session cookie is a credential.
   */
  headers: Readonly<Record<string, string>>;
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
 * POST grant_type=client_credentials to the token URL with Basic key:secret, through the shared
 * limiter and the retry policy like any request (a repeated grant only makes another token, so it
 * is retried like a GET). Throws an ApiError carrying Bitbucket's `error_description` (never the
 * credentials).
 */
export async function clientCredentialsGrant(
  tokenUrl: string,
  clientId: string,
  clientSecret: string,
): Promise<TokenGrant> {
  const s = loadSettings();
  const res = await send(s, {
    method: "POST",
    url: tokenUrl,
    shown: displayPath(tokenUrl, s.apiUrl),
    idempotent: true,
    data: "grant_type=client_credentials",
    headers: async () => ({
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: basicHeader(clientId, clientSecret),
    }),
    accept: (r) => r.status === 200 && typeof (r.data as Partial<TokenGrant>)?.access_token === "string",
  });
  return res.data as TokenGrant;
}

/**
 * The OAuth access token to send. Concurrent callers share one grant. `stale` is a token Bitbucket
 * refused (401): a new one is granted only if the cache still holds that one, so N requests that
 * got a 401 at once cause one grant, not N.
 */
async function oauthToken(c: Extract<Credentials, { kind: "oauth" }>, stale?: string): Promise<string> {
  const cache = tokenCache();
  const key = `${c.tokenUrl} ${c.clientId}`;
  // Each turn either returns, throws, or finds that another caller replaced the entry meanwhile.
  for (let turn = 0; turn < 10; turn++) {
    const hit = cache.get(key);
    if (hit) {
      const t = await hit; // a grant under way that fails throws here for every caller waiting on it
      if (t.refreshAt > Date.now() && t.accessToken !== stale) return t.accessToken;
      if (cache.get(key) !== hit) continue;
    }
    break;
  }
  const pending = clientCredentialsGrant(c.tokenUrl, c.clientId, c.clientSecret).then((g): CachedToken => ({
    accessToken: g.access_token,
    refreshAt: refreshTime(Date.now(), Number(g.expires_in ?? 3600)),
  }));
  cache.set(key, pending);
  try {
    const t = await pending;
    if (cache.get(key) === pending) cache.set(key, t);
    return t.accessToken;
  } catch (e) {
    if (cache.get(key) === pending) cache.delete(key);
    throw e;
  }
}

async function authorization(s: Settings, stale?: string): Promise<string> {
  const c = credentialsOf(s);
  if (c.kind === "bearer") return `Bearer ${c.token}`;
  if (c.kind === "basic") return basicHeader(c.username, c.password);
  return `Bearer ${await oauthToken(c, stale)}`;
}

/** One HTTP exchange as `send` repeats it. */
interface Exchange {
  method: string;
  url: string;
  /** The path shown in errors and notices (no host, no credentials). */
  shown: string;
  params?: Record<string, string | number | boolean>;
  data?: unknown;
  /** Called before each attempt (a renewed OAuth token takes effect on the retry). */
  headers: () => Promise<Record<string, string>>;
  /** Whether repeating it is harmless whatever its method. */
  idempotent?: boolean;
  /** Which answers are a success (default: any 2xx). */
  accept?: (res: AxiosResponse) => boolean;
  /** A 401: renew what `headers` sends and say whether to try again (once). */
  renew?: (sent: Record<string, string>) => Promise<boolean>;
}

/** A wait as people read it: 250 ms, 4.5 s, 12 min 30 s. */
const duration = (ms: number) =>
  ms < 1000
    ? `${ms} ms`
    : ms < 60_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1000)} s`;

/**
 * Sends `x` through the shared limiter until it succeeds or fails for good: 429 is waited out within
 * the wait budget (bitbucket:rateLimitWaitMs, elapsed time since the request's first 429; each pause
 * at least bitbucket:rateLimitMinDelayMs), saying so (reportWait); 5xx and network failures are
 * retried per the policy (never a POST unless idempotent).
 */
async function send(s: Settings, x: Exchange): Promise<AxiosResponse> {
  const limiter = sharedLimiter(s.concurrency);
  const accept = x.accept ?? ((r: AxiosResponse) => r.status >= 200 && r.status < 300);
  let limitedSince: number | undefined;
  let limitedInARow = 0;
  let renewed = false;
  for (let attempt = 1; ; attempt++) {
    const headers = await x.headers(); // missing credentials and a failed OAuth grant throw here, explained
    let res: AxiosResponse;
    counted(x.method, x.shown);
    try {
      res = await limiter.run(() =>
        http1().request({
          method: x.method,
          url: x.url,
          params: x.params,
          data: x.data,
          timeout: s.timeoutMs,
          headers,
        }),
      );
    } catch (e) {
      const failure = networkError(e, x.method, x.shown, s.timeoutMs);
      const delay = retryDelay({ method: x.method, idempotent: x.idempotent, status: 0 }, attempt, s.retry);
      if (delay === undefined) throw failure;
      await sleep(delay);
      continue;
    }
    if (accept(res)) {
      limiter.succeeded();
      return res;
    }
    const retryAfter = res.headers["retry-after"] as string | undefined;
    const failure = apiError({
      status: res.status,
      method: x.method,
      path: x.shown,
      ...parseErrorBody(res.data),
      ...(retryAfter !== undefined && { retryAfterSeconds: Number(retryAfter) || undefined }),
    });
    if (res.status === 401 && x.renew && !renewed) {
      renewed = true;
      if (await x.renew(headers)) {
        attempt--;
        continue;
      }
    }
    if (res.status === 429) {
      // The backoff grows with this request's 429s and with the process's pauses since a success.
      const inARow = Math.max(++limitedInARow, limiter.stats().pausesInARow + 1);
      const delay = rateLimitDelay(retryAfter, inARow, s.retry);
      limitedSince ??= Date.now();
      const waited = Date.now() - limitedSince;
      if (!fitsWaitBudget(delay.ms, waited, s.rateLimitWaitMs))
        throw outOfPatience(failure, s, waited, delay);
      if (limiter.rateLimited(delay.ms)) reportWait(s, `${x.method} ${x.shown.replace(/\?.*$/, "")}`, delay);
      await sleep(delay.ms);
      attempt--; // 429s are held against the wait budget, not the retries
      continue;
    }
    limitedInARow = 0;
    const delay = retryDelay(
      { method: x.method, idempotent: x.idempotent, status: res.status, retryAfter },
      attempt,
      s.retry,
    );
    if (delay === undefined) throw failure;
    await sleep(delay);
  }
}

/** Requests sent by this process (every attempt), for `plan --stats`: by method, and per path and query (a page). */
export interface RequestStats {
  total: number;
  byMethod: Record<string, number>;
  byPath: Map<string, number>;
}

export const requestStats = (): RequestStats =>
  processWide("request-stats", () => ({ total: 0, byMethod: {}, byPath: new Map<string, number>() }));

function counted(method: string, shown: string): void {
  const st = requestStats();
  const key = `${method} ${shown}`;
  st.total++;
  st.byMethod[method] = (st.byMethod[method] ?? 0) + 1;
  st.byPath.set(key, (st.byPath.get(key) ?? 0) + 1);
}

const readOnlyFlag = () => processWide("read-only", () => ({ on: false }));

/**
 * While on, every write is refused in this process: `plan` and `export` only read Bitbucket, and
 * a bug that reached a POST must fail rather than change it.
 */
export function setReadOnly(on: boolean): void {
  readOnlyFlag().on = on;
}

/**
 * Says that the run waits on Bitbucket's rate limit: at the first pause after a success, then at
 * most once a minute while it lasts (a long wait without Retry-After is many short pauses).
 */
function reportWait(s: Settings, what: string, delay: RateLimitPause): void {
  const seen = processWide("rate-limit-notice", () => ({ since: 0, last: 0 }));
  const now = Date.now();
  const pauses = sharedLimiter(s.concurrency).stats();
  const how = `${duration(delay.ms)}${
    !delay.told
      ? " (no Retry-After: backing off)"
      : delay.asked !== undefined && delay.asked < delay.ms
        ? ` (its Retry-After asks ${duration(delay.asked)}; a pause lasts at least ${duration(s.retry.rateLimitMinDelayMs)}, bitbucket:rateLimitMinDelayMs)`
        : " as its Retry-After asks"
  }`;
  if (pauses.pausesInARow === 1) {
    seen.since = now;
    seen.last = now;
    notice(
      `rate limited by Bitbucket (429 on ${what}): waiting ${how}, then ${pauses.limit} request(s) at a time; ` +
        `a request waits at most ${duration(s.rateLimitWaitMs)} in all (bitbucket:rateLimitWaitMs)`,
    );
  } else if (now - seen.last >= 60_000) {
    seen.last = now;
    notice(
      `still rate limited by Bitbucket after ${duration(now - seen.since)} (429 on ${what}): waiting ${how}`,
    );
  }
}

/** The 429 that outlasted the wait budget, saying what to do. */
function outOfPatience(failure: ApiError, s: Settings, waited: number, next: RateLimitPause) {
  const budget = `the wait budget (bitbucket:rateLimitWaitMs / BITBUCKET_RATE_LIMIT_WAIT_MS = ${s.rateLimitWaitMs})`;
  failure.message +=
    next.asked === next.ms // the pause is what Retry-After asks, not the least pause
      ? ` - Bitbucket asks to wait ${duration(next.asked)} more (Retry-After), beyond what is left of ${budget} after ${duration(waited)}`
      : ` - still rate limited after waiting ${duration(waited)}, ${budget}`;
  failure.message +=
    ". Bitbucket Cloud counts requests per rolling hour: run again later (what was done is recorded), or raise the budget";
  return failure;
}

/**
 * A resource of one flavor on a connection of the other would send its paths to the wrong server
 * (a Data Center `/rest/...` path under api.bitbucket.org): say which setting to change instead.
 */
function checkFlavor(s: Settings, method: string, path: string): void {
  if (/^https?:\/\//i.test(path)) return; // a pagination link of the server itself
  const wants = isDataCenterPath(path) ? "datacenter" : "cloud";
  if (wants === s.flavor) return;
  throw new Error(
    wants === "datacenter"
      ? `${method} ${path.replace(/\?.*$/, "")}: this is a Bitbucket Data Center resource, but the connection is Bitbucket Cloud (bitbucket:flavor / BITBUCKET_FLAVOR is "cloud"): set bitbucket:flavor to datacenter and bitbucket:apiUrl to the server's base URL`
      : `${method} ${path.replace(/\?.*$/, "")}: this is a Bitbucket Cloud resource, but the connection is Bitbucket Data Center (bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter"): Cloud-only resources cannot be managed on a Data Center server`,
  );
}

/**
 * A 404 or 501 (no such route) under an API URL that looks wrong for the flavor: the error says
 * which setting to change and to what, and is no longer a sign of the object gone (isNotFound).
 */
function explainUrl(e: ApiError, s: Settings): void {
  const hint = apiUrlHint(s.apiUrl, s.flavor);
  if (hint === undefined) return;
  e.urlHint = hint;
  e.message = formatApiError(e);
}

/** Data Center REST paths start with /rest/ (shared/bitbucket-api.md §8.1); Cloud's are under /2.0. */
export const isDataCenterPath = (path: string): boolean => path.startsWith("/rest/");

/**
 * Sends one API request with retries. Resolves with any 2xx; throws an ApiError for
 * everything else (after the retries the policy allows). A write (anything but GET) patches the
 * cached listing it changed with its answer, or drops it when it failed or its answer was lost
 * (cache.ts).
 */
export async function request<T = unknown>(
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<Response<T>> {
  const s = loadSettings();
  checkFlavor(s, method, path);
  const url = /^https?:\/\//i.test(path) ? onApiOrigin(path, s.apiUrl) : `${s.apiUrl}${path}`;
  const shown = displayPath(url, s.apiUrl);
  const write = method !== "GET" && method !== "HEAD";
  if (write && readOnlyFlag().on) {
    throw new Error(
      `${method} ${shown}: refused, this command only reads Bitbucket (a bug: please report it)`,
    );
  }
  const params = opts.query
    ? (Object.fromEntries(Object.entries(opts.query).filter(([, v]) => v !== undefined)) as Record<
        string,
        string | number | boolean
      >)
    : undefined;
  const oauth = credentialsOf(s).kind === "oauth";
  let res: AxiosResponse;
  try {
    res = await send(s, {
      method,
      url,
      shown,
      ...(params && { params }),
      data: opts.body,
      ...(opts.idempotent !== undefined && { idempotent: opts.idempotent }),
      headers: async () => ({ Authorization: await authorization(s) }),
      // An OAuth access token can expire between our refresh margin and the server's clock: renew it
      // (one grant for every request that was refused the same token).
      ...(oauth && {
        renew: async (sent: Record<string, string>) => {
          await authorization(s, sent.Authorization?.replace(/^Bearer /, ""));
          return true;
        },
      }),
    });
  } catch (e) {
    if (isApiError(e) && (e.status === 404 || e.status === 501)) explainUrl(e, s);
    // A DELETE answered 404: the object is not there, as after our own DELETE.
    if (write && method === "DELETE" && isNotFound(e)) patchWritten(s.apiUrl, method, shown, undefined);
    else if (write) forgetWritten(s.apiUrl, shown); // refused or lost: it may have happened
    throw e;
  }
  if (write) patchWritten(s.apiUrl, method, shown, opts.listed ? opts.listed(res.data) : res.data);
  return { status: res.status, data: res.data as T, headers: singleHeaders(res.headers) };
}

/** Headers with a single string value (Set-Cookie, a list, never is). */
const singleHeaders = (h: AxiosResponse["headers"]): Record<string, string> =>
  Object.fromEntries(
    Object.entries(h as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === "string" && e[0].toLowerCase() !== "set-cookie",
    ),
  );

/** GET of a single object read often and never written by us (a repository, `/user`): once per run (cache.ts). */
export function getCached<T>(path: string): Promise<T> {
  return cachedObject(loadSettings(), path, async () => (await request<T>("GET", path)).data);
}

/** GET that resolves undefined on 404 (the object is gone). */
export async function getOrUndefined<T>(path: string, opts: RequestOptions = {}): Promise<T | undefined> {
  try {
    return (await request<T>("GET", path, opts)).data;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** DELETE where 404 counts as success (already gone). */
export async function deleteIfExists(path: string): Promise<void> {
  try {
    await request("DELETE", path);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
