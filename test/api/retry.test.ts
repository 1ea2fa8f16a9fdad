import * as assert from "node:assert/strict";
import {
  isRetryable,
  parseRetryAfter,
  rateLimitDelay,
  retryDelay,
  RETRY_DEFAULTS,
} from "../../provider/api/retry";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const half = () => 0.5;

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
  });

  it("retries a POST after a 5xx only when it is marked idempotent (an OAuth token grant)", () => {
    assert.equal(isRetryable({ method: "POST", status: 503, idempotent: true }), true);
    assert.equal(isRetryable({ method: "POST", status: 0, idempotent: true }), true);
    assert.equal(isRetryable({ method: "POST", status: 400, idempotent: true }), false);
  });

  it("on 429 waits all of Retry-After, however long; without it backs off, capped, with no attempt limit", () => {
    assert.deepEqual(rateLimitDelay("1800", 1, RETRY_DEFAULTS, NOW, half), { ms: 1_800_000, told: true });
    const p = { ...RETRY_DEFAULTS, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 50].map((a) => rateLimitDelay(undefined, a, p, NOW, () => 0.999).ms),
      [100, 200, 400, 1000],
    );
    assert.deepEqual(
      rateLimitDelay(undefined, 1, p, NOW, () => 0),
      { ms: 50, told: false },
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
});
