// The request bill: what `pulumi up` will send for a plan, and how long Bitbucket's rate limit
// makes it take. Derived, not measured: each planned step carries its kind's request pattern
// (kinds/*.ts `requests`) and the paths its lookup reads through the run's cache (`Lookup.reads`);
// this adds them up.
//
// - A collection a lookup lists is listed once per run (cache.ts) whoever shares it: one request
//   per page, at the pages plan's own listing of it took (paginate.ts pagesOf), else one.
// - The program's own reads (the repositories a `{ project }` or glob selector lists) are the ones
//   plan's program made, in the same code.
// - OAuth client credentials: one grant at the token URL in each process that calls the API
//   (the program when it lists, the provider host when it sends anything).
//
// - A delete of a record the manifest dropped sends nothing when a resource of the run adopts or
//   keeps its object (a renamed entry): plan.ts deletions, as ownership.ts keptByThisRun decides.
//
// What it leaves out, said in the README: retries (429, 5xx, lost answers), a listing made again
// because it expired (cache.ts TTL_MS) or because a write in its collection dropped it while a
// lookup still wanted it (a write refused or lost, or answered while a listing of several pages was
// under way: every other successful write of ours patches the listing, one under way when it
// arrives, cache.ts patchWritten), and what a step that stops the run (a conflict) would have sent
// after it.
//
// Limits (shared/bitbucket-api.md §1.5, §8.1; DECISIONS.md "The request bill"):
// - Cloud counts per rolling hour: an access token has its own allowance, an API token or app
//   password counts against its user, an OAuth consumer against the consumer; 1,000 an hour on
//   `/2.0/repositories/*` (the "api" group) and 1,000 on webhook data. Standard and Premium
//   workspaces with more than 100 paid seats get 1,000 + 10 x (seats - 100), at most 10,000, for
//   access tokens only: seats are not visible through the API, so `--rate-limit N` says it.
// - Data Center: an admin setting, off unless enabled: a token bucket per user, default 60 burst
//   and 5 a second refill.

import type { Flavor } from "../resources/validate";
import type { Planned } from "./plan";

/** A collection (or single object) read once and shared by the lookups that need it. */
export interface SharedRead {
  path: string;
  /** Requests its listing takes: one per page. */
  pages: number;
  /** How many planned steps read it. */
  readBy: number;
}

/** How the credentials are counted, and the window the run needs. */
export interface RateWindow {
  flavor: Flavor;
  /** Whose allowance the requests count against, in words. */
  counted: string;
  /** Cloud: requests an hour; Data Center: the bucket's refill per second. */
  limit: number;
  /** Data Center: the bucket's size (a burst). */
  burst?: number;
  /** Where the limit comes from: Bitbucket's published default, a default setting, or --rate-limit. */
  source: "published" | "default" | "given";
  /** Cloud: rolling hours the requests need (1 when they fit). */
  windows?: number;
  /** About how long the run waits on the limit, in minutes. */
  waitMinutes: number;
  fits: boolean;
}

export interface Bill {
  /** Every request `pulumi up` sends, by method (token grants are POSTs). */
  byMethod: Record<string, number>;
  total: number;
  /** The lookups' shared reads, each listed once. */
  shared: SharedRead[];
  /** Requests of the shared reads (pages). */
  sharedRequests: number;
  /** The program's own reads (repository listings of selectors): requests and paths. */
  program: { requests: number; paths: string[] };
  /** OAuth client-credentials grants at the token URL (not API requests). */
  tokenGrants: number;
  /** Requests to the API: what the rate limit counts. */
  api: number;
  /** A step stops the run (a conflict): up sends the lookups' reads, and less than the rest. */
  stops: boolean;
  window: RateWindow;
}

export interface BillContext {
  flavor: Flavor;
  /** The credentials' kind (auth.ts credentialsOf). */
  credentials: "bearer" | "basic" | "oauth";
  /** The pages a listing of `path` took plan, if it listed it. */
  pagesOf: (path: string) => number | undefined;
  /** The program's GETs while plan ran it, by path (repository listings), and their count. */
  program: { requests: number; paths: string[] };
  /** `--rate-limit N`: Cloud requests an hour; Data Center the refill a second. */
  rateLimit?: number;
}

/** Bitbucket Cloud's published allowance an hour (shared/bitbucket-api.md §1.5). */
export const CLOUD_HOURLY = 1_000;
/** The scaled limit's ceiling (1,000 + 10 x (paid seats - 100), at most 10,000). */
export const CLOUD_SCALED_MAX = 10_000;
/** Data Center's rate limiting defaults when an admin enables it (shared/bitbucket-api.md §8.1). */
export const DC_BUCKET = { burst: 60, perSecond: 5 } as const;

/** Adds up what the planned steps send. */
export function billOf(planned: Planned[], ctx: BillContext): Bill {
  const byMethod: Record<string, number> = {};
  const add = (method: string, n = 1) => void (byMethod[method] = (byMethod[method] ?? 0) + n);
  const shared = new Map<string, SharedRead>();
  let grants = 0;
  let hostApi = 0;
  for (const p of planned) {
    if (p.requests === undefined) continue;
    for (const path of new Set(p.requests.reads)) {
      const key = path.replace(/\/+$/, "").toLowerCase();
      const s = shared.get(key) ?? { path, pages: ctx.pagesOf(path) ?? 1, readBy: 0 };
      s.readBy++;
      shared.set(key, s);
    }
    for (const send of p.requests.sends) {
      if (send === "POST token") grants++;
      else hostApi++;
      add(send === "POST token" ? "POST" : send);
    }
  }
  const sharedRequests = [...shared.values()].reduce((n, s) => n + s.pages, 0);
  if (sharedRequests) add("GET", sharedRequests);
  if (ctx.program.requests) add("GET", ctx.program.requests);
  hostApi += sharedRequests;
  // One grant per process that calls the API: the host, and the program when it lists.
  if (ctx.credentials === "oauth") {
    const processes = (hostApi > 0 ? 1 : 0) + (ctx.program.requests > 0 ? 1 : 0);
    grants += processes;
    if (processes) add("POST", processes);
  }
  const api = hostApi + ctx.program.requests;
  const total = Object.values(byMethod).reduce((a, b) => a + b, 0);
  return {
    byMethod: Object.fromEntries(Object.entries(byMethod).sort(([a], [b]) => a.localeCompare(b))),
    total,
    shared: [...shared.values()].sort((a, b) => a.path.localeCompare(b.path)),
    sharedRequests,
    program: ctx.program,
    tokenGrants: grants,
    api,
    stops: planned.some((p) => p.action === "conflict"),
    window: windowOf(api, ctx),
  };
}

/** Whose allowance Cloud counts the requests against, by the credentials' kind. */
const COUNTED: Record<BillContext["credentials"], string> = {
  bearer: "an access token (its own allowance)",
  basic: "an API token or app password (counted per user, with the user's other calls)",
  oauth: "an OAuth consumer (counted per consumer, with every other use of it)",
};

/** The time `api` requests need under the limit. */
export function windowOf(
  api: number,
  ctx: Pick<BillContext, "flavor" | "credentials" | "rateLimit">,
): RateWindow {
  if (ctx.flavor === "datacenter") {
    const perSecond = ctx.rateLimit ?? DC_BUCKET.perSecond;
    const seconds = Math.max(0, api - DC_BUCKET.burst) / perSecond;
    return {
      flavor: "datacenter",
      counted: "the credentials' user, per node (if an admin enabled rate limiting)",
      limit: perSecond,
      burst: DC_BUCKET.burst,
      source: ctx.rateLimit === undefined ? "default" : "given",
      waitMinutes: seconds / 60,
      fits: seconds < 3600,
    };
  }
  const limit = ctx.rateLimit ?? CLOUD_HOURLY;
  const windows = Math.max(1, Math.ceil(api / limit));
  return {
    flavor: "cloud",
    counted: COUNTED[ctx.credentials],
    limit,
    source: ctx.rateLimit === undefined ? "published" : "given",
    windows,
    waitMinutes: (windows - 1) * 60,
    fits: api <= limit,
  };
}

const n = (x: number) => x.toLocaleString("en-US");
const plural = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;

/** About `m` minutes as people read it: 2 h 0 min, 12 min, 40 s. */
export function minutesSaid(m: number): string {
  if (m < 1) return `${Math.ceil(m * 60)} s`;
  const whole = Math.ceil(m);
  return whole >= 60 ? `${Math.floor(whole / 60)} h ${whole % 60} min` : `${whole} min`;
}

/** The bill's window in one sentence. */
export function windowSaid(b: Bill): string {
  const w = b.window;
  const api = plural(b.api, "API request");
  if (w.flavor === "datacenter") {
    const how = `${w.source === "given" ? `${n(w.limit)} a second (--rate-limit)` : `Data Center's defaults, ${n(w.burst ?? 0)} at once then ${n(w.limit)} a second`}, per user, if an admin enabled rate limiting (an admin setting)`;
    return `${api}: ${how} → about ${w.waitMinutes > 0 ? minutesSaid(w.waitMinutes) : "no"} of waiting; ${w.fits ? "fits in one hour" : "does not fit in one hour"}`;
  }
  const limit = `${n(w.limit)} per hour${w.source === "given" ? " (--rate-limit)" : ""} with ${w.counted}`;
  return w.fits
    ? `${api}: ${limit} → fits in one hour`
    : `${api}: ${limit} → needs ${n(w.windows ?? 1)} windows, about ${minutesSaid(w.waitMinutes)} of waiting; does not fit in one hour`;
}

/** Said when a conflict stops the run. */
export const STOPS = "a conflict stops pulumi up: it sends no write for it, and at most this much";

/** The bill as lines (text and --stats); Markdown adds its own marks. */
export function billLines(b: Bill): string[] {
  const methods = Object.entries(b.byMethod)
    .map(([m, x]) => `${n(x)} ${m}`)
    .join(", ");
  const most = [...b.shared].sort((a, c) => c.readBy - a.readBy)[0];
  const lines = [
    `pulumi up will send ${plural(b.total, "request")}${methods ? ` (${methods})` : ""}`,
    `  ${plural(b.sharedRequests, "request")} list${b.sharedRequests === 1 ? "s" : ""} ${plural(b.shared.length, "collection")} once each, shared by the lookups that read them${most && most.readBy > 1 ? ` (the most: ${n(most.readBy)} of ${most.path})` : ""}`,
    `  ${plural(b.program.requests, "request")} of the program's own (repositories its selectors list)`,
  ];
  if (b.tokenGrants) lines.push(`  ${plural(b.tokenGrants, "OAuth token grant")} at the token URL`);
  if (b.stops) lines.push(`  ${STOPS}`);
  lines.push(`  ${windowSaid(b)}`);
  if (b.window.flavor === "cloud" && b.window.source === "published")
    lines.push(
      `  (workspaces with more than 100 paid seats: access tokens get 1,000 + 10 × (seats − 100), at most ${n(CLOUD_SCALED_MAX)}: give it with --rate-limit N)`,
    );
  return lines;
}
