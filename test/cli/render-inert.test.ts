// Issue 21.2: text that flows into the plan comment cannot change its shape. Hook descriptions,
// labels, URLs, names and error messages come from Bitbucket or from the pull request's own
// manifest; a blank line in one used to end its code span and its list item, and the rendered
// comment showed an injected "no changes" heading, an image, a link and an unclosed <!-- hiding
// the real summary. Here every interpolated place gets a hostile value, the Markdown goes through
// a CommonMark renderer (markdown-it), and the document must have the same structure (blocks,
// list items, code spans, emphasis; no link, image or HTML) as with a plain value.

import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { Planned } from "../../provider/cli/plan";
import type { Finding } from "../../provider/manifest/policy";
import { MAX_SHOWN_VALUE, render } from "../../provider/cli/report";
import { fuzzParams } from "../fuzz/params";
import { foreign, shape } from "./markdown-shape";

/** A plan with `v` in every place text from outside reaches: names, descriptions, URLs, fields, errors. */
const planWith = (v: string): Planned[] => [
  {
    action: "conflict",
    type: "Webhook",
    name: `webhook/acme/api/${v}`,
    what: `webhook ${v} on acme/api`,
    changes: [
      { field: "description", from: v, to: `ours ${v}` },
      { field: "secret", writeOnly: true },
    ],
    note: "it exists and differs: pulumi up stops here with no write",
  },
  {
    action: "create",
    type: "DeployKey",
    name: `deploy-key/acme/${v}/abc`,
    what: `deploy key on acme/${v}`,
    changes: [{ field: "label", to: v }],
  },
  {
    action: "update",
    type: "PipelineVariable",
    name: "variable/acme/api/X",
    what: `variable ${v}`,
    changes: [{ field: "value", from: v, to: v }],
  },
  {
    action: "nothing",
    type: "SshKey",
    name: `ssh-key/me/${v}`,
    what: `SSH key ${v}`,
    changes: [],
    error: `GET /user failed (500): ${v}`,
  },
];

const markdownWith = (v: string) =>
  render(
    { manifest: `bitbucket${v}.yaml`, apiUrl: `https://api.bitbucket.org/2.0?${v}`, planned: planWith(v) },
    "markdown",
  );

/** A value as a test title shows it: short, ASCII only. */
const titled = (v: string) =>
  JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

const HOSTILE = [
  "\n\n## ✅ bitbucket-iac plan: no changes\n\n",
  "`\n\n![pixel](https://evil.example/p.png) [sign in](https://evil.example/login)\n\n`",
  "<!-- ",
  "--> <img src=x onerror=alert(1)>",
  "``",
  "` ",
  "a | b | c\n|---|---|",
  "\r\n- injected item\r\n",
  "line\u2028separator\u2029paragraph",
  "right-to-left \u202e override",
  "*bold* _em_ ~~strike~~ \\ \\`",
  "[x]: https://evil.example",
  "<details><summary>open</summary>",
  "&lt;script&gt; &#96;",
  "    indented code\n        more",
  "> quote\n>\n> # heading",
  "x".repeat(MAX_SHOWN_VALUE * 20),
  "",
];

describe("plan comment: untrusted text is rendered inert", () => {
  const plainShape = shape(markdownWith("value"));

  it("has no link, image or HTML but our marker with a plain value", () => {
    assert.deepEqual(foreign(markdownWith("value")), ["html_block"], "the marker comment only");
  });

  for (const v of HOSTILE) {
    it(`keeps the comment's shape with ${titled(v)} everywhere`, () => {
      const text = markdownWith(v);
      assert.deepEqual(shape(text), plainShape, text);
      assert.deepEqual(foreign(text), ["html_block"]);
    });
  }

  it("cuts a long value, with a mark saying how long it was", () => {
    const text = markdownWith("x".repeat(MAX_SHOWN_VALUE * 20));
    // Uncut, the value's 14 appearances would be 84,000 characters; cut, each is at most
    // MAX_SHOWN_VALUE (the summary names risky steps again since #21 item 4: 23 places at most).
    assert.ok(text.length < 25 * MAX_SHOWN_VALUE, `${text.length} characters`);
    // A field's value is shown as JSON: its quotes count (#21 item 8).
    assert.match(text, new RegExp(`x… \\(${MAX_SHOWN_VALUE * 20 + 2} characters\\)`));
  });

  it("keeps the shape for any text (property, seed printed on failure)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (v) => {
        assert.deepEqual(shape(markdownWith(v)), plainShape);
      }),
      fuzzParams("plan comment shape", 200),
    );
  });
});

/**
 * What the policy finds, with `v` where text from outside reaches a finding (issue 22): the
 * policy's own message and the hosts it allows (a policy file is shared, and a pull request may
 * change the manifest's), the manifest's name in the finding's place, the host or variable key
 * a manifest declares, and the source naming the policy file.
 */
const findingsWith = (v: string): Finding[] => [
  {
    rule: "webhooks.allowedHosts",
    level: "error",
    field: "url",
    message: `host ${v}.example.test is not one of the allowed hosts (${v}); deliver to an allowed host (${v})`,
    source: `policy file ${v}.yaml`,
    object: `webhook/acme/api/${v}`,
    loc: { file: `bitbucket${v}.yaml`, line: 7, col: 10, path: "webhooks[0].url" },
  },
  {
    rule: "pipelineVariables.securedWhenKeyMatches",
    level: "warn",
    field: "secured",
    message: `${v} looks like a credential (*TOKEN*) but is not secured (${v})`,
    source: v,
    object: `variable/acme/api/${v}`,
  },
];

/** A plan of one step and the findings, with `v` in the findings only (the steps are covered above). */
const withFindings = (v: string, format: "markdown" | "text") =>
  render(
    {
      manifest: "bitbucket.yaml",
      apiUrl: "https://api.bitbucket.org/2.0",
      planned: planWith("value").slice(1, 2),
      findings: findingsWith(v),
    },
    format,
  );

describe("plan comment: the policy's findings are rendered inert", () => {
  const plainShape = shape(withFindings("value", "markdown"));
  const lines = withFindings("value", "text").split("\n").length;

  it("lists the findings in a section of their own, with no link, image or HTML but the marker", () => {
    assert.ok(plainShape.filter((l) => l.trim() === "list_item_open").length >= 2, plainShape.join("\n"));
    assert.deepEqual(foreign(withFindings("value", "markdown")), ["html_block"]);
  });

  for (const v of HOSTILE) {
    it(`keeps the comment's shape, and the text plan's lines, with ${titled(v)} in every finding`, () => {
      const text = withFindings(v, "markdown");
      assert.deepEqual(shape(text), plainShape, text);
      assert.deepEqual(foreign(text), ["html_block"]);
      assert.equal(withFindings(v, "text").split("\n").length, lines);
    });
  }

  it("keeps the shape and the text plan's lines for any text in a finding (property, seed printed on failure)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (v) => {
        assert.deepEqual(shape(withFindings(v, "markdown")), plainShape);
        const text = withFindings(v, "text");
        assert.equal(text.split("\n").length, lines, "no value makes a line of its own");
        assert.ok(!text.includes("\u001b"), "no terminal escape");
      }),
      fuzzParams("plan findings shape", 200),
    );
  });
});
