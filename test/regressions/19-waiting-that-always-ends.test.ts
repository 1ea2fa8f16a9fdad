// Issue 19, case 3: `Retry-After: 0` (or an HTTP date in the past) was charged nothing against the
// wait budget, so a server that kept answering 429 that way was asked again at once, forever (with
// rateLimitWaitMs=1000 the client sent thousands of requests in 5 s and never failed). Every pause
// now lasts and costs at least bitbucket:rateLimitMinDelayMs, and the budget is elapsed time.

import * as assert from "node:assert/strict";
import { setProviderConfig, tokenCache } from "../../provider/api/auth";
import { request } from "../../provider/api/client";
import type { Limiter } from "../../provider/api/limiter";
import { processWide } from "../../provider/api/shared";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { FAST_RETRIES } from "../harness/fixture";

const HOOKS = "/repositories/acme/api/hooks";
const PAST = "Wed, 21 Oct 2015 07:28:00 GMT";

describe("issue 19: waiting on 429 always ends", () => {
  let emu: Emulator;
  const saved = { ...process.env };
  const savedError = console.error;
  let stderr: string[];

  beforeEach(async () => {
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { tok: { scopes: ALL_SCOPES } } });
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

  /** The request's outcome, or a failure saying it still had not ended after `ms`. */
  const endsWithin = async (ms: number): Promise<{ error: Error; took: number }> => {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`still retrying after ${ms} ms, ${emu.log().length} requests sent`)),
        ms,
      );
    });
    try {
      await Promise.race([request("GET", HOOKS), stuck]);
    } catch (e) {
      return { error: e as Error, took: Date.now() - t0 };
    } finally {
      clearTimeout(timer);
    }
    throw new Error("the request succeeded against a server that only answers 429");
  };

  const BUDGET_SPENT =
    /^GET \/repositories\/acme\/api\/hooks failed \(429\): Rate limit for this resource has been exceeded\. - still rate limited after waiting \d+(\.\d)? m?s, the wait budget \(bitbucket:rateLimitWaitMs \/ BITBUCKET_RATE_LIMIT_WAIT_MS = 1000\)\. .*raise the budget$/;

  it("fails after the 1 s budget with two requests when Bitbucket answers 429 with Retry-After: 0 forever (default 1 s pause)", async () => {
    delete process.env.BITBUCKET_RATE_LIMIT_MIN_DELAY_MS; // the shipped default
    process.env.BITBUCKET_RATE_LIMIT_WAIT_MS = "1000";
    emu.fault({ path: "/hooks", status: 429, headers: { "Retry-After": "0" }, times: 1_000_000 });
    const { error, took } = await endsWithin(4000);
    assert.match(error.message, BUDGET_SPENT);
    assert.ok(took >= 950 && took < 3000, `waited the 1 s pause, then gave up (${took} ms)`);
    assert.equal(emu.log().length, 2, "the first answer and one retry after the 1 s pause");
  });

  it("fails within the budget, sending a bounded number of requests, when Retry-After is a date in the past", async () => {
    process.env.BITBUCKET_RATE_LIMIT_WAIT_MS = "1000";
    process.env.BITBUCKET_RATE_LIMIT_MIN_DELAY_MS = "100";
    emu.fault({ path: "/hooks", status: 429, headers: { "Retry-After": PAST }, times: 1_000_000 });
    const { error, took } = await endsWithin(4000);
    assert.match(error.message, BUDGET_SPENT);
    assert.ok(took >= 800 && took < 2500, `gave up after about the budget (${took} ms)`);
    const sent = emu.log().length;
    // Each pause lasts at least 100 ms and the budget is 1000 ms of elapsed time: at most 10 pauses.
    assert.ok(sent >= 3 && sent <= 11, `between 3 and 11 requests, not thousands (${sent})`);
  });

  it("fails within the budget with a small pause floor when Retry-After is 0, and never asks again sooner than the floor", async () => {
    process.env.BITBUCKET_RATE_LIMIT_WAIT_MS = "1000";
    process.env.BITBUCKET_RATE_LIMIT_MIN_DELAY_MS = "100";
    emu.fault({ path: "/hooks", status: 429, headers: { "Retry-After": "0" }, times: 1_000_000 });
    const { error } = await endsWithin(4000);
    assert.match(error.message, BUDGET_SPENT);
    const at = emu.entries().map((e) => e.at);
    assert.ok(at.length >= 3 && at.length <= 11, `between 3 and 11 requests (${at.length})`);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    assert.ok(
      gaps.every((g) => g >= 95),
      `every retry came at least the 100 ms floor after the one before (${gaps.join(", ")} ms)`,
    );
    assert.match(
      stderr[0]!,
      /^bitbucket-iac: rate limited by Bitbucket \(429 on GET \/repositories\/acme\/api\/hooks\): waiting 100 ms \(its Retry-After asks 0 ms; a pause lasts at least 100 ms, bitbucket:rateLimitMinDelayMs\), then /,
    );
  });
});
