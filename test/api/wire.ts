// A scripted loopback server for tests about what goes over the wire: it records every request
// (method, URL with query, headers, body, which connection carried it) and answers each with
// what the test's `answer` function says, or drops the connection. It listens on 127.0.0.1 only.

import * as http from "http";
import * as https from "https";
import type { AddressInfo } from "net";

export interface Received {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Which TCP connection carried it (1 = the first the server accepted). */
  connection: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string; `undefined` sends an empty body. */
  body?: unknown;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface WireServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  received: Received[];
  /** `METHOD url` of every request, in order. */
  lines(): string[];
  connections(): number;
  close(): Promise<void>;
}

/** `answer` gets the request and its 0-based number. */
export async function wireServer(
  answer: (r: Received, n: number) => Answer | Promise<Answer>,
  make: (handler: http.RequestListener) => http.Server = (h) => http.createServer(h),
): Promise<WireServer> {
  const received: Received[] = [];
  const connectionOf = new WeakMap<object, number>();
  let connections = 0;
  const srv = make((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        connection: connectionOf.get(req.socket) ?? 0,
      };
      received.push(r);
      void Promise.resolve(answer(r, received.length - 1)).then(async (a) => {
        if (a.delayMs) await new Promise((t) => setTimeout(t, a.delayMs));
        if (a.reset) return void req.socket.destroy();
        const body = a.body === undefined ? "" : typeof a.body === "string" ? a.body : JSON.stringify(a.body);
        res.writeHead(a.status ?? 200, {
          ...(typeof a.body === "string" || a.body === undefined
            ? {}
            : { "Content-Type": "application/json" }),
          ...a.headers,
        });
        res.end(body);
      });
    });
  });
  const onConnection = (socket: object) => connectionOf.set(socket, ++connections);
  srv.on(srv instanceof https.Server ? "secureConnection" : "connection", onConnection);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const scheme = srv instanceof https.Server ? "https" : "http";
  const origin = `${scheme}://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    lines: () => received.map((r) => `${r.method} ${r.url}`),
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** The environment of a test process with only these BITBUCKET_* settings (fast retries by default). */
export function useSettings(settings: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (k.startsWith("BITBUCKET_")) delete process.env[k];
  Object.assign(
    process.env,
    {
      BITBUCKET_RETRY_BASE_DELAY_MS: "5",
      BITBUCKET_RETRY_MAX_DELAY_MS: "50",
      BITBUCKET_RATE_LIMIT_MIN_DELAY_MS: "10",
      BITBUCKET_TIMEOUT_MS: "2000",
    },
    settings,
  );
}

/**
 * Forgets the process-wide state a new process would not have (the axios instance and its
 * keep-alive agents, the limiter, the rate-limit notice's memory), so what it is made of is made now.
 */
export function freshProcess(): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  for (const name of ["axios", "limiter", "rate-limit-notice"]) delete g[Symbol.for(`bitbucket-iac.${name}`)];
}
