// Stack config keys for the write-only values `export` cannot read: one key per object, readable,
// stable across runs, and never the same for two objects.
//
// A key is the kind's prefix, then the object's scope and name, joined with `-`:
//
//   variable-my-repo-DEPLOY_TOKEN                 repository variable (my-repo, DEPLOY_TOKEN)
//   deployment-variable-api-Production-TOKEN      deployment variable (api, Production, TOKEN)
//   workspace-variable-TOKEN                      workspace variable
//   webhook-secret-api-ci-example-com-hook--3f2a1b  a hook's secret, by its URL's host and path
//   webhook-url-api-ci-example-com-hook--9c0d1e     a webhook URL that carries a credential
//   workspace-webhook-secret-..., ssh-key-pair-api
//   project-webhook-secret-PROJ-..., webhook-secret-PROJ-api-...   Data Center (audit's entries)
//
// Such a key is exact when every part is letters, digits and `_` (the repository slug may also
// hold single inner `-`): the prefix says the kind, the kind says how many parts follow, and
// only the repository may hold `-`, so the key can be read back. Any other part (`my.repo`,
// `Produção`, a name longer than 40 characters) is written readably (accents dropped, other
// characters `-`) and the key ends in `--` and 6 hex digits of the SHA-256 of the exact parts:
// `variable-my-repo-DEPLOY_TOKEN--1f2e3d`. An exact key never holds `--`, so it never equals a
// hashed one. When two keys of one export are still equal ignoring case (a 6-digit hash that
// collides, or `API` and `api` that a reader cannot tell apart), those keys take a longer hash
// (16, then all 64 digits). Keys depend only on the objects exported, in any order.

import { createHash } from "crypto";

/** The kinds of write-only values, with the parts naming each one (`repository` first, where it has one). */
export const SECRET_KINDS = {
  "webhook-secret": ["repository", "hook"],
  "workspace-webhook-secret": ["hook"],
  "webhook-url": ["repository", "hook"],
  "workspace-webhook-url": ["hook"],
  "project-webhook-secret": ["project", "hook"],
  "project-webhook-url": ["project", "hook"],
  variable: ["repository", "key"],
  "deployment-variable": ["repository", "environment", "key"],
  "workspace-variable": ["key"],
  "ssh-key-pair": ["repository"],
} as const satisfies Record<string, readonly string[]>;

export type SecretKind = keyof typeof SECRET_KINDS;

/** A write-only value's place: its kind and the parts of SECRET_KINDS[kind], exactly as Bitbucket has them. */
export interface SecretScope {
  kind: SecretKind;
  parts: string[];
}

/** A valid key: a letter first (never read as a command-line flag), then letters, digits, `_`, `-`. */
export const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;

const MAX_PART = 40;
/** Hash lengths, in hex digits, tried in turn for keys that collide. */
const HASH_LENGTHS = [6, 16, 64];

const WORD = /^[A-Za-z0-9_]+$/;
const SLUG = /^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$/;

/** True when the part is written as it is (the first part of a repository kind may hold single `-`). */
function exact(part: string, mayHoldDash: boolean): boolean {
  return part.length <= MAX_PART && (mayHoldDash ? SLUG : WORD).test(part);
}

/** A part written readably: accents dropped, runs of other characters one `-`, at most 40 characters. */
function readable(part: string): string {
  const r = part
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[^A-Za-z0-9_]+/g, "-")
    .slice(0, MAX_PART)
    .replace(/^-+|-+$/g, "");
  return r || "_";
}

function check(s: SecretScope): void {
  const names = SECRET_KINDS[s.kind];
  if (names.length !== s.parts.length) {
    throw new Error(`config key for ${s.kind}: needs ${names.join(", ")}, got ${s.parts.length} parts`);
  }
}

const identity = (s: SecretScope) => JSON.stringify([s.kind, ...s.parts]);

/** The key of `s` with a hash of `hashLength` hex digits, or without one (0) when it is exact. */
function keyWith(s: SecretScope, hashLength: number): string {
  const mayHoldDash = SECRET_KINDS[s.kind][0] === "repository";
  const parts = s.parts.map((p, i) => (exact(p, mayHoldDash && i === 0) ? p : readable(p)));
  const base = [s.kind, ...parts].join("-");
  if (hashLength === 0) return base;
  return `${base}--${createHash("sha256").update(identity(s)).digest("hex").slice(0, hashLength)}`;
}

/** Hash length of the key of `s` on its own: none when every part is written exactly. */
function firstHash(s: SecretScope): number {
  const mayHoldDash = SECRET_KINDS[s.kind][0] === "repository";
  return s.parts.every((p, i) => exact(p, mayHoldDash && i === 0)) ? 0 : HASH_LENGTHS[0]!;
}

/**
 * The config key of each scope, in order: valid (CONFIG_KEY), and distinct even ignoring case for
 * distinct scopes (equal scopes get equal keys). A key depends on the other scopes only when it
 * would equal another one ignoring case.
 */
export function configKeysFor(scopes: SecretScope[]): string[] {
  scopes.forEach(check);
  const ids = scopes.map(identity);
  const hash = new Map<string, number>();
  scopes.forEach((s, i) => hash.set(ids[i]!, firstHash(s)));
  for (;;) {
    const keys = scopes.map((s, i) => keyWith(s, hash.get(ids[i]!)!));
    const byKey = new Map<string, Set<string>>();
    keys.forEach((k, i) => {
      const folded = k.toLowerCase();
      byKey.set(folded, (byKey.get(folded) ?? new Set()).add(ids[i]!));
    });
    const colliding = [...byKey.values()].filter((set) => set.size > 1).flatMap((set) => [...set]);
    if (colliding.length === 0) return keys;
    for (const id of colliding) {
      const now = hash.get(id)!;
      const next = now === 0 ? HASH_LENGTHS[0] : HASH_LENGTHS[HASH_LENGTHS.indexOf(now) + 1];
      // Unreachable: two scopes with one full SHA-256 and one readable form.
      if (next === undefined) throw new Error(`config keys collide for ${colliding.join(", ")}`);
      hash.set(id, next);
    }
  }
}

/**
 * `{ fromConfig }` references to write-only values, as export and audit hand them out while they
 * read: each gets its key once every scope is known (a key can depend on the others).
 */
export class SecretRefs {
  private readonly asked: Array<{ scope: SecretScope; holds: string; ref: { fromConfig: string } }> = [];

  /** A reference to the value `holds` describes; its key is set by `settle`. */
  ref(scope: SecretScope, holds: string): { fromConfig: string } {
    const ref = { fromConfig: "" };
    this.asked.push({ scope, holds, ref });
    return ref;
  }

  /** Adds another's references after this one's, in their order. */
  take(other: SecretRefs): void {
    this.asked.push(...other.asked);
  }

  /** Names every reference; the keys with what each holds, in the order asked. */
  settle(): Array<{ key: string; holds: string }> {
    const keys = configKeysFor(this.asked.map((s) => s.scope));
    return this.asked.map((s, i) => {
      s.ref.fromConfig = keys[i]!;
      return { key: keys[i]!, holds: s.holds };
    });
  }
}
