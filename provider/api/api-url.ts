// The API base URL (bitbucket:apiUrl / BITBUCKET_API_URL), checked for the mistakes people make
// with it. Bitbucket Cloud's API paths start after /2.0 (https://api.bitbucket.org/2.0/repositories/
// ...; cloud.ts adds what follows). A Data Center server's REST paths start with /rest, which
// datacenter.ts adds to the server's base URL (https://bitbucket.example.com, or with its context
// path: https://example.com/bitbucket).
//
// What is certainly wrong is refused before any request (`apiUrlProblem`): Cloud's web site or API
// host without /2.0, /2.0 twice or with more after it; /rest in a Data Center URL, or a Cloud host.
// What is likely wrong, but could be a proxy of its own making, is said when a request fails with
// 404 or 501 (`apiUrlHint`): a Cloud URL not ending in /2.0, a Data Center URL ending in /2.0. Both
// name the setting and the value to set. The URL is shown as every message shows one (redactUrl).

import { redactUrl } from "../names";

const SETTING = "bitbucket:apiUrl / BITBUCKET_API_URL";
const CLOUD_HOSTS = /^(api\.|www\.)?bitbucket\.org$/i;
export const CLOUD_API = "https://api.bitbucket.org/2.0";

/** `url` (a valid URL, as checked by auth.ts) with its path replaced by `path`, shown redacted. */
function withPath(url: string, path: string): string {
  const u = new URL(url);
  u.pathname = path || "/";
  return redactUrl(u.toString().replace(/\/+$/, ""));
}

const pathOf = (url: string) => new URL(url).pathname.replace(/\/+$/, "");
const said = (url: string) => `${SETTING} is "${redactUrl(url)}"`;

/** Why `apiUrl` cannot be right for `flavor`, with the value to set; undefined when it may be. */
export function apiUrlProblem(apiUrl: string, flavor: "cloud" | "datacenter"): string | undefined {
  const host = new URL(apiUrl).hostname;
  const path = pathOf(apiUrl);
  if (flavor === "datacenter") {
    const rest = /\/rest(\/|$)/.exec(path);
    if (rest)
      return `${said(apiUrl)}: with flavor datacenter give the server's base URL without /rest, "${withPath(apiUrl, path.slice(0, rest.index))}"; the provider adds /rest/api/latest/... itself`;
    if (CLOUD_HOSTS.test(host))
      return `${said(apiUrl)}, which is Bitbucket Cloud, but bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter": for Bitbucket Cloud set the flavor to cloud (or unset it), for Data Center set ${SETTING} to the server's base URL, e.g. https://bitbucket.example.com`;
    return undefined;
  }
  if (/^(www\.)?bitbucket\.org$/i.test(host))
    return `${said(apiUrl)}, Bitbucket Cloud's web site: its API is at ${CLOUD_API}, the default: unset it, or set it to "${CLOUD_API}"`;
  const twice = /\/2\.0(?=\/2\.0(\/|$))/.exec(path);
  if (twice)
    return `${said(apiUrl)}, with /2.0 twice: set it to "${withPath(apiUrl, path.slice(0, twice.index) + "/2.0")}"; the provider adds /repositories/... after it`;
  const after = /\/2\.0\//.exec(path);
  if (after)
    return `${said(apiUrl)}: Bitbucket Cloud's API base URL ends at /2.0, set it to "${withPath(apiUrl, path.slice(0, after.index) + "/2.0")}"; the provider adds /repositories/... after it`;
  if (/^api\.bitbucket\.org$/i.test(host) && path !== "/2.0")
    return `${said(apiUrl)}, without /2.0, where Bitbucket Cloud's API paths start: unset it (the default is ${CLOUD_API}), or set it to "${CLOUD_API}"`;
  return undefined;
}

/**
 * What to say when a request under `apiUrl` was answered 404 or 501 and the URL looks wrong for
 * `flavor`; undefined when it looks right (the object or route is missing, not the URL's fault).
 */
export function apiUrlHint(apiUrl: string, flavor: "cloud" | "datacenter"): string | undefined {
  const path = pathOf(apiUrl);
  if (flavor === "cloud" && !path.endsWith("/2.0"))
    return `${said(apiUrl)}, without /2.0, where Bitbucket Cloud's API paths start: set it to "${withPath(apiUrl, path + "/2.0")}" (for a Data Center server, set bitbucket:flavor / BITBUCKET_FLAVOR to datacenter instead)`;
  if (flavor === "datacenter" && path.endsWith("/2.0"))
    return `${said(apiUrl)}, ending in Bitbucket Cloud's /2.0: for a Data Center server give its base URL, "${withPath(apiUrl, path.slice(0, -4))}" (for Bitbucket Cloud, set bitbucket:flavor / BITBUCKET_FLAVOR to cloud instead)`;
  return undefined;
}
