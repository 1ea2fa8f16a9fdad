// Issue 21.6: `plan --comment` on Bitbucket Data Center, with the rules of Cloud: one comment per
// pull request carrying the marker, edited in place on later runs (PUT with the version it has
// now), and only our own: the marked comment written by the user the server names in X-AUSERNAME.
// The pull request comes from --repository / --pull-request, or BITBUCKET_REPO_FULL_NAME /
// BITBUCKET_PR_ID (Data Center has no Pipelines; Jenkins or Bamboo set them).

import axios from "axios";
import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { pullRequestFromEnv } from "../../provider/cli/comment";
import { startEmulator, type Emulator } from "../emulator/server";
import type { DcComment, DcPullRequest } from "../emulator/dc";
import { DC_SPEC, dataCenterContract, requireSpec } from "../contract/openapi";
import { TOKEN } from "../harness/fixture";
import { fuzzParams } from "../fuzz/params";
import { run, useEmulator, workdir } from "./run";

const MANIFEST = `version: 1
flavor: datacenter
project: PROJ
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:refs_changed]
`;
const PR = "/rest/api/latest/projects/PROJ/repos/infra/pull-requests/7";
const QUOTE = "> <!-- bitbucket-iac plan -->\n> ### bitbucket-iac plan: 1 change\n\nWhy a new hook?";

describe("bitbucket-iac plan --comment on Bitbucket Data Center", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": MANIFEST });

  /** A server with PROJ/api and PROJ/infra, pull request 7 on infra, and a reviewer. */
  const start = async (env: Record<string, string> = {}) => {
    emu = await startEmulator({
      dc: { projects: { PROJ: ["api", "infra"] }, users: ["reviewer"], pullRequests: { "PROJ/infra": [7] } },
      tokens: { [TOKEN]: { scopes: [] } },
    });
    emu.store.dc.users.get("reviewer")!.name = "Jane.Reviewer";
    restore = useEmulator(emu, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: emu.dcUrl,
      BITBUCKET_REPO_FULL_NAME: "PROJ/infra",
      BITBUCKET_PR_ID: "7",
      ...env,
    });
  };
  afterEach(async () => {
    restore();
    await emu.close();
  });

  const pullRequest = (): DcPullRequest =>
    emu.store.dc.projects.get("PROJ")!.repos.get("infra")!.pullRequests.get(7)!;
  const comments = (): DcComment[] => pullRequest().comments;
  const writes = () => emu.entries().filter((e) => e.method !== "GET");
  /** The pull request's activity page as it is now (a listing that a later edit makes stale). */
  const activityPage = async (): Promise<unknown> =>
    (
      await axios.get(`${emu.dcUrl}${PR}/activities`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      })
    ).data;
  /** An exchange with its body, the text left out. */
  const shown = (e: { method: string; path: string; requestBody: unknown }) =>
    e.requestBody === undefined
      ? `${e.method} ${e.path}`
      : `${e.method} ${e.path} ${JSON.stringify({ ...(e.requestBody as object), text: "…" })}`;

  it("leaves a reviewer's comment quoting the plan alone, posts ours, then edits ours with the version it has now", async () => {
    await start();
    emu.store.dc.addComment(pullRequest(), "reviewer", QUOTE);
    const first = await run(["plan", "--comment"], dir);
    assert.equal(first.code, 2, first.err);
    assert.equal(comments().length, 2);
    const ours = comments()[1]!;
    assert.equal(ours.author, "me");
    assert.match(ours.text, /^<!-- bitbucket-iac plan -->\n### bitbucket-iac plan: 1 change\n/);
    assert.match(first.err, new RegExp(`created comment ${ours.id} on pull request #7 of PROJ/infra`));
    assert.deepEqual(writes().map(shown), [`POST ${PR}/comments {"text":"…"}`]);

    for (const version of [0, 1]) {
      emu.resetLog();
      const next = await run(["plan", "--comment"], dir);
      assert.equal(next.code, 2, next.err);
      assert.match(next.err, new RegExp(`updated comment ${ours.id} on pull request #7 of PROJ/infra`));
      assert.deepEqual(
        emu.log().filter((l) => l.includes("/pull-requests/")),
        [`GET ${PR}`, `GET ${PR}/activities`, `PUT ${PR}/comments/${ours.id}`],
      );
      assert.deepEqual(writes().map(shown), [
        `PUT ${PR}/comments/${ours.id} {"text":"…","version":${version}}`,
      ]);
      assert.equal(ours.version, version + 1);
    }
    assert.equal(comments().length, 2);
    assert.equal(comments()[0]!.text, QUOTE, "the reviewer's comment is as they wrote it");
    assert.equal(comments()[0]!.version, 0);
  });

  it("re-reads the version once and edits when the comment changed since it was listed (409)", async () => {
    await start();
    await run(["plan", "--comment"], dir);
    const ours = comments()[0]!;
    // The listing this run reads is the one from before someone (another run) edited the comment.
    const stale = await activityPage();
    ours.version = 3;
    emu.fault({ method: "GET", path: `${PR}/activities`, status: 200, body: stale });
    emu.resetLog();
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`updated comment ${ours.id} on pull request #7`));
    assert.deepEqual(
      emu
        .entries()
        .filter((e) => e.path.startsWith(`${PR}/comments`))
        .map((e) => `${shown(e)} ${e.status}`),
      [
        `PUT ${PR}/comments/${ours.id} {"text":"…","version":0} 409`,
        `GET ${PR}/comments/${ours.id} 200`,
        `PUT ${PR}/comments/${ours.id} {"text":"…","version":3} 200`,
      ],
    );
    assert.equal(ours.version, 4);
    assert.equal(comments().length, 1);
  });

  it("posts a new comment when ours was deleted after it was listed (404 on the edit), and says so", async () => {
    await start();
    await run(["plan", "--comment"], dir);
    const ours = comments()[0]!;
    // The listing this run reads is the one from before ours was deleted.
    const stale = await activityPage();
    comments().splice(0, 1);
    emu.fault({ method: "GET", path: `${PR}/activities`, status: 200, body: stale });
    emu.resetLog();
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 2, r.err);
    assert.deepEqual(
      writes().map((e) => `${e.method} ${e.path} ${e.status}`),
      [`PUT ${PR}/comments/${ours.id} 404`, `POST ${PR}/comments 201`],
    );
    const posted = comments()[0]!;
    assert.match(posted.text, /^<!-- bitbucket-iac plan -->\n/);
    assert.match(r.err, new RegExp(`created comment ${posted.id} on pull request #7 of PROJ/infra`));
    assert.match(
      r.err,
      new RegExp(
        `bitbucket-iac plan: the earlier plan comment ${ours.id} is gone \\(deleted since it was listed\\): a new one was posted`,
      ),
    );
  });

  it("finds ours past the first page of activities: 150 comments came after it", async () => {
    await start();
    await run(["plan", "--comment"], dir);
    const ours = comments()[0]!;
    for (let i = 0; i < 150; i++) emu.store.dc.addComment(pullRequest(), "reviewer", `comment ${i}`);
    emu.resetLog();
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`updated comment ${ours.id} on pull request #7`));
    assert.deepEqual(
      emu
        .entries()
        .filter((e) => e.path === `${PR}/activities`)
        .map((e) => e.query),
      ["?start=0&limit=1000", "?start=100&limit=1000"],
    );
    assert.equal(comments().length, 151);
  });

  it("fails naming the pull request and both versions when the edit is refused twice (409)", async () => {
    await start();
    await run(["plan", "--comment"], dir);
    emu.fault({ method: "PUT", path: "/comments/", status: 409, times: 2 });
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /post the plan comment on pull request #7 of PROJ\/infra: PUT \/rest\/api\/latest\/projects\/PROJ\/repos\/infra\/pull-requests\/7\/comments\/\d+ failed \(409\): .* \(refused twice: with the version listed, 0, and the one read again, 0; another run may be editing the same comment: run the plan again\)/,
    );
    assert.equal(comments().length, 1, "no second comment");
  });

  it("without X-AUSERNAME (a proxy drops it), posts a new comment each run and says why; with it again, edits the first", async () => {
    await start();
    emu.store.dc.userHeader = () => undefined;
    for (const n of [1, 2]) {
      emu.resetLog();
      const r = await run(["plan", "--comment"], dir);
      assert.equal(r.code, 2, r.err);
      assert.deepEqual(writes().map(shown), [`POST ${PR}/comments {"text":"…"}`]);
      assert.ok(!emu.log().includes(`GET ${PR}/activities`), "nothing to tell ours from a quote: not listed");
      assert.equal(comments().length, n);
      assert.match(
        r.err,
        /bitbucket-iac plan: Bitbucket Data Center did not say which user the credentials are \(no X-AUSERNAME header.*a new comment was posted; let the X-AUSERNAME response header through to edit one comment instead/,
      );
    }
    emu.store.dc.userHeader = (n) => n;
    emu.resetLog();
    const r = await run(["plan", "--comment"], dir);
    assert.match(r.err, new RegExp(`updated comment ${comments()[0]!.id} on pull request #7`));
    assert.doesNotMatch(r.err, /X-AUSERNAME/);
    assert.deepEqual(writes().map(shown), [
      `PUT ${PR}/comments/${comments()[0]!.id} {"text":"…","version":0}`,
    ]);
  });

  it("tells our comment by the username the server sends, whatever its case or percent-encoding", async () => {
    await start();
    emu.store.dc.users.get("me")!.name = "CI Bot";
    await run(["plan", "--comment"], dir);
    emu.store.dc.userHeader = (n) => encodeURIComponent(n.toLowerCase());
    const r = await run(["plan", "--comment"], dir);
    assert.match(r.err, /updated comment \d+ on pull request #7/);
    assert.equal(comments().length, 1);
    emu.store.dc.userHeader = () => "ci-bot2"; // another user: a new comment
    const other = await run(["plan", "--comment"], dir);
    assert.match(other.err, /created comment \d+ on pull request #7/);
    assert.equal(comments().length, 2);
  });

  it("refuses without --repository and --pull-request before any request, naming the options and variables", async () => {
    await start({ BITBUCKET_REPO_FULL_NAME: "", BITBUCKET_PR_ID: "" });
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 64);
    assert.match(
      r.err,
      /--comment on Bitbucket Data Center needs the pull request to post on: --pull-request \/ BITBUCKET_PR_ID \(unset\) and --repository \/ BITBUCKET_REPO_FULL_NAME \(unset\); give --repository PROJECT\/repository --pull-request ID, or set BITBUCKET_REPO_FULL_NAME and BITBUCKET_PR_ID in the build/,
    );
    const bad = await run(["plan", "--comment", "--repository", "infra", "--pull-request", "#7"], dir);
    assert.equal(bad.code, 64);
    assert.match(
      bad.err,
      /needs the pull request to post on: --pull-request \("#7" is not a number\) and --repository \("infra" is not PROJECT\/repository\)/,
    );
    assert.deepEqual(emu.log(), []);
  });

  it("posts on the pull request --repository and --pull-request name, over the environment", async () => {
    await start({ BITBUCKET_REPO_FULL_NAME: "PROJ/api", BITBUCKET_PR_ID: "99" });
    const r = await run(["plan", "--comment", "--repository", "PROJ/infra", "--pull-request", "7"], dir);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /created comment \d+ on pull request #7 of PROJ\/infra/);
    assert.equal(comments().length, 1);
  });

  it("names the pull request when the server has no such pull request (404)", async () => {
    await start({ BITBUCKET_PR_ID: "8" });
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /post the plan comment on pull request #8 of PROJ\/infra: GET \/rest\/api\/latest\/projects\/PROJ\/repos\/infra\/pull-requests\/8 failed \(404\): Pull request 8 does not exist in PROJ\/infra/,
    );
    assert.equal(writes().length, 0);
  });

  it("sends and gets only what the Data Center 9.2 spec allows on the pull-request routes (contract)", async function () {
    requireSpec(this, DC_SPEC);
    const contract = dataCenterContract();
    await start();
    emu.store.dc.addComment(pullRequest(), "reviewer", QUOTE);
    await run(["plan", "--comment"], dir);
    const stale = await activityPage();
    pullRequest().comments.find((c) => c.author === "me")!.version++;
    emu.fault({ method: "GET", path: `${PR}/activities`, status: 200, body: stale });
    await run(["plan", "--comment"], dir); // 409, GET the comment, PUT again
    await run(["plan", "--comment", "--pull-request", "8"], dir); // 404
    const exchanges = emu.entries().filter((e) => e.path.includes("/pull-requests/"));
    assert.deepEqual(
      [...new Set(exchanges.map((e) => `${e.method} ${contract.template(e.path)} ${e.status}`))].sort(),
      [
        "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId} 200",
        "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId} 404",
        "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/activities 200",
        "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/comments/{commentId} 200",
        "POST /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/comments 201",
        "PUT /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/comments/{commentId} 200",
        "PUT /api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/comments/{commentId} 409",
      ],
    );
    assert.deepEqual(
      exchanges.flatMap((e) => contract.check(e)),
      [],
    );
    // The spec's activity schema leaves out the comment a COMMENTED activity carries (javadoc
    // PullRequestCommentActivity): what we read of it is checked against RestComment.
    const restComment = contract.validator("#/components/schemas/RestComment");
    const carried = exchanges
      .filter((e) => e.path.endsWith("/activities") && e.status === 200)
      .flatMap((e) => (e.responseBody as { values: Array<{ comment?: unknown }> }).values)
      .flatMap((a) => (a.comment === undefined ? [] : [a.comment]));
    assert.ok(carried.length >= 2);
    for (const c of carried) assert.ok(restComment(c), JSON.stringify(restComment.errors));
  });
});

describe("plan --comment: which pull request (options over environment, per flavor)", () => {
  const digits = fc.stringMatching(/^\d{1,6}$/);
  const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
  const repo = fc.tuple(name, name).map(([a, b]) => `${a}/${b}`);
  const anything = fc.oneof(digits, repo, fc.string({ maxLength: 12 }));

  it("takes each option over its variable, and accepts exactly digits and owner/repository", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("cloud", "datacenter"),
        fc.option(anything, { nil: undefined }),
        fc.option(anything, { nil: undefined }),
        fc.option(anything, { nil: undefined }),
        fc.option(anything, { nil: undefined }),
        (flavor, optRepo, optId, envRepo, envId) => {
          const env: NodeJS.ProcessEnv = {
            BITBUCKET_FLAVOR: flavor,
            BITBUCKET_API_URL: "https://bitbucket.example.test",
            ...(envRepo !== undefined && { BITBUCKET_REPO_FULL_NAME: envRepo }),
            ...(envId !== undefined && { BITBUCKET_PR_ID: envId }),
          };
          const full = optRepo ?? envRepo ?? "";
          const id = optId ?? envId ?? "";
          const valid = /^\d+$/.test(id) && /^[^/]+\/[^/]+$/.test(full);
          let got;
          try {
            got = pullRequestFromEnv(env, { repository: optRepo, pullRequest: optId });
          } catch (e) {
            assert.ok(!valid, `refused a valid pull request: ${(e as Error).message}`);
            assert.match(
              (e as Error).message,
              flavor === "cloud" ? /^--comment posts on/ : /^--comment on Bitbucket Data Center/,
            );
            return;
          }
          assert.ok(valid, `accepted ${full} #${id}`);
          assert.deepEqual(got, {
            flavor,
            workspace: full.split("/")[0],
            repository: full.split("/")[1],
            id: Number(id),
          });
        },
      ),
      fuzzParams("pull request from options and environment", 300),
    );
  });

  it("reads Cloud's pull request from the options too (Cloud)", () => {
    const env = { BITBUCKET_REPO_FULL_NAME: "acme/api", BITBUCKET_PR_ID: "3" };
    assert.deepEqual(pullRequestFromEnv(env, { repository: "acme/infra", pullRequest: "7" }), {
      flavor: "cloud",
      workspace: "acme",
      repository: "infra",
      id: 7,
    });
  });
});

describe("plan --pull-request without --comment", () => {
  it("is a usage error that says to add --comment", async () => {
    const r = await run(["plan", "--pull-request", "7"], ".");
    assert.equal(r.code, 64);
    assert.match(r.err, /--pull-request names the pull request --comment posts on: add --comment/);
  });
});
