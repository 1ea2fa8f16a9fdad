// Retry policy as data plus one pure function (time and randomness injected).
//
// - 429 is always retried, POST included: Bitbucket did not process the request.
// - 5xx, network errors and timeouts are retried for GET/PUT/DELETE only. A POST that
//   failed this way may have created the object; the caller looks it up by natural key
//   instead of repeating it (see DECISIONS.md "No POST retries").
// - 429 (rateLimitDelay) is waited out within a wait budget, not a number of attempts: Bitbucket
//   Cloud counts requests per rolling hour, so a large run may have to wait minutes. Its
//   `Retry-After` (seconds or an HTTP date) is honoured in full; without one (Cloud is not known to
//   send it) the delay grows exponentially with jitter, capped at maxDelayMs. Every pause lasts at
//   least rateLimitMinDelayMs, whatever Retry-After says (`0`, a date in the past), and the budget
//   is elapsed time (fitsWaitBudget): a server that keeps answering 429 "retry now" is not asked
//   again at once, and the wait ends after at most budget / rateLimitMinDelayMs pauses (issue 19).
// - Other failures (retryDelay): `Retry-After` capped at maxDelayMs, else the same backoff, for
//   at most `retries` retries.

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Statuses never retried, whatever the method. */
  doNotRetry?: number[];
  /**
   * The shortest pause after a 429, whatever `Retry-After` says: each pause lasts and costs the
   * wait budget at least this. Default 1000 ms.
   */
  rateLimitMinDelayMs?: number;
}

export const RETRY_DEFAULTS = {
  retries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422],
  rateLimitMinDelayMs: 1_000,
} satisfies Required<RetryOptions>;

// An array, not a Set: Pulumi's closure serializer does not carry a module-level Set intact.
const IDEMPOTENT = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"];

export interface Failure {
  method: string;
  /**
   * Whether repeating the request is harmless: true whatever its method (an OAuth token grant),
   * false even for a PUT (Data Center's PUT that creates an access token); default by method.
   */
  idempotent?: boolean;
  /** 0 for a network error or timeout. */
  status: number;
  /** `Retry-After` header value, if any. */
  retryAfter?: string;
}

/** Whether this failure may be retried at all (ignoring the attempt budget). */
export function isRetryable(f: Failure, policy: Required<RetryOptions> = RETRY_DEFAULTS): boolean {
  if (policy.doNotRetry.includes(f.status)) return false;
  if (f.status === 429) return true;
  if (!(f.idempotent ?? IDEMPOTENT.includes(f.method.toUpperCase()))) return false;
  return f.status === 0 || f.status >= 500;
}

/**
 * Milliseconds to wait from a `Retry-After` value (seconds, or an HTTP date: 0 when it is past), or
 * undefined if absent or unreadable. A huge value is capped at Number.MAX_SAFE_INTEGER (finite).
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.min(Number.MAX_SAFE_INTEGER, Math.round(Number(v) * 1000));
  // An HTTP date names its month or weekday; Date.parse alone would read "-1" as the year 2001.
  const at = /[a-z]{3}/i.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The delay before retry number `attempt` (1-based), or undefined when the failure must
 * not be retried or the budget is spent. `random` returns [0, 1).
 */
export function retryDelay(
  f: Failure,
  attempt: number,
  policy: Required<RetryOptions> = RETRY_DEFAULTS,
  now: number = Date.now(),
  random: () => number = Math.random,
): number | undefined {
  if (attempt > policy.retries || !isRetryable(f, policy)) return undefined;
  const told = parseRetryAfter(f.retryAfter, now);
  if (told !== undefined) return Math.min(told, policy.maxDelayMs);
  return backoff(attempt, policy, random);
}

/** The pause before retrying a 429. */
export interface RateLimitPause {
  /** How long to wait: never less than the policy's rateLimitMinDelayMs. */
  ms: number;
  /** Whether `Retry-After` gave a readable wait. */
  told: boolean;
  /** What `Retry-After` asked for, when told (0 for `0` or a date in the past). */
  asked?: number;
}

/**
 * The wait before retrying the `attempt`th 429 in a row: all of `Retry-After` when given, else the
 * exponential backoff; at least rateLimitMinDelayMs either way. The caller holds it against the
 * wait budget (fitsWaitBudget).
 */
export function rateLimitDelay(
  retryAfter: string | undefined,
  attempt: number,
  policy: Required<RetryOptions> = RETRY_DEFAULTS,
  now: number = Date.now(),
  random: () => number = Math.random,
): RateLimitPause {
  const asked = parseRetryAfter(retryAfter, now);
  const ms = Math.max(policy.rateLimitMinDelayMs, asked ?? backoff(attempt, policy, random));
  return asked !== undefined ? { ms, told: true, asked } : { ms, told: false };
}

/**
 * Whether a request rate limited since `elapsedMs` ago (its first 429, read on the clock: every
 * pause, queue wait and round trip counts, not just the pauses meant) may wait `pauseMs` more within
 * a budget of `budgetMs`.
 */
export function fitsWaitBudget(pauseMs: number, elapsedMs: number, budgetMs: number): boolean {
  return elapsedMs + pauseMs <= budgetMs;
}

function backoff(attempt: number, policy: Required<RetryOptions>, random: () => number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  // "Equal jitter": half fixed, half random, so retries from parallel resources spread out.
  return Math.round(exp / 2 + random() * (exp / 2));
}
