// Issue 21.5: `plan --report` publishes the plan as a Code Insights report on the pull request's
// head commit, on Bitbucket Cloud and Data Center: PASSED or FAILED (a conflict or an error, exit
// 3), the totals as data fields, one annotation per listed change at the line of the manifest
// entry that declares it (an integration's children at the integration's line), replaced by a
// rerun. Every exchange here also goes through the emulator's checks of Bitbucket's limits.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "yaml";
import { INSIGHTS_LIMITS, REPORT_KEY } from "../../provider/cli/insights";
import { UNPRINTABLE } from "../../provider/text";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import type { StoredReport } from "../emulator/insights";
import { TOKEN } from "../harness/fixture";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "./run";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const key = ed25519("ci@example.test");

// Lines: the webhook entry is line 4, the deploy key 8, the integration 12.
const CLOUD_MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
deployKeys:
  - repositories: [api]
    key: ${key.publicLine}
    label: CI clone
integrations:
  - id: tools
    preset: generic
    repositories: [api]
    options:
      webhooks:
        - url: https://tools.example.test/hook
          events: [repo:push]
`;

/** A hook description set in Bitbucket by someone who wants to forge the report. */
const HOSTILE = `x\n\n## ✅ bitbucket-iac plan: no changes\n![x](https://evil.example/p.png) [sign in](https://evil.example)\n<!--\u202e${"y".repeat(2500)}`;

/** Annotations as stored, by the line they sit at. */
const byLine = (r: StoredReport) =>
  r.annotations
    .map((a) => ({
      line: a.fields.line,
      path: a.fields.path,
      summary: String(a.fields.summary ?? a.fields.message).replace(/SHA256:\S+/, "SHA256:…"),
    }))
    .sort(
      (a, b) =>
        Number(a.line ?? 0) - Number(b.line ?? 0) || String(a.summary).localeCompare(String(b.summary)),
    );

const dataOf = (r: StoredReport) =>
  Object.fromEntries(
    (r.fields.data as Array<{ title: string; value: number; type: string }>).map((d) => [
      d.title,
      [d.type, d.value],
    ]),
  );

describe("bitbucket-iac plan --report on Bitbucket Cloud", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string;

  const start = async (scopes = ALL_SCOPES, env: Record<string, string> = {}) => {
    emu = await startEmulator({ workspaces: { acme: ["api", "infra"] }, tokens: { [TOKEN]: { scopes } } });
    restore = useEmulator(emu, { BITBUCKET_COMMIT: SHA, BITBUCKET_REPO_FULL_NAME: "acme/infra", ...env });
  };
  afterEach(async () => {
    restore();
    await emu.close();
  });
  beforeEach(() => {
    dir = workdir({ "bitbucket.yaml": CLOUD_MANIFEST });
  });
  const report = () => emu.store.insights.get("cloud", "acme/infra", SHA, REPORT_KEY);

  it("publishes a PASSED report with the totals, one annotation per change at its entry's line, and a rerun replaces it", async () => {
    await start();
    const state = {
      deployment: {
        resources: [
          {
            type: "pulumi-nodejs:dynamic/bitbucket:Webhook",
            urn: "urn:pulumi:prod::bitbucket::pulumi-nodejs:dynamic/bitbucket:Webhook::webhook/acme/api/old.example.test/x",
            id: "{0b7d3a2c-0000-4000-8000-000000000001}",
          },
        ],
      },
    };
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
    const first = await run(["plan", "--report", "--state", "state.json"], dir);
    assert.equal(first.code, 2, first.err);
    assert.match(
      first.err,
      /bitbucket-iac plan: Code Insights report bitbucket-iac-plan \(passed, 4 annotations\) on commit 0123456789ab of acme\/infra/,
    );
    const r = report();
    assert.ok(r, "the report is stored on the commit");
    assert.equal(r.fields.title, "bitbucket-iac plan");
    assert.equal(r.fields.result, "PASSED");
    assert.equal(r.fields.report_type, "TEST");
    assert.equal(r.fields.reporter, "bitbucket-iac");
    assert.match(
      String(r.fields.details),
      /^bitbucket\.yaml, planned with the stack's state: Plan: 3 to create, 0 to update, 1 to delete/,
    );
    assert.deepEqual(dataOf(r), {
      Creates: ["NUMBER", 3],
      Updates: ["NUMBER", 0],
      Deletes: ["NUMBER", 1],
      Adoptions: ["NUMBER", 0],
      Conflicts: ["NUMBER", 0],
      Errors: ["NUMBER", 0],
    });
    assert.deepEqual(byLine(r), [
      {
        line: undefined,
        path: "bitbucket.yaml",
        summary: "delete Webhook {0b7d3a2c-0000-4000-8000-000000000001}",
      },
      {
        line: 4,
        path: "bitbucket.yaml",
        summary: "create webhook https://hooks.example.test/ci on acme/api",
      },
      {
        line: 8,
        path: "bitbucket.yaml",
        summary: "create deploy key SHA256:… on acme/api",
      },
      // The generic preset's webhook: a child of integration "tools", at the integration's line.
      {
        line: 12,
        path: "bitbucket.yaml",
        summary: "create webhook https://tools.example.test/hook on acme/api",
      },
    ]);
    const severity = Object.fromEntries(
      r.annotations.map((a) => [String(a.fields.summary).split(" ")[0], a.fields.severity]),
    );
    assert.deepEqual(severity, { delete: "MEDIUM", create: "LOW" });

    emu.resetLog();
    const second = await run(["plan", "--report", "--state", "state.json"], dir);
    assert.equal(second.code, 2, second.err);
    const writes = emu.log().filter((l) => l.includes("/reports/"));
    const at = `/2.0/repositories/acme/infra/commit/${SHA}/reports/${REPORT_KEY}`;
    assert.deepEqual(writes, [`GET ${at}`, `DELETE ${at}`, `PUT ${at}`, `POST ${at}/annotations`]);
    assert.equal(report()!.annotations.length, 4, "a rerun leaves one annotation per change, not two");
    assert.deepEqual(byLine(report()!), byLine(r));
  });

  it("names the manifest by its path in the repository: below BITBUCKET_CLONE_DIR", async () => {
    await start(ALL_SCOPES, { BITBUCKET_CLONE_DIR: dir });
    fs.mkdirSync(path.join(dir, "infra"));
    fs.renameSync(path.join(dir, "bitbucket.yaml"), path.join(dir, "infra", "bitbucket.yaml"));
    const r = await run(["plan", "bitbucket.yaml", "--report"], path.join(dir, "infra"));
    assert.equal(r.code, 2, r.err);
    assert.deepEqual([...new Set(report()!.annotations.map((a) => a.fields.path))], ["infra/bitbucket.yaml"]);
  });

  it("is FAILED on a conflict (exit 3), the conflict a HIGH bug that fails, and a hostile description stays on its one line", async () => {
    await start();
    await byHand(emu, "POST", "/repositories/acme/api/deploy-keys", {
      key: key.publicLine,
      label: "by hand",
    });
    await byHand(emu, "POST", "/repositories/acme/api/hooks", {
      url: "https://hooks.example.test/ci",
      description: HOSTILE,
      events: ["repo:push"],
      active: true,
    });
    const r = await run(["plan", "--report"], dir);
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, /Code Insights report bitbucket-iac-plan \(failed, 3 annotations\)/);
    const stored = report()!;
    assert.equal(stored.fields.result, "FAILED");
    assert.deepEqual(dataOf(stored).Conflicts, ["NUMBER", 2]);
    const conflicts = stored.annotations.filter((a) => String(a.fields.summary).startsWith("conflict "));
    assert.equal(conflicts.length, 2);
    for (const a of conflicts) {
      assert.equal(a.fields.severity, "HIGH");
      assert.equal(a.fields.annotation_type, "BUG");
      assert.equal(a.fields.result, "FAILED");
    }
    assert.deepEqual(conflicts.map((a) => a.fields.line).sort(), [4, 8]);
    const hook = conflicts.find((a) => a.fields.line === 4)!;
    const details = String(hook.fields.details);
    assert.ok(details.length <= INSIGHTS_LIMITS.annotationDetails, `${details.length} characters`);
    assert.doesNotMatch(details, UNPRINTABLE, "no line break, control or format character");
    assert.match(
      details,
      /description: "x\\n\\n## ✅ bitbucket-iac plan: no changes\\n!\[x\]/,
      "the hostile text, escaped",
    );
    assert.match(details, /… \(\d+ characters\)$/, "cut with a mark");
    for (const a of stored.annotations) {
      assert.ok(String(a.fields.summary).length <= INSIGHTS_LIMITS.summary);
      assert.doesNotMatch(String(a.fields.summary), UNPRINTABLE);
    }
    assert.doesNotMatch(String(stored.fields.details), UNPRINTABLE);
  });

  it("without a commit or repository, fails before any request and names what is missing", async () => {
    await start(ALL_SCOPES, { BITBUCKET_COMMIT: "", BITBUCKET_REPO_FULL_NAME: "" });
    delete process.env.BITBUCKET_COMMIT;
    delete process.env.BITBUCKET_REPO_FULL_NAME;
    const r = await run(["plan", "--report"], dir);
    assert.equal(r.code, 64);
    assert.equal(
      r.err,
      "bitbucket-iac plan: --report publishes the plan on a commit of a repository, and needs --commit or BITBUCKET_COMMIT (unset) and --repository or BITBUCKET_REPO_FULL_NAME (unset): Bitbucket Pipelines sets BITBUCKET_COMMIT and BITBUCKET_REPO_FULL_NAME; elsewhere (Jenkins, Bamboo) give --commit SHA and --repository WORKSPACE/slug",
    );
    const short = await run(["plan", "--report", "--commit", "abc1234", "--repository", "acme"], dir);
    assert.equal(short.code, 64);
    assert.match(
      short.err,
      /needs --commit \("abc1234" is not a full commit hash of 40 hexadecimal digits\) and --repository \("acme" is not WORKSPACE\/slug\)/,
    );
    const stray = await run(["plan", "--commit", SHA], dir);
    assert.equal(stray.code, 64);
    assert.match(stray.err, /--commit names the commit --report publishes on: add --report/);
    assert.deepEqual(emu.log(), [], "no request was made");
  });

  it("takes --commit and --repository over the environment", async () => {
    await start();
    const other = "f".repeat(40);
    const r = await run(["plan", "--report", "--commit", other, "--repository", "acme/api"], dir);
    assert.equal(r.code, 2, r.err);
    assert.ok(emu.store.insights.get("cloud", "acme/api", other, REPORT_KEY));
    assert.equal(report(), undefined);
  });

  it("names the scope the reports API needs when Bitbucket answers 403", async () => {
    await start(["webhook", "pipeline"]);
    fs.writeFileSync(
      path.join(dir, "hooks.yaml"),
      "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://hooks.example.test/ci\n    events: [repo:push]\n",
    );
    const r = await run(["plan", "hooks.yaml", "--report"], dir);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      new RegExp(
        `^bitbucket-iac plan: publish the Code Insights report on commit 0123456789ab of acme/infra: GET /repositories/acme/infra/commit/${SHA}/reports/${REPORT_KEY} failed \\(403\\): .* - Bitbucket's reports API needs the repository scope on every call: give the token Repositories: Read \\(an Atlassian API token: read:repository:bitbucket\\)$`,
        "m",
      ),
    );
  });
});

// Lines: the integration is line 5, the webhook 12.
const DC_MANIFEST = `version: 1
flavor: datacenter
project: PROJ
integrations:
  - id: platformsh
    preset: platformsh
    repositories: [api]
    options:
      project: abcdefgh1234567
      username: ci-bot
webhooks:
  - repositories: [api]
    url: https://ci.example.test/hook
    events: [repo:refs_changed]
    description: CI
`;

describe("bitbucket-iac plan --report on Bitbucket Data Center", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string;
  const where = ["--commit", SHA, "--repository", "PROJ/infra"];

  beforeEach(async () => {
    emu = await startEmulator({
      dc: { projects: { PROJ: ["api", "infra"] }, users: ["ci-bot"] },
      tokens: { [TOKEN]: { scopes: [] } },
    });
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    delete process.env.BITBUCKET_COMMIT;
    delete process.env.BITBUCKET_REPO_FULL_NAME;
    dir = workdir({ "bitbucket.yaml": DC_MANIFEST });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });
  const report = () => emu.store.insights.get("datacenter", "PROJ/infra", SHA, REPORT_KEY);

  it("publishes a PASS report from --commit and --repository, annotations at their entries' lines, and a rerun replaces them", async () => {
    const first = await run(["plan", "--report", ...where], dir);
    assert.equal(first.code, 2, first.err);
    assert.match(
      first.err,
      /Code Insights report bitbucket-iac-plan \(passed, 2 annotations\) on commit 0123456789ab of PROJ\/infra/,
    );
    const r = report()!;
    assert.equal(r.fields.result, "PASS");
    assert.equal(r.fields.title, "bitbucket-iac plan");
    assert.deepEqual(dataOf(r), {
      Creates: ["NUMBER", 2],
      Updates: ["NUMBER", 0],
      Deletes: ["NUMBER", 0],
      Adoptions: ["NUMBER", 0],
      Conflicts: ["NUMBER", 0],
      Errors: ["NUMBER", 0],
    });
    const lines = byLine(r).map((a) => [a.line, a.path, String(a.summary).split(" - ")[0]]);
    assert.deepEqual(lines, [
      // platformsh's personal access token of ci-bot: a child of the integration, at its line.
      [5, "bitbucket.yaml", 'create access token "platformsh-platformsh" of user ci-bot'],
      [12, "bitbucket.yaml", "create webhook https://ci.example.test/hook on PROJ/api"],
    ]);
    for (const a of r.annotations) assert.equal(a.fields.severity, "LOW");

    emu.resetLog();
    const second = await run(["plan", "--report", ...where], dir);
    assert.equal(second.code, 2, second.err);
    const at = `/rest/insights/latest/projects/PROJ/repos/infra/commits/${SHA}/reports/${REPORT_KEY}`;
    assert.deepEqual(
      emu.log().filter((l) => l.includes("/insights/")),
      [`PUT ${at}`, `DELETE ${at}/annotations`, `POST ${at}/annotations`],
    );
    assert.equal(
      report()!.annotations.length,
      2,
      "Data Center does not de-duplicate: the old ones were deleted first",
    );
  });

  it("is FAIL on a conflict, the conflict a HIGH bug at its line, and its message stays on one line", async () => {
    emu.store.dc.addHook("PROJ", "api", {
      url: "https://ci.example.test/hook",
      name: HOSTILE.slice(0, 300),
      events: ["repo:refs_changed"],
    });
    const r = await run(["plan", "--report", ...where], dir);
    assert.equal(r.code, 3, r.err);
    const stored = report()!;
    assert.equal(stored.fields.result, "FAIL");
    const conflict = stored.annotations.find((a) => String(a.fields.message).startsWith("conflict "))!;
    assert.equal(conflict.fields.severity, "HIGH");
    assert.equal(conflict.fields.type, "BUG");
    assert.equal(conflict.fields.line, 12);
    assert.doesNotMatch(String(conflict.fields.message), UNPRINTABLE);
    assert.ok(String(conflict.fields.message).length <= INSIGHTS_LIMITS.message);
    assert.match(String(conflict.fields.message), /x\\n\\n## ✅ bitbucket-iac plan: no changes\\n/);
  });

  it("says what Data Center needs when it answers 401: a report another user published cannot be replaced", async () => {
    emu.store.insights.set("datacenter", "PROJ/infra", SHA, {
      key: REPORT_KEY,
      uuid: "{x}",
      fields: { title: "someone else's" },
      author: "ci-bot",
      created: 0,
      updated: 0,
      annotations: [],
    });
    const r = await run(["plan", "--report", ...where], dir);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(
        `^bitbucket-iac plan: publish the Code Insights report on commit 0123456789ab of PROJ/infra: PUT /rest/insights/latest/projects/PROJ/repos/infra/commits/${SHA}/reports/${REPORT_KEY} failed \\(401\\): You are not permitted to change this report: only the user who created it may\\. - Data Center answers 401 for bad credentials and for a missing permission alike: Code Insights needs REPO_READ on the repository .*, and only the user who published the report may replace it$`,
        "m",
      ),
    );
  });
});

describe("examples/pipelines/bitbucket-pipelines.yml publishes the report", () => {
  it("plans every pull request with --report beside --comment, and the exit-code gate", () => {
    const file = path.resolve(__dirname, "../../examples/pipelines/bitbucket-pipelines.yml");
    const doc = yaml.parse(fs.readFileSync(file, "utf8")) as {
      pipelines: { "pull-requests": Record<string, Array<{ step: { script: string[] } }>> };
    };
    const script = doc.pipelines["pull-requests"]["**"]![0]!.step.script;
    const plan = script.filter((l) => l.includes("bitbucket-iac plan"));
    assert.equal(plan.length, 1);
    assert.match(
      plan[0]!,
      /^npx bitbucket-iac plan bitbucket\.yaml (?=.*--comment)(?=.*--report).* \|\| \[ \$\? -eq 2 \]$/,
    );
    assert.doesNotMatch(plan[0]!, /--commit|--repository/, "Pipelines' own variables say where");
  });
});
