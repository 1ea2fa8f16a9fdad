// Issue 23.4: `plan --only SHARD --comment --report` from several shards on one pull request. Each
// shard has its own comment marker and Code Insights report key, so the shards' plans stand side
// by side, a shard's rerun edits its own comment and replaces its own report, and a plan of the
// whole manifest keeps the marker and key it had before shards (its earlier comment and report
// are found again). The plan's header names the shard in every format.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { REPORT_KEY, reportKey } from "../../provider/cli/insights";
import { COMMENT_MARKER, commentMarker, shardId } from "../../provider/cli/report";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { fuzzParams } from "../fuzz/params";
import { byHand, run, useEmulator, workdir } from "./run";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const CLOUD = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
  - workspace: acme-data
    repositories: [etl]
    url: https://hooks.example.test/etl
    events: [repo:push]
`;
const DC = `version: 1
flavor: datacenter
project: PROJ
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:refs_changed]
  - project: DATA
    repositories: [etl]
    url: https://hooks.example.test/etl
    events: [repo:refs_changed]
`;

describe("plan --only with --comment and --report: one comment and one report per shard", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": CLOUD });

  beforeEach(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "infra"], "acme-data": ["etl"] },
      pullRequests: { "acme/infra": [7] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu, {
      BITBUCKET_PR_ID: "7",
      BITBUCKET_REPO_FULL_NAME: "acme/infra",
      BITBUCKET_COMMIT: SHA,
    });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  const comments = () => emu.store.workspaces.get("acme")!.repos.get("infra")!.pullRequests.get(7)!.comments;
  const report = (key: string) => emu.store.insights.get("cloud", "acme/infra", SHA, key);
  const plan = async (...only: string[]) => {
    const r = await run(["plan", "--comment", "--report", ...only], dir);
    assert.equal(r.code, 2, r.err);
    return r;
  };

  it("posts one comment per shard, each marked and headed with its shard, then a shard's rerun edits its own", async () => {
    const acme = await plan("--only", "workspace=acme");
    const data = await plan("--only", "workspace=acme-data");
    assert.match(acme.err, /created comment \d+ \(shard workspace=acme\) on pull request #7 of acme\/infra/);
    assert.match(
      data.err,
      /created comment \d+ \(shard workspace=acme-data\) on pull request #7 of acme\/infra/,
    );
    assert.equal(comments().length, 2, "two shards, two comments");
    const [first, second] = comments();
    assert.match(
      first!.raw,
      /^<!-- bitbucket-iac plan workspace-acme -->\n### bitbucket-iac plan \(shard `workspace=acme`\): 1 change\n/,
    );
    assert.match(first!.raw, /webhook https:\/\/hooks\.example\.test\/ci on acme\/api/);
    assert.doesNotMatch(first!.raw, /acme-data/);
    assert.match(
      second!.raw,
      /^<!-- bitbucket-iac plan workspace-acme-data -->\n### bitbucket-iac plan \(shard `workspace=acme-data`\): 1 change\n/,
    );
    assert.match(second!.raw, /webhook https:\/\/hooks\.example\.test\/etl on acme-data\/etl/);

    // The next push: acme-data's hook exists as declared; only that shard's comment says so.
    await byHand(emu, "POST", "/repositories/acme-data/etl/hooks", {
      url: "https://hooks.example.test/etl",
      events: ["repo:push"],
    });
    const before = first!.raw;
    emu.resetLog();
    const rerun = await run(["plan", "--comment", "--only", "workspace=acme-data"], dir);
    assert.equal(rerun.code, 0, rerun.err);
    assert.match(rerun.err, new RegExp(`updated comment ${second!.id} \\(shard workspace=acme-data\\)`));
    assert.equal(comments().length, 2, "edited in place, not a third comment");
    assert.match(comments()[1]!.raw, /^<!-- bitbucket-iac plan workspace-acme-data -->\n.*: no changes\n/);
    assert.equal(comments()[0]!.raw, before, "the other shard's comment is left as it was");
    assert.deepEqual(
      emu.log().filter((l) => l.includes("pullrequests") && !l.startsWith("GET")),
      [`PUT /2.0/repositories/acme/infra/pullrequests/7/comments/${second!.id}`],
    );
  });

  it("finds the comment a plan of the whole manifest posted before shards, and leaves the shards' alone", async () => {
    const old = (await byHand(emu, "POST", "/repositories/acme/infra/pullrequests/7/comments", {
      content: { raw: `${COMMENT_MARKER}\n### bitbucket-iac plan: 5 changes\n` },
    })) as { id: number };
    await plan("--only", "workspace=acme");
    const whole = await plan();
    assert.match(whole.err, new RegExp(`updated comment ${old.id} on pull request #7`));
    assert.equal(comments().length, 2);
    const byId = new Map(comments().map((c) => [c.id, c.raw]));
    assert.match(byId.get(old.id)!, /^<!-- bitbucket-iac plan -->\n### bitbucket-iac plan: 2 changes\n/);
    const shard = comments().find((c) => c.id !== old.id)!;
    assert.match(
      shard.raw,
      /^<!-- bitbucket-iac plan workspace-acme -->\n/,
      "the shard's comment is its own",
    );
  });

  it("publishes one Code Insights report per shard under its own key and title; a rerun replaces its own only", async () => {
    const acme = await plan("--only", "workspace=acme");
    await plan("--only", "workspace=acme-data");
    assert.match(
      acme.err,
      /Code Insights report bitbucket-iac-plan-workspace-acme \(passed, 1 annotation\) on commit 0123456789ab/,
    );
    const a = report("bitbucket-iac-plan-workspace-acme");
    const d = report("bitbucket-iac-plan-workspace-acme-data");
    assert.ok(a && d, "one report per shard on the commit");
    assert.equal(report(REPORT_KEY), undefined, "no shard takes the whole manifest's key");
    assert.equal(a.fields.title, "bitbucket-iac plan (shard workspace=acme)");
    assert.equal(d.fields.title, "bitbucket-iac plan (shard workspace=acme-data)");
    assert.match(
      String(d.fields.details),
      /^bitbucket\.yaml, shard workspace=acme-data, planned as for a new stack/,
    );
    assert.deepEqual(
      d.annotations.map((x) => x.fields.summary),
      ["create webhook https://hooks.example.test/etl on acme-data/etl"],
    );
    const acmeAnnotations = a.annotations.map((x) => x.fields.summary);

    emu.resetLog();
    await plan("--only", "workspace=acme-data");
    const at = `/2.0/repositories/acme/infra/commit/${SHA}/reports/bitbucket-iac-plan-workspace-acme-data`;
    assert.deepEqual(
      emu.log().filter((l) => l.includes("/reports/")),
      [`GET ${at}`, `DELETE ${at}`, `PUT ${at}`, `POST ${at}/annotations`],
      "the rerun touches its own report and no other",
    );
    assert.equal(report("bitbucket-iac-plan-workspace-acme-data")!.annotations.length, 1);
    assert.deepEqual(
      report("bitbucket-iac-plan-workspace-acme")!.annotations.map((x) => x.fields.summary),
      acmeAnnotations,
      "the other shard's report keeps its annotations",
    );

    const whole = await plan();
    assert.match(whole.err, /Code Insights report bitbucket-iac-plan \(passed, 2 annotations\)/);
    assert.equal(report(REPORT_KEY)!.fields.title, "bitbucket-iac plan");
  });

  it("names the shard in the text and JSON plans, and says nothing of shards without --only", async () => {
    const text = await run(["plan", "--only", "workspace=ACME-data"], dir);
    assert.match(text.out, /^bitbucket-iac plan: bitbucket\.yaml, shard workspace=acme-data, against http/);
    const json = await run(["plan", "--only", "workspace=acme-data", "--format", "json"], dir);
    assert.equal((JSON.parse(json.out) as { shard?: string }).shard, "workspace=acme-data");
    const whole = await run(["plan", "--format", "json"], dir);
    assert.equal("shard" in (JSON.parse(whole.out) as object), false);
    assert.match((await run(["plan"], dir)).out, /^bitbucket-iac plan: bitbucket\.yaml against http/);
  });
});

describe("plan --only --comment --report on Bitbucket Data Center: one comment and report per project", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": DC });

  beforeEach(async () => {
    emu = await startEmulator({
      dc: { projects: { PROJ: ["api", "infra"], DATA: ["etl"] }, pullRequests: { "PROJ/infra": [7] } },
      tokens: { [TOKEN]: { scopes: [] } },
    });
    restore = useEmulator(emu, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: emu.dcUrl,
      BITBUCKET_REPO_FULL_NAME: "PROJ/infra",
      BITBUCKET_PR_ID: "7",
      BITBUCKET_COMMIT: SHA,
    });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  const comments = () => emu.store.dc.projects.get("PROJ")!.repos.get("infra")!.pullRequests.get(7)!.comments;

  it("keeps each project's comment and report apart, and the whole manifest's old comment is found again", async () => {
    const pr = emu.store.dc.projects.get("PROJ")!.repos.get("infra")!.pullRequests.get(7)!;
    emu.store.dc.addComment(pr, "me", `${COMMENT_MARKER}\n### bitbucket-iac plan: 5 changes\n`);
    for (const only of ["project=PROJ", "project=DATA", "project=data"]) {
      const r = await run(["plan", "--comment", "--report", "--only", only], dir);
      assert.equal(r.code, 2, r.err);
    }
    assert.deepEqual(
      comments().map((c) => c.text.split("\n")[0]),
      [
        "<!-- bitbucket-iac plan -->",
        "<!-- bitbucket-iac plan project-proj -->",
        "<!-- bitbucket-iac plan project-data -->",
      ],
      "project=data is project DATA: its rerun edited its comment",
    );
    assert.match(comments()[2]!.text, /### bitbucket-iac plan \(shard `project=DATA`\): 1 change/);
    assert.match(comments()[0]!.text, /5 changes/, "a shard leaves the whole manifest's comment alone");
    for (const key of ["bitbucket-iac-plan-project-proj", "bitbucket-iac-plan-project-data"])
      assert.ok(emu.store.insights.get("datacenter", "PROJ/infra", SHA, key), key);
    const whole = await run(["plan", "--comment"], dir);
    assert.match(whole.err, new RegExp(`updated comment ${comments()[0]!.id} on pull request #7`));
    assert.match(comments()[0]!.text, /^<!-- bitbucket-iac plan -->\n### bitbucket-iac plan: 2 changes/);
  });
});

describe("shard markers and report keys", () => {
  const shardName = fc.oneof(
    fc.constant("account"),
    fc
      .tuple(
        fc.constantFrom("workspace", "project"),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/),
        fc.string({ maxLength: 3, unit: "binary-ascii" }),
      )
      .map(([k, n, extra]) => `${k}=${n}${extra}`),
  );

  it("keeps the whole manifest's marker and key as they were before shards", () => {
    assert.equal(commentMarker(), "<!-- bitbucket-iac plan -->");
    assert.equal(commentMarker(), COMMENT_MARKER);
    assert.equal(reportKey(), "bitbucket-iac-plan");
    assert.equal(reportKey("workspace=acme"), "bitbucket-iac-plan-workspace-acme");
    assert.equal(commentMarker("project=PROJ"), "<!-- bitbucket-iac plan project-proj -->");
  });

  it("gives shards that differ beyond case their own marker and key, none containing another's, keys in a-z 0-9 . _ - and 59 characters", () => {
    fc.assert(
      fc.property(shardName, shardName, (a, b) => {
        for (const s of [a, b]) {
          assert.match(reportKey(s), /^[a-z0-9._-]{1,59}$/);
          assert.ok(
            !commentMarker(s).includes(COMMENT_MARKER),
            "a shard's comment is not the whole manifest's",
          );
          assert.equal(reportKey(s) === REPORT_KEY, false);
          assert.equal(shardId(s), shardId(s.toUpperCase()), "case does not make another shard");
        }
        const same = a.trim().toLowerCase() === b.trim().toLowerCase();
        assert.equal(reportKey(a) === reportKey(b), same, `${a} / ${b}`);
        assert.equal(commentMarker(a).includes(commentMarker(b)), same, `${a} / ${b}`);
      }),
      fuzzParams("shard markers and report keys", 300),
    );
  });
});
