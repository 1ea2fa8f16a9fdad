// Natural keys and Pulumi names, in one place for the manifest's entries and the presets' children.
//
// A natural key says which Bitbucket object a declaration manages, folded the way Bitbucket
// folds it (workspace and repository slugs, project keys, environment and host names ignore
// case; URLs, variable names and key material do not). Two declarations with one natural key
// would fight over one object, so the manifest refuses them.
//
// A name is what Pulumi knows the resource by (its URN, never encrypted): readable and stable,
// derived from the natural key so that inserting an entry never renames another, and never
// holding a URL's credentials, query or fragment (a `?token=` would land in state in clear).

import { isKeyError, parsePublicKey } from "./ssh";

/** A URL for a name: without the https scheme, credentials, query or fragment. */
export function urlForName(url: string): string {
  return url
    .replace(/^https:\/\//i, "")
    .replace(/[?#].*$/, "")
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, "$1");
}

/** A URL for messages: without credentials, query or fragment (they may hold a token). */
export const urlForMessages = (url: string): string =>
  url.replace(/[?#].*$/, "").replace(/\/\/[^/@]*@/, "//");

/** The first 12 characters of a `SHA256:...` fingerprint: short and stable, for names. */
export const fingerprintPart = (fingerprint: string) =>
  fingerprint.slice("SHA256:".length, "SHA256:".length + 12);

/** fingerprintPart of a public key, or undefined for a malformed key. */
export function keyNamePart(key: unknown): string | undefined {
  const k = parsePublicKey(key);
  return isKeyError(k) ? undefined : fingerprintPart(k.fingerprint);
}

const lower = (s: string | undefined) => (s ?? "*").toLowerCase();

/** Natural keys per kind of object (see the header). */
export const naturalKey = {
  webhook: (ws: string, repo: string | undefined, url: string) =>
    `webhook ${lower(ws)}/${lower(repo)} ${url}`,
  deployKey: (ws: string, owner: string, fingerprint: string) =>
    `deploy-key ${lower(ws)}/${lower(owner)} ${fingerprint}`,
  sshKey: (user: string | undefined, fingerprint: string) =>
    `ssh-key ${user ?? "(credentials' account)"} ${fingerprint}`,
  variable: (ws: string, repo: string | undefined, environment: string | undefined, key: string) =>
    `variable ${lower(ws)}/${lower(repo)}${environment === undefined ? "" : `/${environment.toLowerCase()}`} ${key}`,
  keyPair: (ws: string, repo: string) => `ssh-key-pair ${lower(ws)}/${lower(repo)}`,
  knownHost: (ws: string, repo: string, hostname: string) =>
    `known-host ${lower(ws)}/${lower(repo)} ${hostname.toLowerCase()}`,
  accessToken: (owner: string, name: string) => `access-token ${lower(owner)} ${name}`,
};
