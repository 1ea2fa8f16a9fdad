// Helpers every resource provider shares: configure, secret hashing, check failures with
// close-match suggestions, and the error shapes Pulumi understands.

import * as crypto from "crypto";
import { setProviderConfig } from "../api/auth";
import { isApiError } from "../api/errors";

/** The dynamic provider's `configure`: keep the stack's `bitbucket:*` config for this process. */
export async function configure(req: { config: { get(key: string): string | undefined } }): Promise<void> {
  setProviderConfig((k) => req.config.get(k));
}

/** A salted hash to compare a write-only secret with later, without keeping the secret. */
export function hashSecret(secret: string, salt: string = crypto.randomBytes(16).toString("hex")): string {
  return `hmac-sha256:${salt}:${crypto.createHmac("sha256", salt).update(secret).digest("hex")}`;
}

/** Whether `secret` is the one `hash` was made from. */
export function secretMatches(secret: string, hash: string | undefined): boolean {
  const salt = hash?.split(":")[1];
  return salt !== undefined && hashSecret(secret, salt) === hash;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `n` known names closest to `name`: by edit distance, or sharing its prefix before ":". */
export function closeMatches(name: string, known: readonly string[], n = 3): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return known
    .map((k) => ({ k, d: editDistance(name.toLowerCase(), k) }))
    .filter(({ k, d }) => d <= limit || k.startsWith(name.split(":")[0] + ":") || k.includes(name))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, n)
    .map(({ k }) => k);
}

/** Prefixes an API error with the operation and object, keeping its typed fields. */
export function withContext(e: unknown, what: string): Error {
  if (isApiError(e)) {
    e.message = `${what}: ${e.message}`;
    return e;
  }
  return e instanceof Error
    ? Object.assign(e, { message: `${what}: ${e.message}` })
    : new Error(`${what}: ${String(e)}`);
}

/**
 * The error Pulumi records as "created, but failed to finish": the engine keeps `id` and
 * `properties` in state, so the object is neither orphaned nor created twice.
 */
export function partialFailure(cause: unknown, id: string, properties: object, what: string): Error {
  const err = withContext(cause, what);
  return Object.assign(new Error(err.message), { id, properties, reasons: [err.message] });
}

/** Whether a failed POST may have reached Bitbucket anyway (so look before re-creating). */
export function mayHaveCommitted(e: unknown): boolean {
  return isApiError(e) && (e.status === 0 || e.status >= 500);
}
