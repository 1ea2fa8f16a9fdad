// The time, for the decisions that depend on the date (an access token due for renewal). Pure
// functions take `now` as a parameter (retry.ts, limiter.ts); the providers ask `now()` here.
//
// Tests move the clock with BITBUCKET_IAC_NOW (an ISO 8601 date-time, or epoch milliseconds). It is
// read at call time, because the engine harness runs the provider in the dynamic-provider host, a
// separate process that only sees its environment; a new host with a moved clock is the next day's
// `pulumi up`. Nothing else sets it, and it is not a setting: unset, the time is the system's.

/** The environment variable tests move the clock with. */
export const CLOCK_ENV = "BITBUCKET_IAC_NOW";

/** Now, in epoch milliseconds. Throws naming BITBUCKET_IAC_NOW when it is set but unreadable. */
export function now(env: NodeJS.ProcessEnv = process.env): number {
  const v = env[CLOCK_ENV]?.trim();
  if (v === undefined || v === "") return Date.now();
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) {
    throw new Error(
      `${CLOCK_ENV} must be an ISO 8601 date-time or epoch milliseconds, got "${v}"; unset it to use the system clock`,
    );
  }
  return ms;
}
