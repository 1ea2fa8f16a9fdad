// The Bitbucket emulator (Cloud under /2.0, Data Center under /rest): a real node:http server on 127.0.0.1. A route is a method,
// a path pattern, the scopes it needs and a handler; anything unrouted answers 501 so a
// test never passes against behaviour nobody wrote. Every request is logged, and faults
// (statuses with headers, delays, connection resets, "commit then fail") can be queued.

import * as http from "http";
import type { AddressInfo, Socket } from "net";
import { closure } from "../../provider/scopes";
import { DC_PERMISSIONS, Store, type Credential, type DcPermission, type Seed } from "./store";
import { dcError } from "./dc";
import { dcWebhookRoutes } from "./routes/dc/webhooks";
import { dcKeyRoutes } from "./routes/dc/keys";
import { dcTokenRoutes } from "./routes/dc/tokens";
import { dcProjectRoutes } from "./routes/dc/projects";
import { dcPullRequestRoutes } from "./routes/dc/pullrequests";
import { dcInsightsRoutes } from "./routes/dc/insights";
import { dcUserRoutes } from "./routes/dc/users";
import { webhookRoutes } from "./routes/webhooks";
import { hookEventRoutes } from "./routes/hook-events";
import { oauthRoutes } from "./routes/oauth";
import { deployKeyRoutes } from "./routes/deploy-keys";
import { sshKeyRoutes } from "./routes/ssh-keys";
import { variableRoutes } from "./routes/variables";
import { pipelinesSshRoutes } from "./routes/pipelines-ssh";
import { repositoryRoutes } from "./routes/repositories";
import { pullRequestRoutes } from "./routes/pullrequests";
import { reportRoutes } from "./routes/reports";

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Ctx {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  rawBody: string;
  headers: http.IncomingHttpHeaders;
  store: Store;
  /** This server's base URL, e.g. http://127.0.0.1:40123 */
  origin: string;
  /** Path as requested (still percent-encoded). */
  path: string;
  credential?: Credential;
}

export interface Route {
  method: string;
  /** e.g. "/2.0/repositories/:workspace/:repo_slug/hooks" */
  path: string;
  /** Scopes the caller must hold (all of them); undefined: public, no auth needed. */
  scopes?: (ctx: Ctx) => string[];
  /** Data Center routes: the permission the caller needs (it must authenticate); less is a 401. */
  permission?: (ctx: Ctx) => DcPermission;
  handle: (ctx: Ctx) => Reply;
}

/** Data Center paths start with /rest/ and answer in its error envelope. */
const isDc = (path: string) => path.startsWith("/rest/");

/** The error envelope of the flavor a path belongs to. */
const errorFor = (path: string, status: number, message: string): Reply =>
  isDc(path) ? dcError(status, message) : error(status, message);

export interface Fault {
  method?: string;
  /** Substring or pattern the request path (with its query) must match. */
  path?: string | RegExp;
  /** How many requests it applies to (default 1). */
  times?: number;
  /** Answer with this status instead of handling the request. */
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long first (then handle, or fail as configured). */
  delayMs?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Handle the request (the write happens), then fail with `status` or `reset`. */
  commitThenFail?: boolean;
}

/**
 * Bitbucket Cloud's rolling-window limit (shared/bitbucket-api.md §1.5), with the window scaled
 * down so a test can cross it: at most `requests` answered /2.0 requests in any `windowMs`; past
 * that, 429 with Bitbucket's message. Refused requests do not count.
 */
export interface RateLimit {
  requests: number;
  windowMs: number;
  /** Send `Retry-After` (whole seconds until the window frees a slot). Cloud is not known to. */
  retryAfter?: boolean;
}

export interface LogEntry {
  method: string;
  path: string;
  query: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
  responseHeaders: Record<string, string>;
  /** The route pattern that answered, if any. */
  route?: string;
  /** When the request arrived (epoch ms). */
  at: number;
}

/** Bitbucket's error envelope. */
export function error(status: number, message: string, extra: Record<string, unknown> = {}): Reply {
  return { status, body: { type: "error", error: { message, ...extra } } };
}

/** One page of a Cloud collection: `pagelen` (default 10, max 100), `page`, and `next` while more remain. */
export function page<T>(ctx: Ctx, items: T[], defaultPagelen = 10): Reply {
  const pagelen = Math.min(100, Math.max(1, Number(ctx.query.get("pagelen")) || defaultPagelen));
  const pageNo = Math.max(1, Number(ctx.query.get("page")) || 1);
  const values = items.slice((pageNo - 1) * pagelen, pageNo * pagelen);
  const body: Record<string, unknown> = { size: items.length, page: pageNo, pagelen, values };
  if (pageNo * pagelen < items.length) {
    const q = new URLSearchParams(ctx.query);
    q.set("page", String(pageNo + 1));
    q.set("pagelen", String(pagelen));
    body.next = `${ctx.origin}${ctx.path}?${q}`;
  }
  return { status: 200, body };
}

const ROUTES: Route[] = [
  ...hookEventRoutes,
  ...webhookRoutes,
  ...deployKeyRoutes,
  ...sshKeyRoutes,
  ...variableRoutes,
  ...pipelinesSshRoutes,
  ...repositoryRoutes,
  ...pullRequestRoutes,
  ...reportRoutes,
  ...oauthRoutes,
  ...dcProjectRoutes,
  ...dcWebhookRoutes,
  ...dcKeyRoutes,
  ...dcTokenRoutes,
  ...dcPullRequestRoutes,
  ...dcInsightsRoutes,
  ...dcUserRoutes,
];

function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split("/");
  const a = path.split("/");
  if (p.length !== a.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    let val: string;
    try {
      val = decodeURIComponent(a[i]!);
    } catch {
      return undefined;
    }
    if (seg.startsWith(":")) params[seg.slice(1)] = val;
    else if (seg !== val) return undefined;
  }
  return params;
}

function authenticate(store: Store, header: string | undefined): Credential | Reply | undefined {
  if (!header) return undefined;
  const [kind, value = ""] = header.split(" ", 2);
  if (kind === "Bearer") {
    const c = store.tokens.get(value);
    if (!c) return error(401, "Token is invalid or not supported for this endpoint.");
    if (c.expiresAt !== undefined && c.expiresAt <= store.now()) return error(401, "Access token expired.");
    return c;
  }
  if (kind === "Basic") {
    const c = store.users.get(Buffer.from(value, "base64").toString());
    return c ?? error(401, "Invalid credentials");
  }
  return error(401, "Unsupported authorization scheme");
}

/**
 * Data Center names the user of an authenticated answer in its X-AUSERNAME header, even on a 401 or
 * 404 (community.developer.atlassian.com/t/24422); the store says how (or that a proxy drops it).
 */
function withUser(store: Store, c: Credential, reply: Reply): Reply {
  const slug = c.dcUser ?? "me";
  const header = store.dc.userHeader(store.dc.users.get(slug)?.name ?? slug);
  return header === undefined ? reply : { ...reply, headers: { ...reply.headers, "X-AUSERNAME": header } };
}

export interface Emulator {
  url: string;
  /** The Cloud API base URL, `${url}/2.0`. */
  apiUrl: string;
  /** The Data Center base URL (the server root: paths are /rest/...), = url. */
  dcUrl: string;
  store: Store;
  /** "METHOD /path" for each request since the last reset, in order. */
  log(): string[];
  /** Full entries, for contract tests. */
  entries(): LogEntry[];
  resetLog(): void;
  /**
   * As a new emulator of `seed` would be, at the same address: a new store, and no log, faults,
   * rate limit or refusals (test/harness/fixture.ts reuses an emulator and its host this way).
   */
  reset(seed: Seed): void;
  fault(f: Fault): void;
  clearFaults(): void;
  /** Enforces a rolling-window limit from now on (undefined: none, the default). */
  limitRate(limit: RateLimit | undefined): void;
  /** How many requests the rolling-window limit refused with 429. */
  refusedByLimit(): number;
  close(): Promise<void>;
}

export async function startEmulator(seed: Seed, port = 0): Promise<Emulator> {
  let store = new Store(seed);
  const entries: LogEntry[] = [];
  const faults: Array<Fault & { left: number }> = [];
  const sockets = new Set<Socket>();
  let origin = "";
  let limit: RateLimit | undefined;
  let answered: number[] = [];
  let refused = 0;

  /** The 429 the rolling window imposes on this request, if any; otherwise counts it. */
  const overLimit = (path: string): Reply | undefined => {
    if (!limit || !(path.startsWith("/2.0/") || isDc(path))) return undefined;
    const now = Date.now();
    answered = answered.filter((t) => t > now - limit!.windowMs);
    if (answered.length < limit.requests) {
      answered.push(now);
      return undefined;
    }
    refused++;
    const freeIn = Math.max(1, Math.ceil((answered[0]! + limit.windowMs - now) / 1000));
    const reply = errorFor(path, 429, faultMessage(429));
    return limit.retryAfter ? { ...reply, headers: { "Retry-After": String(freeIn) } } : reply;
  };

  const takeFault = (method: string, path: string) => {
    const f = faults.find(
      (x) =>
        x.left > 0 &&
        (!x.method || x.method === method) &&
        (!x.path || (typeof x.path === "string" ? path.includes(x.path) : x.path.test(path))),
    );
    if (f) f.left--;
    return f;
  };

  const handle = (req: http.IncomingMessage, rawBody: string): { reply: Reply; route?: string } => {
    const u = new URL(req.url ?? "/", origin);
    const method = req.method ?? "GET";
    const contentType = req.headers["content-type"] ?? "";
    let body: unknown = undefined;
    if (rawBody) {
      if (contentType.includes("application/x-www-form-urlencoded"))
        body = Object.fromEntries(new URLSearchParams(rawBody));
      else {
        try {
          body = JSON.parse(rawBody);
        } catch {
          return { reply: { status: 400, body: "Bad Request" } };
        }
      }
    }
    let found: { route: Route; params: Record<string, string> } | undefined;
    let pathKnown = false;
    for (const route of ROUTES) {
      const params = match(route.path, u.pathname);
      if (!params) continue;
      pathKnown = true;
      if (route.method === method) {
        found = { route, params };
        break;
      }
    }
    if (!found) {
      return pathKnown
        ? { reply: errorFor(u.pathname, 405, `Method ${method} is not allowed on ${u.pathname}`) }
        : { reply: { status: 501, body: `[emulator] no route for ${method} ${u.pathname}` } };
    }
    const ctx: Ctx = {
      method,
      params: found.params,
      query: u.searchParams,
      body,
      rawBody,
      headers: req.headers,
      store,
      origin,
      path: u.pathname,
    };
    if (found.route.permission) {
      const auth = authenticate(store, req.headers.authorization);
      const route = found.route.path;
      if (auth === undefined || "status" in auth)
        return {
          reply: dcError(401, "Authentication failed. Please check your credentials and try again."),
          route,
        };
      ctx.credential = auth;
      const need = found.route.permission(ctx);
      const has = auth.dcPermission ?? "SYS_ADMIN";
      if (DC_PERMISSIONS.indexOf(has) < DC_PERMISSIONS.indexOf(need)) {
        // Data Center answers 401, not 403, for a missing permission (shared/bitbucket-api.md §8.1).
        return {
          reply: withUser(
            store,
            auth,
            dcError(401, `You are not permitted to access this resource (it needs ${need}).`),
          ),
          route,
        };
      }
      return { reply: withUser(store, auth, found.route.handle(ctx)), route };
    } else if (found.route.scopes) {
      const auth = authenticate(store, req.headers.authorization);
      if (auth === undefined)
        return { reply: error(401, "Authentication required"), route: found.route.path };
      if ("status" in auth) return { reply: auth, route: found.route.path };
      ctx.credential = auth;
      const granted = closure(auth.scopes);
      const required = found.route.scopes(ctx);
      if (!required.every((s) => granted.has(s))) {
        return {
          reply: error(403, "Your credentials lack one or more required privilege scopes.", {
            detail: { required, granted: [...auth.scopes].sort() },
          }),
          route: found.route.path,
        };
      }
    }
    return { reply: found.route.handle(ctx), route: found.route.path };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString();
        const u = new URL(req.url ?? "/", origin);
        const method = req.method ?? "GET";
        const entry: LogEntry = {
          method,
          path: u.pathname,
          query: u.search,
          requestBody: rawBody ? safeJson(rawBody) : undefined,
          status: 0,
          responseBody: undefined,
          responseHeaders: {},
          at: Date.now(),
        };
        entries.push(entry);
        const limited = overLimit(u.pathname);
        const fault = limited ? undefined : takeFault(method, u.pathname + u.search);
        if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        let reply: Reply;
        if (limited) reply = limited;
        else if (fault && !fault.commitThenFail && (fault.reset || fault.status)) {
          if (fault.reset) return req.socket.destroy();
          reply = {
            status: fault.status!,
            headers: fault.headers,
            body: fault.body ?? errorFor(u.pathname, fault.status!, faultMessage(fault.status!)).body,
          };
        } else {
          const out = handle(req, rawBody);
          entry.route = out.route;
          reply = out.reply;
          if (fault?.commitThenFail) {
            if (fault.reset || !fault.status) return req.socket.destroy();
            reply = {
              status: fault.status,
              headers: fault.headers,
              body: fault.body ?? errorFor(u.pathname, fault.status, faultMessage(fault.status)).body,
            };
          }
        }
        entry.status = reply.status;
        entry.responseBody = reply.body;
        const headers: Record<string, string> = { ...reply.headers };
        const text =
          reply.body === undefined
            ? ""
            : typeof reply.body === "string"
              ? reply.body
              : JSON.stringify(reply.body);
        if (text)
          headers["content-type"] =
            typeof reply.body === "string" ? "text/plain" : "application/json; charset=utf-8";
        entry.responseHeaders = headers;
        res.writeHead(reply.status, headers);
        res.end(text);
      })();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    apiUrl: `${origin}/2.0`,
    dcUrl: origin,
    get store() {
      return store;
    },
    log: () => entries.map((e) => `${e.method} ${e.path}`),
    entries: () => [...entries],
    resetLog: () => void entries.splice(0),
    reset: (next) => {
      store = new Store(next);
      entries.splice(0);
      faults.splice(0);
      limit = undefined;
      answered = [];
      refused = 0;
    },
    fault: (f) => void faults.push({ ...f, left: f.times ?? 1 }),
    clearFaults: () => void faults.splice(0),
    limitRate: (l) => {
      limit = l;
      answered = [];
    },
    refusedByLimit: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function faultMessage(status: number): string {
  if (status === 429) return "Rate limit for this resource has been exceeded.";
  return status >= 500 ? "Something went wrong" : "Injected fault";
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
