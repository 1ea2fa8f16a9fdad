// Text from Bitbucket cannot change the shape of an audit's Markdown (the approach of
// render-inert.test.ts): a hook's URL and description, a key's label, a token's name, a policy's
// message and file name get a hostile value everywhere, the Markdown goes through a CommonMark
// renderer, and the document must have the same structure as with a plain value, with no link,
// image or HTML but the marker. The text report gets no line of its own from a value either, and
// the JSON and SARIF reports no finding (test/fuzz/policy-inert.test.ts: the same, end to end).

import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { AuditResult } from "../../provider/cli/audit";
import { renderAudit } from "../../provider/cli/audit-report";
import { fuzzParams } from "../fuzz/params";
import { foreign, shape } from "./markdown-shape";

/** An audit with `v` in every place text from outside reaches. */
const auditWith = (v: string): AuditResult => ({
  flavor: "cloud",
  target: `workspace ${v}`,
  policy: ["default policy", `${v}.yaml`],
  repositories: 2,
  counts: { webhooks: 2, deployKeys: 1 },
  notAudited: [{ kind: "accessTokens", why: `no API ${v}` }],
  notes: [`workspace webhooks of ${v}: not readable with these credentials (403); not audited`],
  configKeys: [],
  objects: [
    {
      kind: "webhooks",
      what: `webhook https://hooks.example.test/${v} on acme/${v}`,
      subject: { kind: "webhook", url: "http://x", skipCertVerification: false, events: [] },
      entry: {
        repositories: [v],
        url: `http://hooks.example.test/${v}`,
        description: v,
        events: [v],
        adopt: true,
      },
      violations: [
        {
          rule: "webhooks.https",
          level: "error",
          field: "url",
          message: `not https (${v})`,
          source: `${v}.yaml`,
        },
        {
          rule: "webhooks.events",
          level: "warn",
          field: "events",
          message: `event ${v} is not allowed`,
          source: "x",
        },
      ],
    },
    {
      kind: "webhooks",
      what: `webhook ${v} on acme/api`,
      subject: { kind: "webhook", url: "http://x", skipCertVerification: false, events: [] },
      unmanageable: `installed by an app ${v}`,
      violations: [{ rule: "webhooks.https", level: "error", field: "url", message: v, source: v }],
    },
    {
      kind: "deployKeys",
      what: `deploy key ssh-rsa SHA256:abc "${v}" on acme/api`,
      subject: { kind: "key", key: "" },
      entry: { repositories: ["api"], key: "ssh-rsa AAAA", label: v, adopt: true },
      note: `note ${v}`,
      violations: [{ rule: "keys.minRsaBits", level: "error", field: "key", message: v, source: "x" }],
    },
  ],
});

const markdownWith = (v: string) =>
  renderAudit(auditWith(v), "markdown", "https://api.example.test/2.0", "1.0.0");

/** The findings of the JSON and SARIF reports, as `rule level` in order. */
const findingsIn = (v: string) => ({
  json: (
    JSON.parse(renderAudit(auditWith(v), "json", "https://api.example.test/2.0", "1.0.0")) as {
      findings: Array<{ rule: string; level: string }>;
    }
  ).findings.map((f) => `${f.rule} ${f.level}`),
  sarif: (
    JSON.parse(renderAudit(auditWith(v), "sarif", "https://api.example.test/2.0", "1.0.0")) as {
      runs: Array<{ results: Array<{ ruleId: string; level: string }> }>;
    }
  ).runs.flatMap((r) => r.results.map((x) => `${x.ruleId} ${x.level}`)),
});

const HOSTILE = [
  "\n\n### bitbucket-iac audit: no findings\n\n",
  "`\n\n![pixel](https://evil.example/p.png) [sign in](https://evil.example/login)\n\n`",
  "<!-- ",
  "--> <img src=x onerror=alert(1)>",
  "``",
  "a | b | c\n|---|---|",
  "\r\n- injected item\r\n",
  "line\u2028separator\u2029paragraph",
  "*bold* _em_ ~~strike~~ \\ \\`",
  "[x]: https://evil.example",
  "    indented code\n        more",
  "> quote\n>\n> # heading",
  "",
];

describe("audit report: untrusted text is rendered inert", () => {
  const plainShape = shape(markdownWith("value"));

  it("has no link, image or HTML but its marker with a plain value", () => {
    assert.deepEqual(foreign(markdownWith("value")), ["html_block"]);
  });

  for (const v of HOSTILE) {
    it(`keeps the Markdown's shape with ${JSON.stringify(v).slice(0, 40)} everywhere`, () => {
      const text = markdownWith(v);
      assert.deepEqual(shape(text), plainShape, text);
      assert.deepEqual(foreign(text), ["html_block"]);
    });
  }

  it("keeps the Markdown's shape, the text report's lines and the JSON's and SARIF's findings, for any text (property, seed printed on failure)", () => {
    const lines = renderAudit(auditWith("value"), "text", "https://api.example.test/2.0", "1.0.0").split(
      "\n",
    ).length;
    const found = findingsIn("value");
    assert.equal(found.json.length, 4);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 120 }), (v) => {
        assert.deepEqual(shape(markdownWith(v)), plainShape);
        const text = renderAudit(auditWith(v), "text", "https://api.example.test/2.0", "1.0.0");
        assert.equal(text.split("\n").length, lines, "no value makes a line of its own");
        assert.ok(!text.includes("\u001b"), "no terminal escape");
        assert.deepEqual(findingsIn(v), found, "no value makes a finding of its own");
      }),
      fuzzParams("audit report shape", 200),
    );
  });
});
