// Issue 21.3: `plan --comment` edits only its own comment. A reviewer who quotes an earlier plan
// copies its marker; the next run used to edit that comment, Bitbucket answered 403 "You can
// only edit your own comments", and no plan was posted again. Ours is the marked comment the
// credentials' own account (GET /user) wrote.

import * as assert from "node:assert/strict";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { byHand, run, useEmulator, workdir } from "./run";

const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
`;
const REVIEWER = "557058:reviewer";
const QUOTE = "> <!-- bitbucket-iac plan -->\n> ### bitbucket-iac plan: 1 change\n\nWhy a new hook?";

describe("bitbucket-iac plan --comment: only our own comment", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": MANIFEST });

  const start = async (scopes: string[]) => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "infra"] },
      pullRequests: { "acme/infra": [7] },
      tokens: { [TOKEN]: { scopes } },
    });
    restore = useEmulator(emu, { BITBUCKET_PR_ID: "7", BITBUCKET_REPO_FULL_NAME: "acme/infra" });
    emu.store.addAccount(REVIEWER, "reviewer", "A Reviewer");
    const now = new Date().toISOString();
    comments().push({
      id: emu.store.nextCommentId++,
      raw: QUOTE,
      author: REVIEWER,
      created_on: now,
      updated_on: now,
      deleted: false,
    });
  };
  afterEach(async () => {
    restore();
    await emu.close();
  });

  const comments = () => emu.store.workspaces.get("acme")!.repos.get("infra")!.pullRequests.get(7)!.comments;
  const writes = () => emu.log().filter((l) => !l.startsWith("GET "));

  it("leaves a reviewer's comment quoting the plan alone, posts ours, then edits ours on the next run", async () => {
    await start(ALL_SCOPES);
    const first = await run(["plan", "--comment"], dir);
    assert.equal(first.code, 2, first.err);
    assert.equal(comments().length, 2);
    const ours = comments()[1]!;
    assert.match(first.err, new RegExp(`created comment ${ours.id} on pull request #7 of acme/infra`));
    assert.deepEqual(writes(), ["POST /2.0/repositories/acme/infra/pullrequests/7/comments"]);

    emu.resetLog();
    const second = await run(["plan", "--comment"], dir);
    assert.equal(second.code, 2, second.err);
    assert.match(second.err, new RegExp(`updated comment ${ours.id} on pull request #7`));
    assert.deepEqual(writes(), [`PUT /2.0/repositories/acme/infra/pullrequests/7/comments/${ours.id}`]);
    assert.equal(comments().length, 2);
    assert.equal(comments()[0]!.raw, QUOTE, "the reviewer's comment is as they wrote it");
    assert.equal(comments()[0]!.author, REVIEWER);
  });

  it("posts a new comment when ours was deleted after it was listed (404 on the edit), and says so", async () => {
    await start(ALL_SCOPES);
    await run(["plan", "--comment"], dir);
    const ours = comments()[1]!;
    // The listing this run reads is the one from before ours was deleted.
    const path = "/2.0/repositories/acme/infra/pullrequests/7/comments";
    const stale = await byHand(emu, "GET", `${path.slice("/2.0".length)}?pagelen=100`);
    ours.deleted = true;
    emu.fault({ method: "GET", path: `${path}?`, status: 200, body: stale });
    emu.resetLog();
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 2, r.err);
    assert.deepEqual(writes(), [`PUT ${path}/${ours.id}`, `POST ${path}`]);
    const posted = comments()[2]!;
    assert.match(posted.raw, /^<!-- bitbucket-iac plan -->\n/);
    assert.match(r.err, new RegExp(`created comment ${posted.id} on pull request #7 of acme/infra`));
    assert.match(
      r.err,
      new RegExp(
        `bitbucket-iac plan: the earlier plan comment ${ours.id} is gone \\(deleted since it was listed\\): a new one was posted`,
      ),
    );
  });

  it("without the account scope, posts a new comment each run and says how to edit one instead", async () => {
    await start(ALL_SCOPES.filter((s) => s !== "account" && s !== "account:write"));
    for (const n of [2, 3]) {
      emu.resetLog();
      const r = await run(["plan", "--comment"], dir);
      assert.equal(r.code, 2, r.err);
      assert.deepEqual(writes(), ["POST /2.0/repositories/acme/infra/pullrequests/7/comments"]);
      assert.equal(comments().length, n);
      assert.match(
        r.err,
        /bitbucket-iac plan: the credentials' account could not be read \(GET \/user needs the account scope\).*give the token the account scope \(Account: Read\) to edit one comment instead/,
      );
    }
    assert.equal(comments()[0]!.raw, QUOTE);
  });
});
