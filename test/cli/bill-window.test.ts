// The request bill's window: Bitbucket Cloud's hourly limits by the credentials' kind, Data
// Center's token bucket defaults, and --rate-limit (shared/bitbucket-api.md §1.5, §8.1).

import * as assert from "node:assert/strict";
import { billLines, billOf, windowOf, windowSaid, type BillContext } from "../../provider/cli/bill";
import type { Planned } from "../../provider/cli/plan";

const cloud: BillContext = {
  flavor: "cloud",
  credentials: "bearer",
  pagesOf: () => undefined,
  program: { requests: 0, paths: [] },
};

/** `n` creates of webhooks in one repository: one listing, n POSTs. */
const creates = (n: number): Planned[] =>
  Array.from({ length: n }, (_, i) => ({
    action: "create" as const,
    type: "Webhook",
    name: `h${i}`,
    what: `webhook ${i}`,
    changes: [],
    requests: { reads: ["/repositories/acme/api/hooks"], sends: ["POST" as const] },
  }));

describe("the request bill's window", () => {
  it("says a Cloud run over the hourly limit needs more windows, and how long it waits", () => {
    const b = billOf(creates(3004), cloud);
    assert.equal(b.total, 3005);
    assert.deepEqual(b.byMethod, { GET: 1, POST: 3004 });
    assert.deepEqual(b.shared, [{ path: "/repositories/acme/api/hooks", pages: 1, readBy: 3004 }]);
    assert.equal(
      windowSaid(b),
      "3,005 API requests: 1,000 per hour with an access token (its own allowance) → needs 4 windows, about 3 h 0 min of waiting; does not fit in one hour",
    );
  });

  it("takes the scaled limit from --rate-limit, and says it fits when it does", () => {
    const b = billOf(creates(3004), { ...cloud, rateLimit: 5000 });
    assert.equal(
      windowSaid(b),
      "3,005 API requests: 5,000 per hour (--rate-limit) with an access token (its own allowance) → fits in one hour",
    );
  });

  it("counts API tokens per user and OAuth per consumer, with one token grant per process that calls the API", () => {
    assert.match(windowOf(10, { flavor: "cloud", credentials: "basic" }).counted, /per user/);
    const b = billOf(creates(2), {
      ...cloud,
      credentials: "oauth",
      program: { requests: 1, paths: ["/repositories/acme"] },
    });
    assert.equal(b.tokenGrants, 2);
    assert.deepEqual(b.byMethod, { GET: 2, POST: 4 });
    assert.equal(b.api, 4);
    assert.match(b.window.counted, /per consumer/);
  });

  it("reckons Data Center with its rate limiting defaults (60 at once, 5 a second), labelled as an admin setting", () => {
    const b = billOf(creates(359), { ...cloud, flavor: "datacenter" });
    assert.equal(b.window.source, "default");
    assert.equal(
      windowSaid(b),
      "360 API requests: Data Center's defaults, 60 at once then 5 a second, per user, if an admin enabled rate limiting (an admin setting) → about 1 min of waiting; fits in one hour",
    );
  });

  it("bills a listing at the pages plan's own listing of it took", () => {
    const b = billOf(creates(2), { ...cloud, pagesOf: () => 3 });
    assert.equal(b.sharedRequests, 3);
    assert.match(
      billLines(b).join("\n"),
      /3 requests list 1 collection once each, shared by the lookups that read them \(the most: 2 of/,
    );
  });
});

describe("plan --rate-limit", () => {
  it("refuses a value that is not a whole number of requests, with the command's help", async () => {
    const { main } = await import("../../provider/cli/main");
    const err: string[] = [];
    const code = await main(
      ["plan", "--rate-limit", "lots"],
      () => undefined,
      (s) => err.push(s),
      process.cwd(),
    );
    assert.equal(code, 64);
    assert.match(
      err.join("\n"),
      /--rate-limit takes a whole number of requests \(an hour on Cloud, a second on Data Center\), not "lots"/,
    );
  });
});
