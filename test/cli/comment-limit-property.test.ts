// Issue 21.4, reviewed: whatever a plan holds, its pull-request comment fits Bitbucket's limit
// (Cloud 32,768, Data Center 32,767 characters), starts with the marker that finds it again, shows
// the summary line, and accounts for every listed step: those shown plus those the footer counts.
// Generated plans carry hostile text everywhere text from outside goes (names, descriptions,
// places, errors, the --out path), astral characters (two UTF-16 units each), and thousands of steps.

import * as assert from "node:assert/strict";
import fc from "fast-check";
import MarkdownIt from "markdown-it";
import { isChange, type FieldChange, type Planned } from "../../provider/cli/plan";
import {
  COMMENT_LIMIT,
  COMMENT_MARKER,
  render,
  summarize,
  summaryLine,
  type PlanReport,
} from "../../provider/cli/report";
import { fuzzParams } from "../fuzz/params";

/** Text from outside: anything, markup, astral characters, and very long runs of them. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      ...["😀", "`", "\n", "<!--", "-->", "<img src=x>", "](https://e.test)", "#", "*", "\\", "|", "[", "!"],
      ...["a", " ", "\u202e"],
    ),
    maxLength: 400,
  }),
  fc
    .tuple(fc.constantFrom("😀", "x", "`", "\\", "#"), fc.integer({ min: 1, max: 5_000 }))
    .map(([c, n]) => c.repeat(n)),
);

const value = fc.oneof(
  hostile,
  fc.boolean(),
  fc.integer(),
  fc.constant(null),
  fc.array(hostile, { maxLength: 4 }),
) as fc.Arbitrary<FieldChange["to"] & string>;
const presence = fc.constantFrom("set" as const, "none" as const, "unknown" as const, "generated" as const);

const change: fc.Arbitrary<FieldChange> = fc.oneof(
  fc.record({ field: fc.constantFrom("description", "label", "value", "events"), from: value, to: value }),
  fc.record({ field: fc.constantFrom("description", "url"), to: value }),
  fc.record(
    {
      field: fc.constantFrom("secret", "value"),
      writeOnly: fc.constant(true as const),
      from: presence,
      to: presence,
    },
    { requiredKeys: ["field", "writeOnly"] },
  ),
);

const step: fc.Arbitrary<Planned> = fc.record(
  {
    action: fc.constantFrom("create", "update", "adopt", "conflict", "delete", "nothing", "verify"),
    type: fc.constantFrom("Webhook", "DeployKey", "PipelineVariable", "SshKey"),
    name: hostile,
    what: hostile,
    changes: fc.array(change, { maxLength: 4 }),
    note: hostile,
    error: hostile,
    place: fc.oneof(fc.constantFrom("acme/api", "acme/web", "workspace acme"), hostile),
  },
  { requiredKeys: ["action", "type", "name", "what", "changes"] },
);

/** A plan: a few generated steps, repeated up to 200 times under distinct names (thousands of steps). */
const plan: fc.Arbitrary<Planned[]> = fc
  .tuple(fc.array(step, { maxLength: 25 }), fc.integer({ min: 1, max: 200 }))
  .map(([steps, times]) =>
    Array.from({ length: times }, (_, i) => steps.map((p) => ({ ...p, name: `${p.name}/${i}` }))).flat(),
  );

const md = new MarkdownIt("commonmark");

describe("plan comment under Bitbucket's limit, for any plan (property)", () => {
  it("never exceeds the limit, starts with the marker, shows the summary, and counts every listed step", function () {
    this.timeout(120_000);
    fc.assert(
      fc.property(
        plan,
        hostile,
        hostile,
        fc.option(hostile, { nil: undefined }),
        fc.constantFrom(COMMENT_LIMIT.cloud, COMMENT_LIMIT.datacenter),
        (planned, manifest, apiUrl, fullPlan, limit) => {
          const report: PlanReport = { manifest, apiUrl, planned };
          const text = render(report, "markdown", { limit, ...(fullPlan !== undefined && { fullPlan }) });
          assert.ok(text.length <= limit, `${text.length} characters over the limit of ${limit}`);
          const lines = text.split("\n");
          assert.equal(lines[0], COMMENT_MARKER);
          assert.equal(lines[5], `**${summaryLine(summarize(planned))}**`);

          const listed = planned.filter((p) => p.error || isChange(p)).length;
          // A step's details: its first line, then its resource as code on the next.
          const shown = lines.filter((l) => l.startsWith("  `")).length;
          const footer = /\n_(\d+) more steps? not shown here/.exec(text);
          assert.equal(shown + Number(footer?.[1] ?? 0), listed, `${shown} shown of ${listed}`);
          if (shown === listed) assert.equal(footer, null);

          // One title, then one heading per place shown: nothing a value wrote became a heading.
          const tokens = md.parse(text, {});
          const headings = tokens.filter((t) => t.type === "heading_open");
          assert.equal(headings.length, 1 + lines.filter((l) => l.startsWith("#### ")).length);
          // No link, image or HTML but the marker.
          const foreign = [...tokens, ...tokens.flatMap((t) => t.children ?? [])]
            .map((t) => t.type)
            .filter((t) => /link_open|image|html_inline|html_block/.test(t));
          assert.deepEqual(foreign, ["html_block"]);
        },
      ),
      fuzzParams("plan comment under the limit", 200),
    );
  });
});
