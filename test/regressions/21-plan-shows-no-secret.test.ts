// Issue 21, reviewed: plan shows plain values now (item 8), and goes to more places (--out, a
// pull-request comment, a Code Insights report and its annotations). No secret may reach any of
// them: not a secured variable's value (Bitbucket holds it; a declared one is a reference), not a
// webhook secret, not a credential in a webhook URL (declared, and as Bitbucket lists it), in any
// format, on any path, nor in any request plan sends.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { byHand, run, useEmulator, workdir } from "../cli/run";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const SECRETS = ["hunter2pass", "q5tokenvalue", "s3cured-value", "hook-s3cret", "env-s3cret"];

// A hook whose URL carries credentials (in a conflict: it exists and differs), a secured variable
// Bitbucket holds (in a conflict too), a plain one (shown), and secrets from the environment.
const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://bot:hunter2pass@hooks.example.test/ci?token=q5tokenvalue
    events: [repo:push]
    secret: { fromEnv: HOOK_SECRET }
  - repositories: [api]
    url: https://hooks.example.test/new?token=q5tokenvalue
    events: [repo:push]
pipelineVariables:
  - repositories: [api]
    key: DEPLOY_TOKEN
    value: { fromEnv: DEPLOY_TOKEN }
  - repositories: [api]
    key: REGION
    value: eu-west-1
    secured: false
`;

describe("issue 21: plan shows no secret, wherever it goes", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string;

  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "infra"] },
      pullRequests: { "acme/infra": [7] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu, {
      BITBUCKET_PR_ID: "7",
      BITBUCKET_REPO_FULL_NAME: "acme/infra",
      BITBUCKET_COMMIT: SHA,
      HOOK_SECRET: "env-s3cret",
      DEPLOY_TOKEN: "env-s3cret",
    });
    await byHand(emu, "POST", "/repositories/acme/api/hooks", {
      url: "https://bot:hunter2pass@hooks.example.test/ci?token=q5tokenvalue",
      events: ["pullrequest:created"],
      secret: "hook-s3cret",
    });
    await byHand(emu, "POST", "/repositories/acme/api/pipelines_config/variables", {
      key: "DEPLOY_TOKEN",
      value: "s3cured-value",
      secured: true,
    });
    await byHand(emu, "POST", "/repositories/acme/api/pipelines_config/variables", {
      key: "REGION",
      value: "us-east-1",
      secured: false,
    });
    dir = workdir({ "bitbucket.yaml": MANIFEST });
  });
  after(async () => {
    restore();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every secret out of text, Markdown, JSON, the --out files, the comment, the report and its annotations", async () => {
    emu.resetLog();
    const seen: string[] = [];
    for (const [format, out] of [
      ["text", "plan.txt"],
      ["markdown", "plan.md"],
      ["json", "plan.json"],
    ] as const) {
      const r = await run(["plan", "--format", format, "--out", out, "--comment", "--report"], dir);
      assert.equal(r.code, 3, r.err); // the two conflicts
      seen.push(r.out, r.err, fs.readFileSync(path.join(dir, out), "utf8"));
    }
    const sent = emu
      .entries()
      .filter((e) => e.method !== "GET")
      .map((e) => JSON.stringify(e.requestBody));
    assert.ok(
      sent.some((b) => b.includes("bitbucket-iac plan")),
      "the comment was posted",
    );
    assert.ok(
      sent.some((b) => b.includes("annotation_type")),
      "the report was annotated",
    );
    const everything = [...seen, ...sent].join("\n");
    for (const secret of SECRETS) assert.ok(!everything.includes(secret), `${secret} is shown`);
    // What is not secret is shown: the plain value, and the URLs with their credentials masked.
    assert.match(seen[0]!, /value: "us-east-1" -> "eu-west-1"/);
    assert.match(seen[0]!, /webhook https:\/\/\*\*\*@hooks\.example\.test\/ci\?token=\*\*\* on acme\/api/);
    assert.match(seen[0]!, /url: "https:\/\/hooks\.example\.test\/new\?token=\*\*\*"/);
  });
});
