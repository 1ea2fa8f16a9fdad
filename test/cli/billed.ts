// The bill against what `pulumi up` sent (issue 23.3): test/cli/bill.test.ts and the plan-and-up
// property (test/fuzz/plan-up.test.ts) compare them the same way.

import * as assert from "node:assert/strict";
import type { Bill } from "../../provider/cli/bill";

/** What the emulator saw, as the bill counts it: by method, the total, and the paths listed (GET). */
function sent(log: string[], apiPrefix: string) {
  const byMethod: Record<string, number> = {};
  for (const l of log) {
    const method = l.split(" ")[0]!;
    byMethod[method] = (byMethod[method] ?? 0) + 1;
  }
  const gets = log
    .filter((l) => l.startsWith("GET "))
    .map((l) => l.slice(4).replace(/\?.*$/, "").slice(apiPrefix.length).toLowerCase());
  return { byMethod, total: log.length, gets };
}

/** Asserts the bill is what up sent: by method, in total, each shared collection listed once. */
export function assertBilled(bill: Bill, log: string[], apiPrefix: string, what: string): void {
  const s = sent(log, apiPrefix);
  const said = `${what}: the bill ${JSON.stringify(bill.byMethod)} against what up sent:\n  ${log.join("\n  ")}`;
  assert.deepEqual(s.byMethod, bill.byMethod, said);
  assert.equal(s.total, bill.total, said);
  // Every collection the lookups share is listed once (at its pages), the program's repositories
  // too; the other GETs are steps' own (a key pair's lookup).
  const count = (p: string) => s.gets.filter((g) => g === p.toLowerCase()).length;
  for (const x of bill.shared) assert.equal(count(x.path), x.pages, `${said}\n(${x.path}: listed once)`);
  for (const p of bill.program.paths) assert.ok(count(p) >= 1, `${said}\n(${p}: the program's listing)`);
  const reads = new Set(
    [...bill.shared.map((x) => x.path), ...bill.program.paths].map((p) => p.toLowerCase()),
  );
  const own = s.gets.filter((g) => !reads.has(g)).length;
  assert.equal(
    own,
    (bill.byMethod.GET ?? 0) - bill.sharedRequests - bill.program.requests,
    `${said}\n(steps' own GETs)`,
  );
}
