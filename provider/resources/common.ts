// Helpers every resource provider shares: configure, secret hashing, check failures with
// close-match suggestions (provider/suggest.ts), and the error shapes Pulumi understands.

import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import { loadSettings, setProviderConfig } from "../api/auth";
import { isApiError } from "../api/errors";

// Suggestions live below the presets too (provider/suggest.ts); the resources and the manifest import them from here.
export { closeMatches, editDistance } from "../suggest";

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

/**
 * Looks an object up right after a write whose answer was lost. Lists can lag a write
 * briefly (Terraform's provider waits for Pipelines variables), so look a few times.
 */
export async function findAfterWrite<T>(find: () => Promise<T | undefined>): Promise<T | undefined> {
  const base = Math.max(1, loadSettings().retry.baseDelayMs);
  for (let attempt = 0; ; attempt++) {
    const hit = await find().catch(() => undefined);
    if (hit !== undefined || attempt >= 2) return hit;
    await new Promise((r) => setTimeout(r, base * 2 ** attempt));
  }
}

export const statusOf = (e: unknown): number | undefined => (isApiError(e) ? e.status : undefined);

/** Fields naming where an object lives; Bitbucket compares them ignoring case. */
export const LOCATION_FIELDS: readonly string[] = ["workspace", "repository", "project"];

/**
 * The fields among `fields` whose value differs between state and the new inputs ("" = absent).
 * Workspace, repository and project names are compared ignoring case, as Bitbucket does.
 */
export function changedFields<K extends string>(
  fields: readonly K[],
  olds: Partial<Record<K, unknown>>,
  news: Partial<Record<K, unknown>>,
): K[] {
  const fold = (k: K, v: unknown) =>
    typeof v === "string" && LOCATION_FIELDS.includes(k) ? v.toLowerCase() : (v ?? "");
  return fields.filter((k) => fold(k, olds[k]) !== fold(k, news[k]));
}

/** Resource options with the resource's secret outputs added to any the caller gave. */
export function withSecretOutputs(
  opts: pulumi.CustomResourceOptions | undefined,
  secretOutputs: string[],
): pulumi.CustomResourceOptions {
  return { ...opts, additionalSecretOutputs: [...secretOutputs, ...(opts?.additionalSecretOutputs ?? [])] };
}
