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
//
// A URL that carries a credential (user:password@, a query, a fragment) is a secret:
// hasCredentials says so, and redactUrl is the one way any plan, message or log shows a URL.

import { isKeyError, parsePublicKey } from "./ssh";

/**
 * A URL's parts as text, for redaction: `head` is the scheme and `//` (when present), `userinfo`
 * everything before the authority's last `@`, `rest` the host, port and path. Works on text that
 * is not a valid URL too (an error message may have to show one).
 */
function urlParts(url: string) {
  const hash = url.indexOf("#");
  const fragment = hash < 0 ? undefined : url.slice(hash + 1);
  const beforeHash = hash < 0 ? url : url.slice(0, hash);
  const q = beforeHash.indexOf("?");
  const query = q < 0 ? undefined : beforeHash.slice(q + 1);
  const base = q < 0 ? beforeHash : beforeHash.slice(0, q);
  const head = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\//.exec(base)?.[0] ?? "";
  const afterHead = base.slice(head.length);
  const slash = afterHead.indexOf("/");
  const authority = slash < 0 ? afterHead : afterHead.slice(0, slash);
  const at = authority.lastIndexOf("@");
  return {
    head,
    userinfo: at < 0 ? undefined : authority.slice(0, at),
    rest: at < 0 ? afterHead : afterHead.slice(at + 1),
    query,
    fragment,
  };
}

/** A URL for a name: without the https scheme, credentials, query or fragment. */
export function urlForName(url: string): string {
  const p = urlParts(url);
  return `${/^https:\/\/$/i.test(p.head) ? "" : p.head}${p.rest}`;
}

/**
 * Whether a URL carries a credential: user:password@, a query (`?token=...`), or a fragment with
 * content. Such a URL is a secret: Pulumi state keeps it encrypted, and output shows redactUrl.
 */
export function hasCredentials(url: string): boolean {
  const p = urlParts(url);
  return p.userinfo !== undefined || !!p.query || !!p.fragment;
}

/**
 * A URL as every message, plan and log shows it: scheme, host, port and path kept; credentials,
 * each query value and the fragment replaced by `***` (query keys kept, so people still see
 * which parameter it is): `https://***@hooks.example.test/x?token=***`.
 */
export function redactUrl(url: string): string {
  const p = urlParts(url);
  const query =
    p.query === undefined
      ? ""
      : `?${p.query
          .split("&")
          .map((kv) => {
            const eq = kv.indexOf("=");
            return eq < 0 ? (kv ? "***" : "") : `${kv.slice(0, eq)}=${eq < kv.length - 1 ? "***" : ""}`;
          })
          .join("&")}`;
  const fragment = p.fragment === undefined ? "" : p.fragment ? "#***" : "#";
  return `${p.head}${p.userinfo !== undefined ? "***@" : ""}${p.rest}${query}${fragment}`;
}

/**
 * `text` (an error message, say) with every URL in it redacted, and every trace of `url`'s
 * credentials besides: the URL as given and as parsed, and each credential part of 4 characters
 * or more on its own (Bitbucket may quote the URL, or a part of it, in its own words).
 */
export function redactUrlIn(text: string, url: string): string {
  let out = text.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'`<>]+/g, (u) => redactUrl(u));
  if (!hasCredentials(url)) return out;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // not a URL: the text as given is all there is
  }
  const p = urlParts(url);
  const parts = [
    ...(p.userinfo ?? "").split(":"),
    ...(p.query ?? "").split("&").map((kv) => kv.slice(kv.indexOf("=") + 1)),
    p.fragment ?? "",
    ...(parsed
      ? [parsed.username, parsed.password, ...parsed.searchParams.values(), parsed.hash.slice(1)]
      : []),
  ];
  for (const part of parts.filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(part).join("***");
  }
  return out;
}

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
