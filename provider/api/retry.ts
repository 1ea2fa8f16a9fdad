// Retry policy as data plus one pure function (time and randomness injected).
//
// - 429 is always retried, POST included: Bitbucket did not process the request.
// - 5xx, network errors and timeouts are retried for GET/PUT/DELETE only. A POST that
//   failed this way may have created the object; the caller looks it up by natural key
//   instead of repeating it (see DECISIONS.md "No POST retries").
// - 429 (rateLimitDelay) is waited out within a wait budget, not a number of attempts: Bitbucket
//   Cloud counts requests per rolling hour, so a large run may have to wait minutes. Its
//   `Retry-After` (seconds or an HTTP date) is honoured in full; without one (Cloud is not known to
//   send it) the delay grows exponentially with jitter, capped at maxDelayMs.
// - Other failures (retryDelay): `Retry-After` capped at maxDelayMs, else the same backoff, for
//   at most `retries` retries.

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Statuses never retried, whatever the method. */
  doNotRetry?: number[];
}

export const RETRY_DEFAULTS = {
  retries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422],
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

/** Milliseconds to wait from a `Retry-After` value, or undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
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

/**
 * The wait before retrying the `attempt`th 429 in a row: all of `Retry-After` when given, else the
 * exponential backoff. The caller holds it against the wait budget.
 */
export function rateLimitDelay(
  retryAfter: string | undefined,
  attempt: number,
  policy: Required<RetryOptions> = RETRY_DEFAULTS,
  now: number = Date.now(),
  random: () => number = Math.random,
): { ms: number; told: boolean } {
  const told = parseRetryAfter(retryAfter, now);
  return told !== undefined
    ? { ms: told, told: true }
    : { ms: backoff(attempt, policy, random), told: false };
}

function backoff(attempt: number, policy: Required<RetryOptions>, random: () => number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  // "Equal jitter": half fixed, half random, so retries from parallel resources spread out.
  return Math.round(exp / 2 + random() * (exp / 2));
}
