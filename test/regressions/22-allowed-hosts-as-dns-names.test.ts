// Issue 22 review: `webhooks.allowedHosts` compared a URL's host with the policy's globs as text.
// The URL parser lower-cases a host and writes an internationalised one in punycode, but keeps the
// trailing dot of a fully qualified name; the policy's globs were only lower-cased. So a policy
// listing `bücher.example.org` or `hooks.example.net.` allowed no URL at all, and a hook to
// `https://ci.example.com./` broke `*.example.com`: findings no one could fix. Both sides are now
// DNS names (lower case, ASCII form, no trailing dot), in validate, plan, check and audit alike
// (they share the rule). The property runs with a fixed seed; FUZZ_SEED and FUZZ_RUNS change it.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { formatProblem, isManifestError, parseManifest } from "../../provider/manifest/load";
import { judge } from "../../provider/policy/evaluate";
import type { Subject } from "../../provider/policy/rules";

const SEED = Number(process.env.FUZZ_SEED ?? 2201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const hook = (url: string): Subject => ({
  kind: "webhook",
  url,
  secret: true,
  skipCertVerification: false,
  events: ["repo:push"],
});
const allowed = (hosts: string[]) => [
  { source: "policy file org.yaml", policy: { webhooks: { allowedHosts: { hosts } } } },
];
const rulesBroken = (url: string, hosts: string[]) => judge(hook(url), allowed(hosts)).map((v) => v.rule);

describe("issue 22: webhooks.allowedHosts compares hosts as DNS names", () => {
  it("allows a fully qualified host (a trailing dot) in the URL or in the policy", () => {
    assert.deepEqual(rulesBroken("https://ci.example.com./hook", ["*.example.com"]), []);
    assert.deepEqual(rulesBroken("https://hooks.example.net/hook", ["hooks.example.net."]), []);
    assert.deepEqual(rulesBroken("https://HOOKS.Example.NET./hook", ["Hooks.example.net."]), []);
  });

  it("allows an internationalised host written either way, on either side", () => {
    assert.deepEqual(rulesBroken("https://xn--bcher-kva.example.org/hook", ["bücher.example.org"]), []);
    assert.deepEqual(rulesBroken("https://bücher.example.org/hook", ["xn--bcher-kva.example.org"]), []);
    assert.deepEqual(rulesBroken("https://ci.BÜCHER.example/hook", ["*.bücher.example"]), []);
  });

  it("still finds a host that only looks allowed", () => {
    for (const url of [
      "https://ci.example.com.evil.test/hook",
      "https://ci.example.com:pw@evil.test/hook",
      "https://evil.test/ci.example.com",
      "https://ci.example.com%2eevil.test/hook",
      "https://bucher.example.org/hook",
    ])
      assert.deepEqual(
        rulesBroken(url, ["*.example.com", "bücher.example.org"]),
        ["webhooks.allowedHosts"],
        url,
      );
  });

  it("allows every spelling of an allowed host: case, trailing dot (property)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const spelling = (host: string) =>
      fc
        .tuple(fc.array(fc.boolean(), { minLength: host.length, maxLength: host.length }), fc.boolean())
        .map(
          ([upper, dot]) =>
            [...host].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("") + (dot ? "." : ""),
        );
    const host = fc.array(label, { minLength: 2, maxLength: 4 }).map((ls) => ls.join("."));
    fc.assert(
      fc.property(
        host.chain((h) => fc.tuple(spelling(h), spelling(h))),
        ([inUrl, inPolicy]) => rulesBroken(`https://${inUrl}/hook`, [inPolicy]).length === 0,
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("refuses a policy host written with a scheme, user, port or path, which would allow no hook", () => {
    const problems = (hosts: string[]) => {
      try {
        parseManifest(
          `version: 1\npolicy:\n  webhooks:\n    allowedHosts: { hosts: [${hosts.map((h) => JSON.stringify(h)).join(", ")}] }\n`,
          "org.yaml",
        );
        return [];
      } catch (e) {
        if (!isManifestError(e)) throw e;
        return e.problems.map(formatProblem);
      }
    };
    const why =
      "is not a host: give the host alone (hooks.example.com, *.example.com), without scheme, user, port or path";
    assert.deepEqual(
      problems([
        "https://hooks.example.com",
        "hooks.example.com:8443",
        "ci.example.com/hook",
        "me@ci.example.com",
      ]),
      [
        `org.yaml:4:29 policy.webhooks.allowedHosts.hosts[0]: "https://hooks.example.com" ${why}`,
        `org.yaml:4:58 policy.webhooks.allowedHosts.hosts[1]: "hooks.example.com:8443" ${why}`,
        `org.yaml:4:84 policy.webhooks.allowedHosts.hosts[2]: "ci.example.com/hook" ${why}`,
        `org.yaml:4:107 policy.webhooks.allowedHosts.hosts[3]: "me@ci.example.com" ${why}`,
      ],
    );
    assert.deepEqual(
      problems(["hooks.example.com.", "*.bücher.example", "[::1]", "10.0.0.1", "ci-?.example.com"]),
      [],
    );
  });
});
