// The renewal policy of Data Center access tokens (issue 19 case 6) as pure functions: when a
// token is due (renewalOf), the clock tests move (BITBUCKET_IAC_NOW) and the margin setting
// (bitbucket:tokenRenewDays). The lifecycle through the engine: test/regressions/19-token-expiry.test.ts.
// FUZZ_SEED and FUZZ_RUNS raise the property runs (defaults: a fixed seed, 1000 runs).

import * as assert from "node:assert/strict";
import fc from "fast-check";
import { renewalOf } from "../../../provider/resources/access-token";
import { now } from "../../../provider/api/clock";
import { tokenRenewDays } from "../../../provider/api/auth";

const DAY = 86_400_000;
const SEED = Number(process.env.FUZZ_SEED ?? 190006);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

describe("AccessToken renewal policy", () => {
  it("renews a 30-day token from day 23 with the default 7 days, from day 30 with 0, and never one without expiry", () => {
    const t = { createdAt: 0, expiresAt: 30 * DAY };
    assert.equal(renewalOf(t, 10 * DAY, 7), undefined);
    assert.equal(renewalOf(t, 23 * DAY - 1, 7), undefined);
    assert.deepEqual(renewalOf(t, 23 * DAY, 7), { expiresAt: 30 * DAY, expired: false });
    assert.deepEqual(renewalOf(t, 24 * DAY, 7), { expiresAt: 30 * DAY, expired: false });
    assert.deepEqual(renewalOf(t, 31 * DAY, 7), { expiresAt: 30 * DAY, expired: true });
    assert.equal(renewalOf(t, 30 * DAY - 1, 0), undefined);
    assert.deepEqual(renewalOf(t, 30 * DAY, 0), { expiresAt: 30 * DAY, expired: true });
    assert.equal(renewalOf({ createdAt: 0 }, 100_000 * DAY, 7), undefined);
    // Shorter-lived than twice the margin: renewed from half its life, not at every run.
    assert.equal(renewalOf({ createdAt: 0, expiresAt: 5 * DAY }, 2 * DAY, 7), undefined);
    assert.deepEqual(renewalOf({ createdAt: 0, expiresAt: 5 * DAY }, 2.5 * DAY, 7), {
      expiresAt: 5 * DAY,
      expired: false,
    });
  });

  it("is never due in a token's first half of life, due within the margin after it, always once expired, and stays due as time passes (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }), // created, epoch ms
        fc.integer({ min: 1, max: 3650 }), // expiryDays
        fc.integer({ min: 0, max: 400 }), // tokenRenewDays
        fc.integer({ min: -10 * DAY, max: 5000 * DAY }), // now - created
        fc.integer({ min: 0, max: 400 * DAY }), // a later moment: + this
        (created, days, renewDays, age, later) => {
          const t = { createdAt: created, expiresAt: created + days * DAY };
          const at = created + age;
          const due = renewalOf(t, at, renewDays);
          if (age < (days * DAY) / 2) assert.equal(due, undefined, "never in the first half of its life");
          else if (at >= t.expiresAt - renewDays * DAY) assert.ok(due, "due within the margin");
          else assert.equal(due, undefined, "not due before the margin");
          if (at >= t.expiresAt) assert.deepEqual(due, { expiresAt: t.expiresAt, expired: true });
          else if (due) assert.equal(due.expired, false);
          if (due) assert.ok(renewalOf(t, at + later, renewDays), "stays due");
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("reads the clock from BITBUCKET_IAC_NOW (ISO 8601 or epoch ms), the system's when unset, and refuses anything else by name", () => {
    assert.equal(
      now({ BITBUCKET_IAC_NOW: "2026-04-01T09:00:00.000Z" }),
      Date.parse("2026-04-01T09:00:00.000Z"),
    );
    assert.equal(now({ BITBUCKET_IAC_NOW: "1775034000000" }), 1775034000000);
    const before = Date.now();
    const sys = now({});
    assert.ok(sys >= before && sys <= Date.now());
    assert.throws(
      () => now({ BITBUCKET_IAC_NOW: "next tuesday" }),
      /^Error: BITBUCKET_IAC_NOW must be an ISO 8601 date-time or epoch milliseconds, got "next tuesday"; unset it to use the system clock$/,
    );
  });

  it("takes bitbucket:tokenRenewDays from BITBUCKET_TOKEN_RENEW_DAYS, default 7, and refuses a negative or fractional value by name", () => {
    assert.equal(tokenRenewDays({}), 7);
    assert.equal(tokenRenewDays({ BITBUCKET_TOKEN_RENEW_DAYS: "0" }), 0);
    assert.equal(tokenRenewDays({ BITBUCKET_TOKEN_RENEW_DAYS: "14" }), 14);
    for (const bad of ["-1", "1.5", "a week"])
      assert.throws(
        () => tokenRenewDays({ BITBUCKET_TOKEN_RENEW_DAYS: bad }),
        new RegExp(
          `bitbucket:tokenRenewDays / BITBUCKET_TOKEN_RENEW_DAYS must be a whole number >= 0, got "${bad}"`,
        ),
      );
  });
});
