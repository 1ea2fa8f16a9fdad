import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
  fitsWaitBudget,
  isRetryable,
  parseRetryAfter,
  rateLimitDelay,
  retryDelay,
  RETRY_DEFAULTS,
} from "../../provider/api/retry";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const half = () => 0.5;
/** Property runs: a fixed seed in `npm test`; FUZZ_SEED / FUZZ_RUNS for a longer run. */
const FUZZ = { seed: Number(process.env.FUZZ_SEED ?? 19_003), numRuns: Number(process.env.FUZZ_RUNS ?? 300) };

describe("retry policy", () => {
  it("retries 429 for every method, POST included", () => {
    for (const method of ["GET", "PUT", "DELETE", "POST"])
      assert.equal(isRetryable({ method, status: 429 }), true, method);
  });

  it("retries 5xx and network errors for GET, PUT and DELETE but never for POST", () => {
    for (const status of [0, 500, 502, 503, 504]) {
      for (const method of ["GET", "put", "DELETE"])
        assert.equal(isRetryable({ method, status }), true, `${method} ${status}`);
      assert.equal(isRetryable({ method: "POST", status }), false, `POST ${status}`);
    }
  });

  it("never retries client errors", () => {
    for (const status of [400, 401, 403, 404, 405, 409, 410, 422])
      assert.equal(isRetryable({ method: "GET", status }), false);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    assert.equal(parseRetryAfter("3", NOW), 3000);
    assert.equal(parseRetryAfter("0", NOW), 0);
    assert.equal(parseRetryAfter(new Date(NOW + 7000).toUTCString(), NOW), 7000);
    assert.equal(parseRetryAfter(new Date(NOW - 7000).toUTCString(), NOW), 0);
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter("soon", NOW), undefined);
    assert.equal(parseRetryAfter("-1", NOW), undefined, "not a year, as Date.parse would read it");
  });

  it("retries a POST after a 5xx only when it is marked idempotent (an OAuth token grant)", () => {
    assert.equal(isRetryable({ method: "POST", status: 503, idempotent: true }), true);
    assert.equal(isRetryable({ method: "POST", status: 0, idempotent: true }), true);
    assert.equal(isRetryable({ method: "POST", status: 400, idempotent: true }), false);
  });

  it("on 429 waits all of Retry-After, however long; without it backs off, capped, with no attempt limit", () => {
    assert.deepEqual(rateLimitDelay("1800", 1, RETRY_DEFAULTS, NOW, half), {
      ms: 1_800_000,
      told: true,
      asked: 1_800_000,
    });
    const p = { ...RETRY_DEFAULTS, baseDelayMs: 100, maxDelayMs: 1000, rateLimitMinDelayMs: 10 };
    assert.deepEqual(
      [1, 2, 3, 50].map((a) => rateLimitDelay(undefined, a, p, NOW, () => 0.999).ms),
      [100, 200, 400, 1000],
    );
    assert.deepEqual(
      rateLimitDelay(undefined, 1, p, NOW, () => 0),
      { ms: 50, told: false },
    );
  });

  it("never pauses less than rateLimitMinDelayMs (1 s by default), whatever Retry-After says", () => {
    assert.equal(RETRY_DEFAULTS.rateLimitMinDelayMs, 1000);
    const past = new Date(NOW - 86_400_000).toUTCString();
    assert.deepEqual(rateLimitDelay("0", 1, RETRY_DEFAULTS, NOW, half), { ms: 1000, told: true, asked: 0 });
    assert.deepEqual(rateLimitDelay(past, 1, RETRY_DEFAULTS, NOW, half), { ms: 1000, told: true, asked: 0 });
    assert.deepEqual(rateLimitDelay("0.2", 1, RETRY_DEFAULTS, NOW, half), {
      ms: 1000,
      told: true,
      asked: 200,
    });
    // Unreadable: the backoff, raised to the floor (the default backoff starts at 250-500 ms).
    for (const garbage of ["soon", "-1", "1e3", "0x10", "NaN", "\u0000"])
      assert.deepEqual(
        rateLimitDelay(garbage, 1, RETRY_DEFAULTS, NOW, half),
        { ms: 1000, told: false },
        garbage,
      );
    const p = { ...RETRY_DEFAULTS, rateLimitMinDelayMs: 250 };
    assert.deepEqual(rateLimitDelay("0", 1, p, NOW, half), { ms: 250, told: true, asked: 0 });
  });

  it("reads a huge Retry-After as a finite wait longer than any budget", () => {
    for (const huge of ["99999999999999999999999", "9".repeat(400)]) {
      const d = rateLimitDelay(huge, 1, RETRY_DEFAULTS, NOW, half);
      assert.equal(d.ms, Number.MAX_SAFE_INTEGER, huge.slice(0, 30));
      assert.equal(fitsWaitBudget(d.ms, 0, 3_600_000), false);
    }
    assert.equal(
      parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", NOW),
      Date.UTC(9999, 11, 31, 23, 59, 59) - NOW,
    );
  });

  it("charges the budget with elapsed time: a pause fits only while elapsed + pause stays within it", () => {
    assert.equal(fitsWaitBudget(1000, 0, 1000), true);
    assert.equal(fitsWaitBudget(1000, 1, 1000), false);
    assert.equal(fitsWaitBudget(1, 0, 0), false, "a budget of 0 waits for nothing");
  });

  it("ends any run of 429s within the budget after at most budget / rateLimitMinDelayMs pauses (property)", () => {
    const retryAfter = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom("0", "0.0", "", "  ", "soon", "-1", new Date(NOW - 1).toUTCString()),
      fc.integer({ min: 0, max: 7200 }).map(String),
      fc.integer({ min: -86_400_000, max: 86_400_000 }).map((d) => new Date(NOW + d).toUTCString()),
      fc.string(),
    );
    fc.assert(
      fc.property(
        fc.array(retryAfter, { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 5000 }), // rateLimitMinDelayMs
        fc.integer({ min: 0, max: 60_000 }), // budget
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 50 }), // round trips
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (answers, floor, budget, trips, r) => {
          const policy = { ...RETRY_DEFAULTS, rateLimitMinDelayMs: floor };
          // send()'s loop on a server that answers 429 forever, on a clock that only moves when
          // the client waits or a round trip takes time.
          let clock = NOW;
          const since = clock;
          let pauses = 0;
          for (;;) {
            const d = rateLimitDelay(answers[pauses % answers.length], pauses + 1, policy, clock, () => r);
            assert.ok(d.ms >= floor, `a pause of ${d.ms} ms under the ${floor} ms floor`);
            if (!fitsWaitBudget(d.ms, clock - since, budget)) break;
            clock += d.ms + trips[pauses % trips.length]!;
            pauses++;
            assert.ok(
              pauses <= budget / floor,
              `${pauses} pauses in a ${budget} ms budget at ${floor} ms each`,
            );
          }
          assert.ok(
            clock - since <= budget + Math.max(...trips),
            "gave up within the budget (plus a round trip)",
          );
        },
      ),
      FUZZ,
    );
  });

  it("waits what Retry-After says, capped at maxDelayMs (failures other than 429)", () => {
    assert.equal(
      retryDelay({ method: "GET", status: 429, retryAfter: "2" }, 1, RETRY_DEFAULTS, NOW, half),
      2000,
    );
    assert.equal(
      retryDelay({ method: "GET", status: 429, retryAfter: "120" }, 1, RETRY_DEFAULTS, NOW, half),
      30_000,
    );
  });

  it("backs off exponentially with equal jitter, capped", () => {
    const p = { ...RETRY_DEFAULTS, baseDelayMs: 100, maxDelayMs: 1000 };
    const d = (attempt: number, r: number) =>
      retryDelay({ method: "GET", status: 503 }, attempt, p, NOW, () => r);
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => d(a, 0)),
      [50, 100, 200, 400],
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => d(a, 0.999)),
      [100, 200, 400, 800],
    );
    assert.equal(d(4, 0.5), 600);
    assert.equal(
      retryDelay({ method: "GET", status: 503 }, 4, { ...p, retries: 9 }, NOW, () => 1),
      800,
    );
    assert.equal(
      retryDelay({ method: "GET", status: 503 }, 6, { ...p, retries: 9 }, NOW, () => 0),
      500,
    );
  });

  it("stops when the attempts are spent or the failure is not retryable", () => {
    assert.equal(retryDelay({ method: "GET", status: 503 }, 5, RETRY_DEFAULTS, NOW, half), undefined);
    assert.notEqual(retryDelay({ method: "GET", status: 503 }, 4, RETRY_DEFAULTS, NOW, half), undefined);
    assert.equal(retryDelay({ method: "POST", status: 503 }, 1, RETRY_DEFAULTS, NOW, half), undefined);
    assert.equal(retryDelay({ method: "GET", status: 404 }, 1, RETRY_DEFAULTS, NOW, half), undefined);
    assert.equal(
      retryDelay({ method: "GET", status: 503 }, 1, { ...RETRY_DEFAULTS, retries: 0 }, NOW, half),
      undefined,
    );
  });
  it("retries HEAD and OPTIONS like GET, and no other status than 0, 5xx and 429", () => {
    for (const method of ["HEAD", "OPTIONS"])
      assert.equal(isRetryable({ method, status: 503 }), true, method);
    for (const status of [200, 304, 418, 499])
      assert.equal(isRetryable({ method: "GET", status }), false, `${status}`);
  });

  it("never retries a status the policy lists in doNotRetry, even a 5xx or a 429", () => {
    const policy = { ...RETRY_DEFAULTS, doNotRetry: [429, 503] };
    assert.equal(isRetryable({ method: "GET", status: 503 }, policy), false);
    assert.equal(isRetryable({ method: "POST", status: 429 }, policy), false);
    assert.equal(isRetryable({ method: "GET", status: 502 }, policy), true);
  });

  it("reads fractional seconds and surrounding blanks in Retry-After, but not an ISO date or a bare negative number", () => {
    assert.equal(parseRetryAfter("1.25", NOW), 1250);
    assert.equal(parseRetryAfter(" 3 ", NOW), 3000);
    assert.equal(parseRetryAfter(` ${new Date(NOW + 2000).toUTCString()} `, NOW), 2000);
    assert.equal(parseRetryAfter(new Date(NOW + 7000).toISOString(), NOW), undefined, "not an HTTP date");
    assert.equal(parseRetryAfter("-100", NOW), undefined, "not the year -100");
  });
});
