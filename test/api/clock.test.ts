// The clock the providers read (provider/api/clock.ts): the system's, unless BITBUCKET_IAC_NOW
// moves it (tests only), as epoch milliseconds or an ISO 8601 date-time.

import * as assert from "node:assert/strict";
import { CLOCK_ENV, now } from "../../provider/api/clock";

describe("clock", () => {
  it("is the system clock when BITBUCKET_IAC_NOW is unset, empty or blank", () => {
    for (const env of [{}, { [CLOCK_ENV]: "" }, { [CLOCK_ENV]: "  " }]) {
      const before = Date.now();
      const t = now(env);
      assert.ok(t >= before && t <= Date.now(), JSON.stringify(env));
    }
  });

  it("reads epoch milliseconds and ISO 8601 date-times with an offset, blanks around them ignored", () => {
    assert.equal(now({ [CLOCK_ENV]: " 1767225600000 " }), 1767225600000);
    assert.equal(now({ [CLOCK_ENV]: "2026-01-01T01:00:00+01:00" }), Date.parse("2026-01-01T00:00:00Z"));
    assert.equal(now({ [CLOCK_ENV]: "2026-01-01T00:00:00Z" }), 1767225600000);
  });

  it("refuses an unreadable value, naming the variable and what to do", () => {
    assert.throws(() => now({ [CLOCK_ENV]: "tomorrow" }), {
      message:
        'BITBUCKET_IAC_NOW must be an ISO 8601 date-time or epoch milliseconds, got "tomorrow"; unset it to use the system clock',
    });
  });
});
