// Connection settings and credentials, read at call time (never captured into the
// serialized provider): stack config `bitbucket:<name>` (handed to the provider's
// `configure`) overrides the environment variable of DESIGN.md "Connection".
//
// Credentials, first match wins:
//   token                       -> Authorization: Bearer <token>
//   username + apiToken         -> Basic (Atlassian email + API token, or DC user + password)
//   oauthClientId + Secret      -> client_credentials grant at oauthTokenUrl, Bearer the
//                                  access token; cached process-wide, refreshed before expiry.

import { apiUrlProblem, CLOUD_API } from "./api-url";
import type { RetryOptions } from "./retry";
import { RETRY_DEFAULTS } from "./retry";
import { processWide } from "./shared";

export interface Settings {
  apiUrl: string;
  flavor: "cloud" | "datacenter";
  token?: string;
  username?: string;
  apiToken?: string;
  oauthClientId?: string;
  oauthClientSecret?: string;
  oauthTokenUrl: string;
  concurrency: number;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  /**
   * The longest one request waits on 429s in all, as elapsed time since its first 429, before the
   * run fails (default: an hour).
   */
  rateLimitWaitMs: number;
}

/** Config key (after `bitbucket:`) -> environment variable. */
export const SETTING_ENV = {
  apiUrl: "BITBUCKET_API_URL",
  flavor: "BITBUCKET_FLAVOR",
  token: "BITBUCKET_TOKEN",
  username: "BITBUCKET_USERNAME",
  apiToken: "BITBUCKET_API_TOKEN",
  oauthClientId: "BITBUCKET_OAUTH_CLIENT_ID",
  oauthClientSecret: "BITBUCKET_OAUTH_CLIENT_SECRET",
  oauthTokenUrl: "BITBUCKET_OAUTH_TOKEN_URL",
  concurrency: "BITBUCKET_CONCURRENCY",
  timeoutMs: "BITBUCKET_TIMEOUT_MS",
  maxRetries: "BITBUCKET_MAX_RETRIES",
  retryBaseDelayMs: "BITBUCKET_RETRY_BASE_DELAY_MS",
  retryMaxDelayMs: "BITBUCKET_RETRY_MAX_DELAY_MS",
  rateLimitWaitMs: "BITBUCKET_RATE_LIMIT_WAIT_MS",
  rateLimitMinDelayMs: "BITBUCKET_RATE_LIMIT_MIN_DELAY_MS",
  tokenRenewDays: "BITBUCKET_TOKEN_RENEW_DAYS",
  policy: "BITBUCKET_POLICY",
} as const;
export type SettingName = keyof typeof SETTING_ENV;

export const CLOUD_API_URL = CLOUD_API;
export const CLOUD_TOKEN_URL = "https://bitbucket.org/site/oauth2/access_token";

type ConfigStore = Partial<Record<SettingName, string>>;
const stackConfig = () => processWide<ConfigStore>("config", () => ({}));

/** Called from every provider's `configure`: keeps the stack's `bitbucket:*` values for this process. */
export function setProviderConfig(get: (key: string) => string | undefined): void {
  const store = stackConfig();
  for (const name of Object.keys(SETTING_ENV) as SettingName[]) {
    const v = get(`bitbucket:${name}`);
    if (v !== undefined && v !== "") store[name] = v;
    else delete store[name];
  }
}

function raw(name: SettingName, env: NodeJS.ProcessEnv): string | undefined {
  const fromConfig = stackConfig()[name];
  const v = fromConfig ?? env[SETTING_ENV[name]];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function int(name: SettingName, env: NodeJS.ProcessEnv, dflt: number, min: number): number {
  const v = raw(name, env);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`bitbucket:${name} / ${SETTING_ENV[name]} must be a whole number >= ${min}, got "${v}"`);
  }
  return n;
}

/** Whether a host is this machine (where plain http carries nothing over a network). */
export function isLoopback(hostname: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(hostname);
}

/**
 * An API or token URL: https, or http only to this machine (the emulator). Credentials and client
 * secrets go to it, so plain http elsewhere is refused rather than sent in clear text.
 */
function checkUrl(name: "apiUrl" | "oauthTokenUrl", value: string): string {
  const where = `bitbucket:${name} / ${SETTING_ENV[name]}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${where} must be an https URL, got "${value}"`);
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))) return value;
  throw new Error(
    url.protocol === "http:"
      ? `${where} is plain http to ${url.host}: credentials would travel in clear text; use https (http is accepted only for localhost)`
      : `${where} must be an https URL, got "${value}"`,
  );
}

/**
 * The flavor the connection is configured for (`bitbucket:flavor` / BITBUCKET_FLAVOR, default
 * cloud): a resource that does not say its own flavor takes this one. An unknown value reads as
 * cloud here; loadSettings reports it when a request is made.
 */
export function flavorSetting(env: NodeJS.ProcessEnv = process.env): "cloud" | "datacenter" {
  return raw("flavor", env) === "datacenter" ? "datacenter" : "cloud";
}

/** Default of `bitbucket:tokenRenewDays`: a Data Center access token is replaced from a week before it expires. */
export const TOKEN_RENEW_DAYS_DEFAULT = 7;

/**
 * How many days before its expiry a Data Center access token is replaced
 * (`bitbucket:tokenRenewDays` / BITBUCKET_TOKEN_RENEW_DAYS, default 7; 0: only once expired). Read
 * on its own, as `flavorSetting` is: diff needs it, and nothing else of the connection.
 */
export function tokenRenewDays(env: NodeJS.ProcessEnv = process.env): number {
  return int("tokenRenewDays", env, TOKEN_RENEW_DAYS_DEFAULT, 0);
}

/**
 * The policy files every resource's check holds it to, as given (paths, relative to the working
 * directory of the Pulumi program): stack config `bitbucket:policy` and BITBUCKET_POLICY, both when
 * both are set. Unlike the other settings, config does not replace the environment: an
 * organisation's file set in the environment applies whatever a repository's stack config says
 * (an empty `bitbucket:policy` included). Read on its own, as `flavorSetting` is.
 */
export function policySettings(env: NodeJS.ProcessEnv = process.env): string[] {
  const given = [stackConfig().policy, env[SETTING_ENV.policy]].map((v) => v?.trim());
  return [...new Set(given.filter((v): v is string => v !== undefined && v !== ""))];
}

/** The settings loadSettings reads: every one but those read on their own (flavorSetting and the like). */
const LOADED: SettingName[] = [
  "apiUrl",
  "flavor",
  "token",
  "username",
  "apiToken",
  "oauthClientId",
  "oauthClientSecret",
  "oauthTokenUrl",
  "concurrency",
  "timeoutMs",
  "maxRetries",
  "retryBaseDelayMs",
  "retryMaxDelayMs",
  "rateLimitWaitMs",
  "rateLimitMinDelayMs",
];

/**
 * The settings in force now. Throws a message naming the setting when one is malformed. Every
 * request asks: while the values read are those of the last call, that call's (frozen) object is
 * the answer, so nothing is parsed per request and the read cache can remember what it derives
 * from it (cache.ts `viewOf`). What is left per call is reading the values, so a changed
 * environment or stack config is seen at once.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const last = lastSettings();
  let same = last.settings !== undefined;
  for (let i = 0; i < LOADED.length; i++) {
    const v = raw(LOADED[i]!, env);
    if (v !== last.given[i]) {
      same = false;
      last.given[i] = v;
    }
  }
  if (same) return last.settings!;
  last.settings = undefined; // a failed build below leaves nothing to reuse
  last.settings = deepFreeze(buildSettings(env));
  return last.settings;
}

const lastSettings = () =>
  processWide<{ given: Array<string | undefined>; settings?: Settings }>("settings", () => ({ given: [] }));

const deepFreeze = (s: Settings): Settings => Object.freeze({ ...s, retry: Object.freeze({ ...s.retry }) });

function buildSettings(env: NodeJS.ProcessEnv): Settings {
  const flavor = raw("flavor", env) ?? "cloud";
  if (flavor !== "cloud" && flavor !== "datacenter") {
    throw new Error(`bitbucket:flavor / BITBUCKET_FLAVOR must be "cloud" or "datacenter", got "${flavor}"`);
  }
  const given = raw("apiUrl", env);
  if (flavor === "datacenter" && given === undefined) {
    throw new Error(
      `bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter": set bitbucket:apiUrl / BITBUCKET_API_URL to the server's base URL, e.g. https://bitbucket.example.com (without /rest)`,
    );
  }
  const apiUrl = checkUrl("apiUrl", (given ?? CLOUD_API_URL).replace(/\/+$/, ""));
  const wrong = apiUrlProblem(apiUrl, flavor);
  if (wrong !== undefined) throw new Error(wrong);
  const oauthTokenUrl = checkUrl("oauthTokenUrl", raw("oauthTokenUrl", env) ?? CLOUD_TOKEN_URL);
  return {
    apiUrl,
    flavor,
    token: raw("token", env),
    username: raw("username", env),
    apiToken: raw("apiToken", env),
    oauthClientId: raw("oauthClientId", env),
    oauthClientSecret: raw("oauthClientSecret", env),
    oauthTokenUrl,
    concurrency: int("concurrency", env, 8, 1),
    timeoutMs: int("timeoutMs", env, 30_000, 100),
    retry: {
      retries: int("maxRetries", env, RETRY_DEFAULTS.retries, 0),
      baseDelayMs: int("retryBaseDelayMs", env, RETRY_DEFAULTS.baseDelayMs, 0),
      maxDelayMs: int("retryMaxDelayMs", env, RETRY_DEFAULTS.maxDelayMs, 0),
      doNotRetry: RETRY_DEFAULTS.doNotRetry,
      // At least 1 ms: a pause of 0 would let a 429 with `Retry-After: 0` be repeated at once.
      rateLimitMinDelayMs: int("rateLimitMinDelayMs", env, RETRY_DEFAULTS.rateLimitMinDelayMs, 1),
    },
    // Bitbucket Cloud's limit is per rolling hour: waiting that long always frees the window.
    rateLimitWaitMs: int("rateLimitWaitMs", env, 3_600_000, 0),
  };
}

export type Credentials =
  | { kind: "bearer"; token: string }
  | { kind: "basic"; username: string; password: string }
  | { kind: "oauth"; clientId: string; clientSecret: string; tokenUrl: string };

export function credentialsOf(s: Settings): Credentials {
  if (s.token) return { kind: "bearer", token: s.token };
  if (s.username && s.apiToken) return { kind: "basic", username: s.username, password: s.apiToken };
  if (s.oauthClientId && s.oauthClientSecret) {
    return {
      kind: "oauth",
      clientId: s.oauthClientId,
      clientSecret: s.oauthClientSecret,
      tokenUrl: s.oauthTokenUrl,
    };
  }
  const half =
    s.username && !s.apiToken
      ? " (BITBUCKET_USERNAME is set but BITBUCKET_API_TOKEN is not)"
      : s.oauthClientId && !s.oauthClientSecret
        ? " (BITBUCKET_OAUTH_CLIENT_ID is set but BITBUCKET_OAUTH_CLIENT_SECRET is not)"
        : "";
  throw new Error(
    `no Bitbucket credentials${half}: set BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_API_TOKEN, ` +
      `or BITBUCKET_OAUTH_CLIENT_ID and BITBUCKET_OAUTH_CLIENT_SECRET (or the bitbucket:token, ... stack config, set with --secret)`,
  );
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** A cached OAuth access token. */
export interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token must not be used. */
  refreshAt: number;
}

/** The process-wide OAuth token cache, keyed by token URL and client id (never the secret). */
export function tokenCache(): Map<string, CachedToken | Promise<CachedToken>> {
  return processWide("oauth-tokens", () => new Map<string, CachedToken | Promise<CachedToken>>());
}

/**
 * When to refresh a token that lives `expiresInSec`: a margin of 10% (at least 30 s,
 * at most 5 min) before expiry, so no request goes out with a token about to lapse.
 */
export function refreshTime(now: number, expiresInSec: number): number {
  const life = expiresInSec * 1000;
  const margin = Math.min(5 * 60_000, Math.max(30_000, life / 10));
  return now + Math.max(0, life - margin);
}
