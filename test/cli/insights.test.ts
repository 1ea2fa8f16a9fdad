// Issue 21.5, the parts of `plan --report` that need no server: text made inert and cut to
// Bitbucket's limits, the weightiest changes annotated first within 1000, where the manifest is in
// the repository, and where the report goes.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../hooks";
import {
  inert,
  INSIGHTS_LIMITS,
  insightsOf,
  pathInRepository,
  reportTarget,
  type Located,
} from "../../provider/cli/insights";
import type { Planned } from "../../provider/cli/plan";
import { escapeUnprintable, UNPRINTABLE } from "../../provider/text";
import { fuzzParams } from "../fuzz/params";

const planned = (action: Planned["action"], i: number, extra: Partial<Located> = {}): Located => ({
  action,
  type: "Webhook",
  name: `webhook/acme/api/h${i}`,
  what: `webhook https://h${i}.example.test/ on acme/api`,
  changes: [],
  line: 4 + (i % 50),
  ...extra,
});

describe("plan --report: the report's text and annotations", () => {
  it("keeps any text on one line, within the limit, cut with a mark only when too long (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 3000 }),
        fc.integer({ min: 40, max: 2500 }),
        (s, max) => {
          const out = inert(s, max);
          assert.ok(out.length <= max, `${out.length} > ${max}`);
          assert.doesNotMatch(out, UNPRINTABLE);
          const whole = escapeUnprintable(s);
          if (whole.length <= max) assert.equal(out, whole);
          else assert.match(out, new RegExp(`… \\(${[...whole].length} characters\\)$`));
        },
      ),
      fuzzParams("inert text", 300),
    );
  });

  it("annotates the weightiest 1000 of 1200 changes: conflicts and errors, then deletes, then the rest", () => {
    const all = [
      ...Array.from({ length: 800 }, (_, i) => planned("create", i)),
      ...Array.from({ length: 300 }, (_, i) => planned("delete", 1000 + i, { line: undefined })),
      ...Array.from({ length: 90 }, (_, i) => planned("conflict", 2000 + i)),
      ...Array.from({ length: 10 }, (_, i) => planned("nothing", 3000 + i, { error: "read failed (500)" })),
      planned("nothing", 4000),
    ];
    const ins = insightsOf(
      { manifest: "bitbucket.yaml", apiUrl: "https://api.bitbucket.org/2.0", planned: all },
      "bitbucket.yaml",
    );
    assert.equal(ins.findings.length, INSIGHTS_LIMITS.annotationsPerReport);
    assert.equal(ins.omitted, 200);
    assert.equal(ins.passed, false);
    const severities = ins.findings.map((f) => f.severity);
    assert.deepEqual(
      [severities.indexOf("MEDIUM"), severities.indexOf("LOW"), severities.lastIndexOf("HIGH")],
      [100, 400, 99],
    );
    assert.equal(new Set(ins.findings.map((f) => f.externalId)).size, 1000, "external ids are unique");
    assert.deepEqual(Object.fromEntries(ins.totals), {
      Creates: 800,
      Updates: 0,
      Deletes: 300,
      Adoptions: 0,
      Conflicts: 90,
      Errors: 10,
    });
    assert.match(
      ins.details,
      /The 1000 weightiest are annotated, 200 more are not \(Bitbucket keeps 1000 per report\)/,
    );
  });

  it("passes a plan without conflicts or errors, and annotates nothing unchanged", () => {
    const ins = insightsOf(
      {
        manifest: "bitbucket.yaml",
        apiUrl: "https://api.bitbucket.org/2.0",
        planned: [
          planned("nothing", 1),
          planned("adopt", 2, { note: "exists, identical" }),
          planned("update", 3),
        ],
      },
      undefined,
    );
    assert.equal(ins.passed, true);
    assert.deepEqual(
      ins.findings.map((f) => [f.summary, f.severity, f.path, f.line]),
      [["update webhook https://h3.example.test/ on acme/api", "LOW", undefined, undefined]],
    );
    assert.deepEqual(Object.fromEntries(ins.totals).Adoptions, 1);
  });
});

describe("plan --report: where the report goes", () => {
  const tmp = () => tempDir("bbiac-insights-");

  it("names the manifest relative to the repository's root: the directory holding .git", () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, ".git"));
    fs.mkdirSync(path.join(root, "infra", "prod"), { recursive: true });
    const cwd = path.join(root, "infra");
    assert.equal(pathInRepository("prod/bitbucket.yaml", {}, cwd), "infra/prod/bitbucket.yaml");
    assert.equal(
      pathInRepository("bitbucket.yaml", { BITBUCKET_CLONE_DIR: cwd }, cwd),
      "bitbucket.yaml",
      "BITBUCKET_CLONE_DIR first",
    );
    assert.equal(pathInRepository("../../elsewhere.yaml", {}, path.join(tmp(), "a", "b")), undefined);
  });

  it("reads the commit and repository from the options, else the environment, and says which is wrong", () => {
    const env = { BITBUCKET_COMMIT: "a".repeat(40), BITBUCKET_REPO_FULL_NAME: "acme/api" };
    assert.equal(reportTarget({}, "cloud", env), undefined);
    assert.deepEqual(reportTarget({ report: true }, "cloud", env), {
      flavor: "cloud",
      owner: "acme",
      repository: "api",
      commit: "a".repeat(40),
    });
    assert.deepEqual(reportTarget({ report: true, repository: "PROJ/infra" }, "datacenter", env), {
      flavor: "datacenter",
      owner: "PROJ",
      repository: "infra",
      commit: "a".repeat(40),
    });
    assert.throws(
      () =>
        reportTarget({ report: true }, "datacenter", {
          BITBUCKET_COMMIT: "HEAD",
          BITBUCKET_REPO_FULL_NAME: "a/b/c",
        }),
      {
        message:
          '--report publishes the plan on a commit of a repository, and needs BITBUCKET_COMMIT ("HEAD" is not a full commit hash of 40 hexadecimal digits) and BITBUCKET_REPO_FULL_NAME ("a/b/c" is not PROJECT/slug): Bitbucket Pipelines sets BITBUCKET_COMMIT and BITBUCKET_REPO_FULL_NAME; elsewhere (Jenkins, Bamboo) give --commit SHA and --repository PROJECT/slug',
      },
    );
    assert.throws(() => reportTarget({ report: true, commit: "\u001b[2Jx" }, "cloud", env), {
      message: /needs --commit \("\\u001b\[2Jx" is not a full commit hash/,
    });
  });
});
