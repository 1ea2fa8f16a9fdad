// Issue 21.4: a plan comment fits Bitbucket's limit (Cloud 32,768 characters, Data Center less
// than 32,768) and leads with what a reviewer must see: the totals by kind, then every risky step
// by name, then the details by repository, as many as fit, with where the whole plan is
// (`--out FILE`). A plan of 800 webhook creates used to post a 202,253-character comment, which
// Bitbucket refuses (atlantis#280, #1251).

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { COMMENT_LIMIT, render, type PlanReport } from "../../provider/cli/report";
import type { Planned } from "../../provider/cli/plan";
import { startEmulator, type Emulator } from "../emulator/server";
import { MAX_COMMENT_CHARACTERS } from "../emulator/routes/pullrequests";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { byHand, run, useEmulator, workdir } from "./run";

const REPOS = Array.from({ length: 20 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);
const URLS = Array.from({ length: 40 }, (_, i) => `https://hooks.example.test/build/${i}`);

/** 800 webhooks (40 URLs on 20 repositories), and one more that exists by hand and differs. */
const MANIFEST = `version: 1
workspace: acme
webhooks:
${URLS.map((url) => `  - repositories: [${REPOS.join(", ")}]\n    url: ${url}\n    events: [repo:push]\n`).join("")}  - repositories: [infra]
    url: https://hooks.example.test/taken
    events: [repo:push]
`;

describe("bitbucket-iac plan --comment: made for Bitbucket's comment limit", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string | undefined;

  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: [...REPOS, "infra"] },
      pullRequests: { "acme/infra": [7] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu, { BITBUCKET_PR_ID: "7", BITBUCKET_REPO_FULL_NAME: "acme/infra" });
    await byHand(emu, "POST", "/repositories/acme/infra/hooks", {
      url: "https://hooks.example.test/taken",
      events: ["pullrequest:created"],
    });
    dir = workdir({ "bitbucket.yaml": MANIFEST });
  });
  after(async () => {
    restore();
    await emu.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("posts one comment of 800 creates under the limit that leads with the totals and the conflict, and names the full plan --out wrote", async () => {
    const before = emu.log().length;
    const r = await run(["plan", "--comment", "--out", "plan.md"], dir!);
    assert.equal(r.code, 3, r.err); // the conflict
    const posts = emu
      .log()
      .slice(before)
      .filter((l) => !l.startsWith("GET "));
    assert.deepEqual(posts, ["POST /2.0/repositories/acme/infra/pullrequests/7/comments"]);
    const body = emu.store.workspaces.get("acme")!.repos.get("infra")!.pullRequests.get(7)!.comments[0]!.raw;
    assert.ok(body.length <= MAX_COMMENT_CHARACTERS, `${body.length} characters`);
    assert.ok(
      body.length > MAX_COMMENT_CHARACTERS - 2_000,
      `uses the room it has: ${body.length} characters`,
    );

    const [head] = body.split("\n#### ");
    assert.match(head!, /^<!-- bitbucket-iac plan -->\n### bitbucket-iac plan: 801 changes\n/);
    assert.match(
      head!,
      /\*\*Plan: 800 to create, 0 to update, 0 to delete, 0 to adopt with changes, 1 conflict \(pulumi up would stop\); 0 unchanged\.\*\*/,
    );
    assert.match(head!, /\*\*By kind:\*\*\n- Webhook: 1 in conflict, 800 to create\n/);
    assert.match(
      head!,
      /\*\*Needs attention \(1\):\*\*\n- \*\*conflict\*\* webhook https:\/\/hooks\.example\.test\/taken on acme\/infra /,
    );

    const shown = body.match(/^- \*\*create\*\* /gm)?.length ?? 0;
    assert.ok(shown > 0 && shown < 800, `${shown} creates shown`);
    assert.match(
      body,
      new RegExp(
        `\\n_${800 - shown} more steps not shown here \\(Bitbucket's comment limit\\): the full plan is in \`plan\\.md\`, kept with this build\\._$`,
      ),
    );
    const full = fs.readFileSync(path.join(dir!, "plan.md"), "utf8");
    assert.equal(full.match(/^- \*\*create\*\* /gm)?.length, 800, "the file holds every step");
    assert.match(r.err, /the full plan written to plan\.md/);
  });

  it("says how to keep the full plan when no --out is given", async () => {
    const r = await run(["plan", "--comment"], dir!);
    assert.equal(r.code, 3, r.err);
    const comments = emu.store.workspaces.get("acme")!.repos.get("infra")!.pullRequests.get(7)!.comments;
    assert.equal(comments.length, 1, "the same comment, edited");
    assert.match(
      comments[0]!.raw,
      /: run `bitbucket-iac plan --out plan\.md` to keep the full plan as a file\._$/,
    );
  });
});

describe("plan Markdown under a limit", () => {
  /** `n` deletes of webhooks on `places` repositories: every one is a step to name. */
  const deletes = (n: number): Planned[] =>
    Array.from({ length: n }, (_, i) => ({
      action: "delete" as const,
      type: "Webhook",
      name: `webhook/acme/svc-${i % 7}/hooks.example.test/${i}`,
      what: `Webhook ${i}`,
      changes: [],
      place: `acme/svc-${i % 7}`,
    }));
  const report = (planned: Planned[]): PlanReport => ({
    manifest: "bitbucket.yaml",
    apiUrl: "https://api.bitbucket.org/2.0",
    state: "state.json",
    planned,
  });

  it("keeps Data Center's comment under 32,768 characters, naming as many risky steps as fit and counting the rest", () => {
    const md = render(report(deletes(2_000)), "markdown", {
      limit: COMMENT_LIMIT.datacenter,
      fullPlan: "plan.md",
    });
    assert.ok(md.length <= COMMENT_LIMIT.datacenter, `${md.length} characters`);
    const named = md.match(/^- \*\*delete\*\* Webhook \d+ \(/gm)?.length ?? 0;
    assert.ok(named > 100, `${named} deletes named`);
    assert.match(md, new RegExp(`\\n- … and ${2_000 - named} more steps, in the full plan\\n`));
    assert.match(md, /\n_2000 more steps not shown here .*`plan\.md`/);
  });

  it("keeps the comment under the limit however long the --out path it names is", () => {
    for (const fullPlan of ["p".repeat(400), "😀".repeat(400)]) {
      const md = render(report(deletes(3_000)), "markdown", { limit: COMMENT_LIMIT.cloud, fullPlan });
      assert.ok(md.length <= COMMENT_LIMIT.cloud, `${md.length} characters`);
      assert.match(
        md,
        /\n_\d+ more steps not shown here .*the full plan is in `(p|😀)+… \(400 characters\)`/,
      );
    }
  });

  it("renders 50,000 deletes from the stack's state (one group) in seconds, not minutes", function () {
    this.timeout(60_000);
    const gone = deletes(50_000).map(({ place: _, ...p }) => p);
    const started = Date.now();
    const md = render(report(gone), "markdown", { limit: COMMENT_LIMIT.cloud });
    const ms = Date.now() - started;
    assert.ok(ms < 10_000, `${ms} ms`); // grouping copied the group on every step: ~50 s here
    assert.ok(md.length <= COMMENT_LIMIT.cloud, `${md.length} characters`);
    assert.match(md, /\n_50000 more steps not shown here/);
  });

  it("cuts nothing under the limit, and groups the details by repository, sorted", () => {
    const md = render(report(deletes(14)), "markdown", { limit: COMMENT_LIMIT.cloud });
    assert.doesNotMatch(md, /not shown here|more steps/);
    assert.deepEqual(
      md.match(/^#### .*$/gm),
      Array.from({ length: 7 }, (_, i) => `#### acme/svc-${i}`),
    );
    assert.equal(render(report(deletes(14)), "markdown"), md, "the same document without a limit");
  });
});
