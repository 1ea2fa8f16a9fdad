// Issue 22 review: a policy's globs could make validate, plan and the provider's check stall. A
// manifest of 180 KB (its own `policy:`, which a pull request writes, with 500 host globs of 200
// characters such as `*a*a*a...*b`, and one webhook whose URL's host was 60,000 characters) kept
// `validate` busy for more than two minutes: each glob costs its length times the host's, for
// every glob and every webhook. Now a policy's host and key globs are capped like repository
// globs (each in length and wildcards, and each list in total), and a host longer than any DNS
// name (253 characters) is not allowed without being matched.

import * as assert from "node:assert/strict";
import { judge } from "../../provider/policy/evaluate";
import { formatProblem, isManifestError, parseManifest } from "../../provider/manifest/load";
import { POLICY_LIMITS } from "../../provider/manifest/policy";

/** Problems of a manifest as `validate` prints them; [] when it loads. */
function problems(text: string): string[] {
  try {
    parseManifest(text, "m.yaml");
    return [];
  } catch (e) {
    if (!isManifestError(e)) throw e;
    return e.problems.map(formatProblem);
  }
}

const list = (items: string[]) => items.map((i) => `\n        - "${i}"`).join("");
const hosts = (items: string[]) =>
  `version: 1\npolicy:\n  webhooks:\n    allowedHosts:\n      hosts:${list(items)}\n`;
const patterns = (items: string[]) =>
  `version: 1\npolicy:\n  pipelineVariables:\n    securedWhenKeyMatches:\n      patterns:${list(items)}\n`;

/** A glob of `length` characters, the i-th of its list. */
const glob = (i: number, length: number, wild = false) =>
  `${wild ? "*a".repeat(10) : ""}g${i}-`.padEnd(length, "x");

describe("issue 22: a policy's globs are bounded", () => {
  it("refuses host globs that add up to more than the cap, at the list", () => {
    const n = Math.ceil(POLICY_LIMITS.maxGlobsLength / 100) + 1;
    assert.deepEqual(problems(hosts(Array.from({ length: n }, (_, i) => glob(i, 100)))), [
      `m.yaml:6:9 policy.webhooks.allowedHosts.hosts: the hosts add up to ${n * 100} characters; at most ${POLICY_LIMITS.maxGlobsLength} are allowed: use a wildcard for the hosts of one domain (*.example.com)`,
    ]);
    assert.deepEqual(problems(hosts(Array.from({ length: n - 2 }, (_, i) => glob(i, 100)))), []);
  });

  it("refuses key patterns over the caps: each glob's wildcards, and the list's length", () => {
    assert.deepEqual(problems(patterns(["*A".repeat(21)])), [
      "m.yaml:6:11 policy.pipelineVariables.securedWhenKeyMatches.patterns[0]: the glob has 21 wildcards (* and ?); at most 20 are allowed: list the keys, or use fewer wildcards",
    ]);
    const n = Math.ceil(POLICY_LIMITS.maxGlobsLength / 100) + 1;
    assert.match(
      problems(patterns(Array.from({ length: n }, (_, i) => glob(i, 100, true)))).join("\n"),
      /^m\.yaml:6:9 policy\.pipelineVariables\.securedWhenKeyMatches\.patterns: the patterns add up to \d+ characters; at most \d+ are allowed/,
    );
  });

  it("says a host glob over the caps in the words of hosts", () => {
    assert.deepEqual(problems(hosts([`${"*a".repeat(21)}.example.com`])), [
      "m.yaml:6:11 policy.webhooks.allowedHosts.hosts[0]: the glob has 21 wildcards (* and ?); at most 20 are allowed: list the hosts, or use fewer wildcards",
    ]);
  });

  it("does not allow a host longer than a DNS name, and says so without matching it", () => {
    const host = "a".repeat(60_000);
    const worst = Array.from({ length: 25 }, (_, i) => `${"*a".repeat(19)}*${"a".repeat(150)}b${i}`);
    const started = Date.now();
    const found = judge(
      { kind: "webhook", url: `https://${host}/x`, secret: true, skipCertVerification: false, events: [] },
      [
        {
          source: "policy file org.yaml",
          policy: { webhooks: { allowedHosts: { hosts: [...worst, "*"] } } },
        },
      ],
    );
    assert.ok(Date.now() - started < 1000, `judged in ${Date.now() - started} ms`);
    assert.deepEqual(
      found.map((f) => [f.rule, f.message]),
      [
        [
          "webhooks.allowedHosts",
          "the URL's host is 60000 characters long, longer than any DNS name (253): deliver to an allowed host",
        ],
      ],
    );
  });
});
