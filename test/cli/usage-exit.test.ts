// Issue 24 item 5: one exit status for a usage error, 64 (sysexits.h EX_USAGE), in every command:
// never plan's 2 (changes) or 3 (an up would stop), nor 1 (the run failed; validate: problems).
// Each case is a command line a user could get wrong: an unknown option, a missing required
// option or value, a wrong value, options that do not go together. Nothing is read from Bitbucket.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { run, useEmulator, workdir } from "./run";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";

const ROOT = path.resolve(__dirname, "../..");
const SHA = "a".repeat(40);
const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
`;

/** args, the message (the whole first line after "bitbucket-iac <command>: "), and whether the help follows. */
type Case = [args: string[], message: string, help: boolean];

const CLOUD: Case[] = [
  [["validate", "--strict"], "unknown option --strict", true],
  [["validate", "--policy"], "--policy needs a value", true],
  [["validate", "a.yaml", "b.yaml"], "give one file", true],
  [
    ["validate", "--shards", "--only", "account"],
    "--shards lists every shard, --only validates one: give one of them",
    true,
  ],
  [["plan", "--strict"], "unknown option --strict", true],
  [["plan", "--format", "yaml"], '--format must be one of text, markdown, json, not "yaml"', true],
  [
    ["plan", "--rate-limit", "lots"],
    '--rate-limit takes a whole number of requests (an hour on Cloud, a second on Data Center), not "lots"',
    true,
  ],
  [
    ["plan", "--pull-request", "7"],
    "--pull-request names the pull request --comment posts on: add --comment",
    true,
  ],
  [["plan", "--commit", SHA], "--commit names the commit --report publishes on: add --report", true],
  [
    ["plan", "--comment"],
    "--comment posts on the pull request a Bitbucket Pipelines build runs for, and needs BITBUCKET_PR_ID (unset) and BITBUCKET_REPO_FULL_NAME (unset): run it in a pull-requests pipeline (examples/pipelines/bitbucket-pipelines.yml), or name the pull request with --repository workspace/repository --pull-request ID",
    false,
  ],
  [["plan", "--out", "."], "--out .: is a directory; name a file, e.g. --out plan.md", false],
  [["export"], "--workspace is required: the workspace slug, e.g. --workspace acme", true],
  [["export", "--workspace", "acme", "-o"], "-o (--output) needs a value", true],
  [["export", "--workspace", "acme", "extra"], 'unexpected "extra"', true],
  [
    ["export", "--workspace", "acme", "-o", "nodir/x.yaml"],
    '-o nodir/x.yaml: there is no directory "nodir"; name a file in an existing directory',
    false,
  ],
  [
    ["export", "--workspace", "acme", "-o", "."],
    "-o .: is a directory; name a file, e.g. -o bitbucket.yaml",
    false,
  ],
  [["audit"], "--workspace is required: the workspace slug, e.g. --workspace acme", true],
  [
    ["audit", "--workspace", "acme", "--format", "html"],
    '--format must be one of text, markdown, json, sarif, not "html"',
    true,
  ],
  [
    ["audit", "--project", "PROJ"],
    "--project is for Data Center (bitbucket:flavor / BITBUCKET_FLAVOR is cloud): give --workspace",
    true,
  ],
];

const DATACENTER: Case[] = [
  [["audit"], "--project is required on Data Center: a project key, e.g. --project PROJ", true],
  [["export"], "--project is required on Data Center: a project key, e.g. --project PROJ", true],
  [
    ["export", "--workspace", "acme"],
    "--workspace is for Bitbucket Cloud (bitbucket:flavor / BITBUCKET_FLAVOR is datacenter): give --project",
    true,
  ],
];

describe("a usage error in any command", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": MANIFEST });

  before(async () => {
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
  });
  after(async () => {
    await emu.close();
  });
  afterEach(() => restore());

  const check = async ([args, message, help]: Case) => {
    const r = await run(args, dir);
    const said = `bitbucket-iac ${args.join(" ")}`;
    assert.equal(r.code, 64, `${said}: ${r.err}`);
    const [command] = args;
    assert.equal(r.err.split("\n")[0], `bitbucket-iac ${command}: ${message}`, said);
    if (help) assert.match(r.err, new RegExp(`\\n\\nusage: bitbucket-iac ${command} `), said);
    else assert.equal(r.err, `bitbucket-iac ${command}: ${message}`, said);
    assert.equal(r.out, "", said);
  };

  it("exits 64 with its message on Cloud: an unknown option, a missing option or value, a wrong value", async () => {
    restore = useEmulator(emu, { BITBUCKET_PR_ID: "", BITBUCKET_REPO_FULL_NAME: "" });
    delete process.env.BITBUCKET_PR_ID;
    delete process.env.BITBUCKET_REPO_FULL_NAME;
    emu.resetLog();
    for (const c of CLOUD) await check(c);
    assert.deepEqual(emu.log(), [], "refused before any request");
  });

  it("exits 64 with its message on Data Center: a missing --project, a Cloud workspace given", async () => {
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    emu.resetLog();
    for (const c of DATACENTER) await check(c);
    assert.deepEqual(emu.log(), [], "refused before any request");
  });

  it("is not what an export that finds nothing gets: it writes a manifest with no entry and says so", async () => {
    restore = useEmulator(emu);
    const r = await run(["export", "--workspace", "acme", "--repositories", "zz*", "-o", "none.yaml"], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "bitbucket-iac export: nothing found; a manifest with no entry written to none.yaml");
  });

  it("exits 64 with the tool's help for no command or an unknown one", async () => {
    restore = () => undefined;
    const none = await run([], dir);
    assert.equal(none.code, 64);
    assert.match(none.err, /^bitbucket-iac: Bitbucket integration setup as code/);
    const lint = await run(["lint"], dir);
    assert.equal(lint.code, 64);
    assert.match(lint.err, /^bitbucket-iac: unknown command "lint"\n\nbitbucket-iac: /);
    assert.match(lint.err, /\nEvery command exits 64 on a usage error/);
  });

  it("is the process's exit status, and every command's help says it", async () => {
    restore = () => undefined;
    const cli = path.join(ROOT, "dist/provider/cli/main.js");
    const r = spawnSync(process.execPath, [cli, "plan", "--strict"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 64, r.stderr);
    assert.match(r.stderr, /^bitbucket-iac plan: unknown option --strict\n/);
    for (const command of ["validate", "plan", "export", "audit"]) {
      const help = (await run([command, "--help"], dir)).out;
      assert.match(help, /\nexit status: [^]*\b64 usage/, command);
      assert.doesNotMatch(help, /\b2 usage|usage or run error/, command);
    }
  });
});
