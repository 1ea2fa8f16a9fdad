// The API client as a server sees it (what is sent, how often, on which connection) and as a
// caller sees it (what resolves, what fails and with which message), against a scripted loopback
// server (wire.ts), so every answer, delay and dropped connection is the test's to choose.

import * as assert from "node:assert/strict";
import * as https from "https";
import { setProviderConfig, tokenCache } from "../../provider/api/auth";
import {
  deleteIfExists,
  getCached,
  getOrUndefined,
  request,
  requestStats,
  setReadOnly,
} from "../../provider/api/client";
import { isApiError } from "../../provider/api/errors";
import { listCached } from "../../provider/api/paginate";
import { selfSigned } from "../keys";
import { freshProcess, useSettings, wireServer, type Answer, type Received, type WireServer } from "./wire";

const HOOKS = "/repositories/acme/api/hooks";
const TOKEN_PATH = "/site/oauth2/access_token";

/** What a rejected promise was rejected with, as an Error. */
const failure = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => assert.fail("expected a failure"),
    (e: Error) => e,
  );

describe("API client on the wire", () => {
  const saved = { ...process.env };
  let srv: WireServer | undefined;
  let stderr: string[];
  const savedError = console.error;

  /** Starts the scripted server and points the settings at it (a Bearer token unless told otherwise). */
  async function serve(
    answer: (r: Received, n: number) => Answer | Promise<Answer>,
    settings: Record<string, string> = {},
  ): Promise<WireServer> {
    srv = await wireServer(answer);
    useSettings({ BITBUCKET_API_URL: `${srv.origin}/2.0`, BITBUCKET_TOKEN: "tok", ...settings });
    return srv;
  }

  beforeEach(() => {
    setProviderConfig(() => undefined);
    tokenCache().clear();
    freshProcess();
    stderr = [];
    console.error = (...a: unknown[]) => void stderr.push(a.join(" "));
  });
  afterEach(async () => {
    console.error = savedError;
    setReadOnly(false);
    process.env = { ...saved };
    await srv?.close();
    srv = undefined;
  });

  describe("what is sent", () => {
    it("sends Accept: application/json, User-Agent: bitbucket-iac and the query without its undefined values", async () => {
      const s = await serve(() => ({ body: { values: [] } }));
      await request("GET", HOOKS, { query: { q: 'url="x"', fields: undefined, pagelen: 5 } });
      assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}?q=url%3D%22x%22&pagelen=5`]);
      assert.equal(s.received[0]?.headers.accept, "application/json");
      assert.equal(s.received[0]?.headers["user-agent"], "bitbucket-iac");
      assert.equal(s.received[0]?.headers.authorization, "Bearer tok");
    });

    it("reuses one keep-alive connection for requests one after another", async () => {
      const s = await serve(() => ({ body: {} }));
      for (let i = 0; i < 3; i++) await request("GET", HOOKS);
      assert.deepEqual(
        s.received.map((r) => r.connection),
        [1, 1, 1],
      );
    });

    it("reuses one keep-alive connection over https too", async function () {
      this.timeout(30_000);
      const { key, cert } = selfSigned();
      srv = await wireServer(
        () => ({ body: {} }),
        (h) => https.createServer({ key, cert }, h),
      );
      useSettings({ BITBUCKET_API_URL: `${srv.origin}/2.0`, BITBUCKET_TOKEN: "tok" });
      const trust = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // self-signed; read at each connect
      try {
        for (let i = 0; i < 3; i++) await request("GET", HOOKS);
      } finally {
        if (trust === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
        else process.env.NODE_TLS_REJECT_UNAUTHORIZED = trust;
      }
      assert.deepEqual(
        srv.received.map((r) => r.connection),
        [1, 1, 1],
      );
    });

    it("sends a relative path whose query holds a URL to the API, as a path", async () => {
      const s = await serve(() => ({ body: {} }));
      await request("GET", `${HOOKS}?q=url%3D"https://hooks.example.test/x"`);
      assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}?q=url%3D%22https://hooks.example.test/x%22`]);
    });

    it("refuses a `next` link to another origin naming it without its query or fragment, and that origin receives nothing", async () => {
      const other = await wireServer(() => ({ body: { values: [{ uuid: "stolen" }] } }));
      try {
        const s = await serve(() => ({ body: {} }));
        const err = await failure(request("GET", `${other.origin}/2.0/page2?page=2&sig=abc#frag`));
        assert.equal(
          err.message,
          `GET ${other.origin}/2.0/page2: refused to follow a pagination link away from the API origin ${s.origin}; credentials are sent only there`,
        );
        assert.deepEqual(other.received, []);
        assert.deepEqual(s.received, []);
      } finally {
        await other.close();
      }
    });

    it("names the path without its query when refusing a path of the other flavor", async () => {
      await serve(() => ({ body: {} }));
      const err = await failure(request("GET", "/rest/api/latest/projects/P/repos/r/webhooks?start=0"));
      assert.match(
        err.message,
        /^GET \/rest\/api\/latest\/projects\/P\/repos\/r\/webhooks: this is a Bitbucket Data Center resource/,
      );
      process.env.BITBUCKET_FLAVOR = "datacenter";
      process.env.BITBUCKET_API_URL = srv!.origin;
      const back = await failure(request("GET", `${HOOKS}?pagelen=100`));
      assert.match(back.message, /^GET \/repositories\/acme\/api\/hooks: this is a Bitbucket Cloud resource/);
      assert.deepEqual(srv!.received, []);
    });

    it("counts every attempt in requestStats, by method and by path with its query", async () => {
      const s = await serve((r, n) =>
        n === 0 ? { status: 503 } : { status: r.method === "POST" ? 201 : 200, body: {} },
      );
      const st = requestStats();
      const before = { total: st.total, get: st.byMethod.GET ?? 0, post: st.byMethod.POST ?? 0 };
      const page = `GET ${HOOKS}?page=2`;
      const pageBefore = st.byPath.get(page) ?? 0;
      const postBefore = st.byPath.get(`POST ${HOOKS}`) ?? 0;
      await request("GET", `${HOOKS}?page=2`); // 503, then 200
      await request("POST", HOOKS, { body: { url: "https://hooks.example.test/x" } });
      assert.equal(s.received.length, 3);
      assert.deepEqual(
        { total: st.total, get: st.byMethod.GET, post: st.byMethod.POST },
        { total: before.total + 3, get: before.get + 2, post: before.post + 1 },
      );
      assert.equal(st.byPath.get(page), pageBefore + 2);
      assert.equal(st.byPath.get(`POST ${HOOKS}`), postBefore + 1);
    });
  });

  describe("what fails, and how", () => {
    it("says a refused connection is a network failure and asks whether the API URL is right", async () => {
      const s = await serve(() => ({ body: {} }), { BITBUCKET_MAX_RETRIES: "0" });
      await s.close(); // nothing listens on its port any more
      const err = await failure(request("GET", HOOKS));
      assert.equal(err.message, `GET ${HOOKS} failed (network): ECONNREFUSED: is the API URL right?`);
      assert.ok(isApiError(err) && err.status === 0);
    });

    it("says a request unanswered within timeoutMs failed, naming the setting", async () => {
      await serve(() => ({ delayMs: 1_000, body: {} }), {
        BITBUCKET_MAX_RETRIES: "0",
        BITBUCKET_TIMEOUT_MS: "150",
      });
      const err = await failure(request("GET", HOOKS));
      assert.equal(
        err.message,
        `GET ${HOOKS} failed (network): no answer within 150 ms (bitbucket:timeoutMs / BITBUCKET_TIMEOUT_MS)`,
      );
    });

    it("repeats a GET whose connection was lost, never a POST", async () => {
      const s = await serve((_r, n) => (n === 0 || n === 2 ? { reset: true } : { body: { ok: true } }));
      assert.deepEqual((await request("GET", HOOKS)).data, { ok: true });
      const err = await failure(request("POST", HOOKS, { body: { url: "https://hooks.example.test/x" } }));
      assert.equal(err.message, `POST ${HOOKS} failed (network): ECONNRESET`);
      assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}`, `GET /2.0${HOOKS}`, `POST /2.0${HOOKS}`]);
    });

    it("waits between retries as Retry-After asks, within the retry cap", async () => {
      const s = await serve(
        (_r, n) => (n === 0 ? { status: 503, headers: { "Retry-After": "0.3" } } : { body: {} }),
        {
          BITBUCKET_RETRY_MAX_DELAY_MS: "5000",
        },
      );
      const t0 = Date.now();
      await request("GET", HOOKS);
      assert.equal(s.received.length, 2);
      assert.ok(Date.now() - t0 >= 290, `waited ${Date.now() - t0} ms`);
    });

    it("takes a 3xx as a failure and follows no redirect", async () => {
      for (const status of [300, 302]) {
        const s = await serve(() => ({ status, headers: { Location: "/2.0/elsewhere" } }));
        const err = await failure(request("GET", HOOKS));
        assert.equal(err.message, `GET ${HOOKS} failed (${status}): no message`);
        assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}`]);
        await s.close();
        srv = undefined;
      }
    });

    it("gives the seconds of Retry-After on the error, and none when it is absent or not a number of seconds", async () => {
      const seen: Array<number | undefined> = [];
      for (const retryAfter of ["7", undefined, "Wed, 21 Oct 2099 07:28:00 GMT"]) {
        const s = await serve(
          () => ({
            status: 503,
            ...(retryAfter !== undefined && { headers: { "Retry-After": retryAfter } }),
          }),
          { BITBUCKET_MAX_RETRIES: "0" },
        );
        const err = await failure(request("GET", HOOKS));
        assert.ok(isApiError(err), err.message);
        seen.push(err.retryAfterSeconds);
        assert.equal(err.message, `GET ${HOOKS} failed (503): no message`);
        await s.close();
        srv = undefined;
      }
      assert.deepEqual(seen, [7, undefined, undefined]);
    });

    it("never repeats a PUT marked not idempotent after a 5xx, and repeats a POST marked idempotent", async () => {
      const s = await serve((_r, n) => (n <= 1 ? { status: 503 } : { body: {} }));
      await assert.rejects(request("PUT", `${HOOKS}/x`, { body: {}, idempotent: false }), /failed \(503\)/);
      await request("POST", HOOKS, { body: {}, idempotent: true });
      assert.deepEqual(s.lines(), [`PUT /2.0${HOOKS}/x`, `POST /2.0${HOOKS}`, `POST /2.0${HOOKS}`]);
    });

    it("sends a refused static token once: only an OAuth token is renewed", async () => {
      const s = await serve(() => ({
        status: 401,
        body: { type: "error", error: { message: "Unauthorized" } },
      }));
      await assert.rejects(request("GET", HOOKS), /failed \(401\): Unauthorized - check BITBUCKET_TOKEN/);
      assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}`]);
    });

    it("refuses every write while read-only, before sending it, and still reads with GET and HEAD", async () => {
      const s = await serve(() => ({ body: {} }));
      setReadOnly(true);
      for (const method of ["POST", "PUT", "DELETE"]) {
        const err = await failure(request(method, `${HOOKS}?x=1`, { body: {} }));
        assert.equal(
          err.message,
          `${method} ${HOOKS}?x=1: refused, this command only reads Bitbucket (a bug: please report it)`,
        );
      }
      await request("GET", HOOKS);
      await request("HEAD", HOOKS);
      setReadOnly(false);
      await request("DELETE", `${HOOKS}/x`);
      assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}`, `HEAD /2.0${HOOKS}`, `DELETE /2.0${HOOKS}/x`]);
    });
  });

  describe("OAuth tokens", () => {
    /** A server granting `at-1`, `at-2`... and answering API requests with `api(token)`. */
    async function oauth(
      api: (token: string, r: Received) => Answer = () => ({ body: {} }),
      grant: (n: number, r: Received) => Answer | undefined = () => undefined,
      settings: Record<string, string> = {},
    ) {
      let grants = 0;
      const s = await serve(
        (r) => {
          if (r.url === TOKEN_PATH) {
            grants++;
            return grant(grants, r) ?? { body: { access_token: `at-${grants}`, expires_in: 7200 } };
          }
          return api(String(r.headers.authorization).replace(/^Bearer /, ""), r);
        },
        {
          BITBUCKET_TOKEN: "",
          BITBUCKET_OAUTH_CLIENT_ID: "ck",
          BITBUCKET_OAUTH_CLIENT_SECRET: "cs",
          ...settings,
        },
      );
      process.env.BITBUCKET_OAUTH_TOKEN_URL = `${s.origin}${TOKEN_PATH}`;
      delete process.env.BITBUCKET_TOKEN;
      return s;
    }
    const seen = (s: WireServer) =>
      s.received.map((r) => `${r.method} ${r.url} ${r.headers.authorization ?? ""}`);

    it("keeps one token per OAuth consumer: each request sends its own consumer's", async () => {
      const s = await oauth();
      await request("GET", HOOKS);
      process.env.BITBUCKET_OAUTH_CLIENT_ID = "other";
      await request("GET", HOOKS);
      process.env.BITBUCKET_OAUTH_CLIENT_ID = "ck";
      await request("GET", HOOKS);
      assert.deepEqual(
        seen(s).filter((l) => l.startsWith("GET")),
        [`GET /2.0${HOOKS} Bearer at-1`, `GET /2.0${HOOKS} Bearer at-2`, `GET /2.0${HOOKS} Bearer at-1`],
      );
    });

    it("asks for a token again after a refused grant: a failed grant is not kept", async () => {
      const s = await oauth(undefined, (n) =>
        n === 1
          ? { status: 400, body: { error: "invalid_grant", error_description: "try again" } }
          : undefined,
      );
      await assert.rejects(
        request("GET", HOOKS),
        new RegExp(`^BitbucketApiError: POST ${TOKEN_PATH} failed \\(400\\): try again`),
      );
      await request("GET", HOOKS);
      assert.deepEqual(
        seen(s).map((l) => l.split(" ").slice(0, 2).join(" ")),
        [`POST ${TOKEN_PATH}`, `POST ${TOKEN_PATH}`, `GET /2.0${HOOKS}`],
      );
    });

    it("refuses a token answer without an access token, sending no request with it", async () => {
      for (const body of [{}, null, { access_token: 42 }]) {
        const s = await oauth(undefined, () => ({
          body: JSON.stringify(body),
          headers: { "Content-Type": "application/json" },
        }));
        await assert.rejects(
          request("GET", HOOKS),
          new RegExp(`^BitbucketApiError: POST ${TOKEN_PATH} failed \\(200\\): no message$`),
        );
        assert.deepEqual(seen(s), [`POST ${TOKEN_PATH} Basic ${Buffer.from("ck:cs").toString("base64")}`]);
        tokenCache().clear();
        await s.close();
        srv = undefined;
      }
    });

    it("renews a token past its refresh time once for requests made together", async () => {
      const s = await oauth();
      await request("GET", HOOKS);
      for (const [k, v] of tokenCache())
        tokenCache().set(k, { ...(v as { accessToken: string }), refreshAt: Date.now() - 1 });
      await Promise.all([1, 2, 3].map(() => request("GET", HOOKS)));
      assert.deepEqual(seen(s).slice(2).sort(), [
        `GET /2.0${HOOKS} Bearer at-2`,
        `GET /2.0${HOOKS} Bearer at-2`,
        `GET /2.0${HOOKS} Bearer at-2`,
        `POST ${TOKEN_PATH} Basic ${Buffer.from("ck:cs").toString("base64")}`,
      ]);
    });

    it("renews a refused token once, then fails with Bitbucket's 401", async () => {
      const s = await oauth(() => ({
        status: 401,
        body: { type: "error", error: { message: "Access token expired." } },
      }));
      await assert.rejects(
        request("GET", HOOKS),
        /^BitbucketApiError: GET \/repositories\/acme\/api\/hooks failed \(401\): Access token expired\./,
      );
      assert.deepEqual(
        seen(s).map((l) => l.split(" ").slice(0, 2).join(" ")),
        [`POST ${TOKEN_PATH}`, `GET /2.0${HOOKS}`, `POST ${TOKEN_PATH}`, `GET /2.0${HOOKS}`],
      );
    });

    it("does not renew the token on a 403 or 404", async () => {
      for (const status of [403, 404]) {
        const s = await oauth(() => ({ status }));
        await assert.rejects(request("GET", HOOKS), new RegExp(`failed \\(${status}\\)`));
        assert.deepEqual(
          seen(s).map((l) => l.split(" ")[0]),
          ["POST", "GET"],
        );
        tokenCache().clear();
        await s.close();
        srv = undefined;
      }
    });

    it("does not count a token renewal against the retries", async () => {
      const s = await oauth((token) => (token === "at-1" ? { status: 401 } : { status: 503 }), undefined, {
        BITBUCKET_MAX_RETRIES: "1",
      });
      await assert.rejects(request("GET", HOOKS), /failed \(503\)/);
      assert.deepEqual(seen(s), [
        `POST ${TOKEN_PATH} Basic ${Buffer.from("ck:cs").toString("base64")}`,
        `GET /2.0${HOOKS} Bearer at-1`,
        `POST ${TOKEN_PATH} Basic ${Buffer.from("ck:cs").toString("base64")}`,
        `GET /2.0${HOOKS} Bearer at-2`,
        `GET /2.0${HOOKS} Bearer at-2`,
      ]);
    });
  });

  describe("429: waiting, and saying so", () => {
    const TOO_MANY = { status: 429, headers: { "Retry-After": "0" } };

    it("says once that it is rate limited, then again only after each further minute, naming the path without its query", async () => {
      const realNow = Date.now;
      const t0 = realNow();
      let offset = 0;
      Date.now = () => t0 + offset; // stands still but when the server moves it: 30 s per 429
      try {
        await serve(
          (_r, n) => {
            if (n >= 4) return { body: {} };
            offset += 30_000;
            return TOO_MANY;
          },
          { BITBUCKET_RATE_LIMIT_WAIT_MS: "600000", BITBUCKET_CONCURRENCY: "4" },
        );
        await request("GET", `${HOOKS}?page=2`);
      } finally {
        Date.now = realNow;
        freshProcess(); // the limiter read the clock above
      }
      assert.deepEqual(stderr, [
        "bitbucket-iac: rate limited by Bitbucket (429 on GET /repositories/acme/api/hooks): waiting 10 ms (its Retry-After asks 0 ms; a pause lasts at least 10 ms, bitbucket:rateLimitMinDelayMs), then 2 request(s) at a time; a request waits at most 10 min 0 s in all (bitbucket:rateLimitWaitMs)",
        "bitbucket-iac: still rate limited by Bitbucket after 1 min 0 s (429 on GET /repositories/acme/api/hooks): waiting 10 ms (its Retry-After asks 0 ms; a pause lasts at least 10 ms, bitbucket:rateLimitMinDelayMs)",
      ]);
    });

    it("writes a wait budget of a minute or more in minutes and seconds", async () => {
      for (const [budget, shown] of [
        ["60000", "1 min 0 s"],
        ["90000", "1 min 30 s"],
        ["4500", "4.5 s"],
      ] as const) {
        freshProcess();
        stderr.length = 0;
        const s = await serve((_r, n) => (n === 0 ? TOO_MANY : { body: {} }), {
          BITBUCKET_RATE_LIMIT_WAIT_MS: budget,
        });
        await request("GET", HOOKS);
        assert.equal(stderr.length, 1);
        assert.ok(
          stderr[0]!.endsWith(`; a request waits at most ${shown} in all (bitbucket:rateLimitWaitMs)`),
          stderr[0],
        );
        await s.close();
        srv = undefined;
      }
    });

    it("does not count 429s against the retries of a later 5xx", async () => {
      const answers: Answer[] = [TOO_MANY, TOO_MANY, { status: 503 }];
      const s = await serve((_r, n) => answers[n] ?? { body: { ok: true } }, { BITBUCKET_MAX_RETRIES: "1" });
      assert.deepEqual((await request("GET", HOOKS)).data, { ok: true });
      assert.equal(s.received.length, 4);
    });
  });

  describe("reads and deletes that expect an object may be gone", () => {
    it("getOrUndefined gives the object, undefined on 404, and throws on any other failure: a failed read is not 'gone'", async () => {
      const answers: Answer[] = [
        { body: { uuid: "{a}" } },
        { status: 404 },
        { status: 403 },
        { status: 500 },
      ];
      await serve((_r, n) => answers[n] ?? { status: 500 }, { BITBUCKET_MAX_RETRIES: "0" });
      assert.deepEqual(await getOrUndefined(`${HOOKS}/a`), { uuid: "{a}" });
      assert.equal(await getOrUndefined(`${HOOKS}/a`), undefined);
      await assert.rejects(
        getOrUndefined(`${HOOKS}/a`),
        /GET \/repositories\/acme\/api\/hooks\/a failed \(403\)/,
      );
      await assert.rejects(getOrUndefined(`${HOOKS}/a`), /failed \(500\)/);
    });

    it("deleteIfExists sends DELETE and takes 404 as done, but fails on anything else", async () => {
      const answers: Answer[] = [{ status: 204 }, { status: 404 }, { status: 403 }];
      const s = await serve((_r, n) => answers[n] ?? { status: 500 }, { BITBUCKET_MAX_RETRIES: "0" });
      await deleteIfExists(`${HOOKS}/a`);
      await deleteIfExists(`${HOOKS}/a`);
      await assert.rejects(
        deleteIfExists(`${HOOKS}/a`),
        /DELETE \/repositories\/acme\/api\/hooks\/a failed \(403\)/,
      );
      assert.deepEqual(s.lines(), Array(3).fill(`DELETE /2.0${HOOKS}/a`));
    });

    it("getCached reads an object once per run", async () => {
      const s = await serve(() => ({ body: { slug: "api" } }));
      assert.deepEqual(await getCached("/repositories/acme/api"), { slug: "api" });
      assert.deepEqual(await getCached("/repositories/acme/api"), { slug: "api" });
      assert.equal(s.received.length, 1);
    });

    it("keeps the run's listing of a collection when a read of one of its items fails", async () => {
      const s = await serve((r) =>
        r.url.startsWith(`/2.0${HOOKS}/`) ? { status: 404 } : { body: { values: [{ uuid: "{a}" }] } },
      );
      assert.equal((await listCached(HOOKS)).length, 1);
      assert.equal(await getOrUndefined(`${HOOKS}/gone`), undefined);
      assert.equal((await listCached(HOOKS)).length, 1);
      assert.deepEqual(s.lines(), [`GET /2.0${HOOKS}?pagelen=100`, `GET /2.0${HOOKS}/gone`]);
    });
  });
});
