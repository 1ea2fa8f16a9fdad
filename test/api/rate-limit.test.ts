// Waiting instead of failing (issue 10): 429s are waited out within the wait budget with a notice,
// the concurrency drops and recovers, POSTs repeat only on 429; concurrent 401s share one token
// refresh; the token grant goes through the limiter and the retry policy.

import * as assert from "node:assert/strict";
import { setProviderConfig, tokenCache } from "../../provider/api/auth";
import { request } from "../../provider/api/client";
import { sharedLimiter, type Limiter } from "../../provider/api/limiter";
import { processWide } from "../../provider/api/shared";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { FAST_RETRIES } from "../harness/fixture";

const HOOKS = "/repositories/acme/api/hooks";
const hook = { body: { url: "https://h.example.test/x", events: ["repo:push"], active: true } };

describe("rate limits and token refresh", () => {
  let emu: Emulator;
  let stderr: string[];
  const saved = { ...process.env };
  const savedError = console.error;

  beforeEach(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api"] },
      tokens: { tok: { scopes: ALL_SCOPES } },
      consumers: [{ key: "ck", secret: "cs", scopes: ALL_SCOPES, private: true }],
    });
    for (const k of Object.keys(process.env)) if (k.startsWith("BITBUCKET_")) delete process.env[k];
    Object.assign(process.env, FAST_RETRIES, { BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: "tok" });
    setProviderConfig(() => undefined);
    tokenCache().clear();
    processWide<{ limiter?: Limiter }>("limiter", () => ({})).limiter = undefined; // a new process's
    stderr = [];
    console.error = (...a: unknown[]) => void stderr.push(a.join(" "));
  });
  afterEach(async () => {
    console.error = savedError;
    process.env = { ...saved };
    await emu.close();
  });

  describe("429: waiting within the budget", () => {
    it("waits as long as Retry-After says, past the retry cap, says so once per pause, then succeeds", async () => {
      // The retry cap is 50 ms here (FAST_RETRIES); Retry-After asks for a whole second.
      emu.fault({ path: "/hooks", status: 429, headers: { "Retry-After": "1" }, times: 3 });
      const t0 = Date.now();
      const results = await Promise.all([1, 2, 3].map(() => request("GET", HOOKS)));
      assert.deepEqual(
        results.map((r) => r.status),
        [200, 200, 200],
      );
      assert.ok(Date.now() - t0 >= 950, `waited the second Retry-After asked (${Date.now() - t0} ms)`);
      assert.equal(stderr.length, 1, "one notice for the burst, not one per request");
      assert.match(
        stderr[0]!,
        /^bitbucket-iac: rate limited by Bitbucket \(429 on GET \/repositories\/acme\/api\/hooks\): waiting 1\.0 s as its Retry-After asks, then 4 request\(s\) at a time; a request waits at most 60 min 0 s in all \(bitbucket:rateLimitWaitMs\)$/,
      );
    });

    it("without Retry-After backs off again and again, beyond the retry count, while the budget lasts", async () => {
      emu.fault({ path: "/hooks", status: 429, times: 12 }); // more than the 4 retries of other failures
      assert.equal((await request("GET", HOOKS)).status, 200);
      assert.equal(emu.log().length, 13);
      assert.match(stderr[0]!, /waiting \d+ ms \(no Retry-After: backing off\)/);
    });

    it("fails when the budget is spent, saying how long it waited and what to do", async () => {
      process.env.BITBUCKET_RATE_LIMIT_WAIT_MS = "300";
      emu.fault({ path: "/hooks", status: 429, times: 1000 });
      const t0 = Date.now();
      await assert.rejects(request("GET", HOOKS), (e: Error) => {
        assert.match(
          e.message,
          /^GET \/repositories\/acme\/api\/hooks failed \(429\): Rate limit for this resource has been exceeded\. - still rate limited after waiting \d+ ms, the wait budget \(bitbucket:rateLimitWaitMs \/ BITBUCKET_RATE_LIMIT_WAIT_MS = 300\)\. Bitbucket Cloud counts requests per rolling hour: run again later \(what was done is recorded\), or raise the budget$/,
        );
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 2000, `gave up after about the budget (${took} ms)`);
    });

    it("fails at once when Retry-After asks for more than the budget has left", async () => {
      process.env.BITBUCKET_RATE_LIMIT_WAIT_MS = "2000";
      emu.fault({ path: "/hooks", status: 429, headers: { "Retry-After": "3600" } });
      const t0 = Date.now();
      await assert.rejects(
        request("GET", HOOKS),
        /failed \(429\).* - Bitbucket asks to wait 60 min 0 s more \(Retry-After\), beyond what is left of the wait budget \(bitbucket:rateLimitWaitMs \/ BITBUCKET_RATE_LIMIT_WAIT_MS = 2000\) after 0 ms\./,
      );
      assert.ok(Date.now() - t0 < 1000, "no pointless partial wait");
      assert.equal(emu.log().length, 1);
    });

    it("repeats a POST on 429 (not processed), never after a 5xx (it may have been)", async () => {
      emu.fault({ method: "POST", path: "/hooks", status: 429, times: 2 });
      assert.equal((await request("POST", HOOKS, hook)).status, 201);
      assert.equal(emu.log().filter((l) => l.startsWith("POST")).length, 3);
      emu.resetLog();
      emu.fault({ method: "POST", path: "/hooks", status: 503 });
      await assert.rejects(request("POST", HOOKS, hook), /503/);
      assert.equal(emu.log().length, 1);
    });

    it("lowers the concurrency under a rolling-window limit, finishes every request, and raises it again", async () => {
      process.env.BITBUCKET_CONCURRENCY = "8";
      emu.limitRate({ requests: 10, windowMs: 1000, retryAfter: true });
      const results = await Promise.all(Array.from({ length: 30 }, () => request("GET", HOOKS)));
      assert.equal(results.filter((r) => r.status === 200).length, 30, "every request got its answer");
      assert.ok(emu.refusedByLimit() > 0, "the window was crossed");
      const limiter = sharedLimiter(8);
      assert.ok(limiter.stats().limit < 8, `concurrency lowered (${limiter.stats().limit})`);
      emu.limitRate(undefined);
      await Promise.all(Array.from({ length: 100 }, () => request("GET", HOOKS)));
      assert.equal(limiter.stats().limit, 8, "raised back to the maximum after successes");
    });
  });

  describe("OAuth token: one shared refresh, through the limiter and retries", () => {
    const useOAuth = () => {
      delete process.env.BITBUCKET_TOKEN;
      Object.assign(process.env, {
        BITBUCKET_OAUTH_CLIENT_ID: "ck",
        BITBUCKET_OAUTH_CLIENT_SECRET: "cs",
        BITBUCKET_OAUTH_TOKEN_URL: `${emu.url}/site/oauth2/access_token`,
      });
    };
    const grants = () => emu.log().filter((l) => l === "POST /site/oauth2/access_token").length;

    it("refreshes once when many requests get a 401 for the same expired token", async () => {
      useOAuth();
      await request("GET", HOOKS);
      for (const t of emu.store.tokens.values()) t.expiresAt = Date.now() - 1;
      const results = await Promise.all(Array.from({ length: 6 }, () => request("GET", HOOKS)));
      assert.deepEqual(
        results.map((r) => r.status),
        Array(6).fill(200),
      );
      assert.equal(grants(), 2, "the first grant and one refresh, not one per 401");
      assert.equal(emu.log().filter((l) => l.startsWith("GET")).length, 1 + 6 + 6);
    });

    it("retries a grant answered 503 or 429, like a GET", async () => {
      useOAuth();
      emu.fault({ path: "/site/oauth2/access_token", status: 503 });
      emu.fault({ path: "/site/oauth2/access_token", status: 429, headers: { "Retry-After": "0" } });
      assert.equal((await request("GET", HOOKS)).status, 200);
      assert.equal(grants(), 3);
    });

    it("fails on refused client credentials without retrying, in Bitbucket's words", async () => {
      useOAuth();
      process.env.BITBUCKET_OAUTH_CLIENT_SECRET = "wrong";
      await assert.rejects(
        Promise.all([request("GET", HOOKS), request("GET", HOOKS)]),
        /Invalid OAuth client credentials/,
      );
      assert.equal(grants(), 1, "two requests waited on one grant; a refusal is not retried");
    });

    it("holds the grant back while a 429 pause is in force (it goes through the shared limiter)", async () => {
      emu.fault({ path: "/hooks", status: 429, headers: { "Retry-After": "1" } });
      const paused = request("GET", HOOKS); // Bearer: gets the 429 and pauses everyone for 1 s
      await new Promise((r) => setTimeout(r, 100));
      useOAuth();
      tokenCache().clear();
      const t0 = Date.now();
      await request("GET", HOOKS);
      assert.ok(Date.now() - t0 >= 700, `the grant waited for the pause (${Date.now() - t0} ms)`);
      await paused;
    });
  });
});
