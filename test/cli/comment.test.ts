import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "yaml";
import { startEmulator, type Emulator } from "../emulator/server";
import { CLOUD_SPEC, Contract, requireSpec } from "../contract/openapi";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { REPORT_KEY, reportKey } from "../../provider/cli/insights";
import { COMMENT_MARKER, commentMarker } from "../../provider/cli/report";
import { byHand, run, useEmulator, workdir } from "./run";

const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
`;

describe("bitbucket-iac plan --comment", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": MANIFEST });

  beforeEach(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "infra"] },
      pullRequests: { "acme/infra": [7] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu, { BITBUCKET_PR_ID: "7", BITBUCKET_REPO_FULL_NAME: "acme/infra" });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  const comments = () => emu.store.workspaces.get("acme")!.repos.get("infra")!.pullRequests.get(7)!.comments;

  it("posts the Markdown plan once, then edits that same comment on each push", async () => {
    // Someone else's comment is left alone.
    await byHand(emu, "POST", "/repositories/acme/infra/pullrequests/7/comments", {
      content: { raw: "LGTM" },
    });
    const first = await run(["plan", "--comment"], dir);
    assert.equal(first.code, 2);
    assert.match(first.err, /bitbucket-iac plan: created comment \d+ on pull request #7 of acme\/infra/);
    assert.equal(comments().length, 2);
    assert.match(comments()[1]!.raw, /^<!-- bitbucket-iac plan -->\n### bitbucket-iac plan: 1 change\n/);
    assert.match(
      comments()[1]!.raw,
      /- \*\*create\*\* webhook https:\/\/hooks\.example\.test\/ci on acme\/api/,
    );

    // The next push: the hook now exists as declared; the same comment says so.
    await byHand(emu, "POST", "/repositories/acme/api/hooks", {
      url: "https://hooks.example.test/ci",
      events: ["repo:push"],
    });
    emu.resetLog();
    const second = await run(["plan", "--comment"], dir);
    assert.equal(second.code, 0);
    assert.match(second.err, new RegExp(`updated comment ${comments()[1]!.id} on pull request #7`));
    assert.equal(comments().length, 2);
    assert.equal(comments()[0]!.raw, "LGTM");
    assert.match(comments()[1]!.raw, /### bitbucket-iac plan: no changes\n/);
    assert.deepEqual(
      emu.log().filter((l) => l.includes("pullrequests")),
      [
        "GET /2.0/repositories/acme/infra/pullrequests/7/comments",
        `PUT /2.0/repositories/acme/infra/pullrequests/7/comments/${comments()[1]!.id}`,
      ],
    );
  });

  it("refuses outside a pull-request pipeline before reading anything, and says why", async () => {
    delete process.env.BITBUCKET_PR_ID;
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 64);
    assert.match(
      r.err,
      /--comment posts on the pull request a Bitbucket Pipelines build runs for, and needs BITBUCKET_PR_ID \(unset\)/,
    );
    assert.deepEqual(emu.log(), []);
  });

  it("names the pull request when Bitbucket refuses the comment", async () => {
    process.env.BITBUCKET_PR_ID = "8";
    const r = await run(["plan", "--comment"], dir);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /post the plan comment on pull request #8 of acme\/infra: GET \/repositories\/acme\/infra\/pullrequests\/8\/comments.* failed \(404\): Pull request 8 does not exist/,
    );
  });

  it("sends and gets only what Atlassian's spec allows on the comment routes (contract)", async function () {
    requireSpec(this, CLOUD_SPEC);
    const contract = new Contract();
    await run(["plan", "--comment"], dir);
    await run(["plan", "--comment"], dir);
    const prPath = "/repositories/acme/infra/pullrequests/7/comments";
    await byHand(emu, "GET", `${prPath}/${comments()[0]!.id}`);
    await byHand(emu, "GET", `${prPath}/999`).catch(() => undefined);
    const exchanges = emu.entries().filter((e) => e.path.includes("/pullrequests/"));
    assert.deepEqual([...new Set(exchanges.map((e) => `${e.method} ${e.status}`))].sort(), [
      "GET 200",
      "GET 404",
      "POST 201",
      "PUT 200",
    ]);
    assert.deepEqual(
      exchanges.flatMap((e) => contract.check(e)),
      [],
    );
  });
});

describe("examples/pipelines/bitbucket-pipelines.yml", () => {
  const file = path.resolve(__dirname, "../../examples/pipelines/bitbucket-pipelines.yml");
  const doc = yaml.parse(fs.readFileSync(file, "utf8")) as {
    definitions: { steps: Array<{ step: { script: string[] } }> };
    pipelines: {
      "pull-requests": Record<string, Array<{ step: { script: string[] } }>>;
      branches: Record<string, Array<{ step: { script: string[] } }>>;
    };
  };

  it("validates and plans with --comment on every pull request, and runs pulumi up on main", () => {
    const pr = doc.pipelines["pull-requests"]["**"]![0]!.step.script;
    assert.deepEqual(pr, doc.definitions.steps[0]!.step.script, "the pull-request step is the plan step");
    assert.ok(pr.some((l) => l.includes("bitbucket-iac validate bitbucket.yaml")));
    assert.ok(
      pr.some((l) => /bitbucket-iac plan bitbucket\.yaml --comment .*\|\| \[ \$\? -eq 2 \]$/.test(l)),
    );
    const step = doc.definitions.steps[0]!.step as { artifacts?: string[] };
    assert.deepEqual(step.artifacts, ["plan.md"], "the whole plan (--out plan.md) is kept with the build");
    assert.ok(pr.some((l) => l.includes("--out plan.md")));
    const main = doc.pipelines.branches.main![0]!.step.script;
    assert.ok(main.includes("pulumi up --yes --parallel 64"), "up bounded as README's large stacks say");
  });

  it("uses only commands and options the CLI has", async () => {
    const scripts = [...doc.definitions.steps, ...doc.pipelines.branches.main!].flatMap((s) => s.step.script);
    const calls = scripts.flatMap((l) => [...l.matchAll(/bitbucket-iac (\w+)([^|;&]*)/g)]);
    assert.deepEqual(
      calls.map(([, command, rest]) => `${command}${rest!.match(/ --[a-z]+/g)?.join("") ?? ""}`),
      ["validate", "plan --comment --report --out --stats", "validate"],
      "the pipeline's bitbucket-iac calls: validate and plan on a pull request, validate on main",
    );
    for (const [, command, rest] of calls) {
      const help = (await run([command!, "--help"], ".")).out;
      assert.match(help, new RegExp(`^usage: bitbucket-iac ${command}`));
      for (const option of rest!.match(/--[a-z]+/g) ?? [])
        assert.ok(help.includes(option), `${command} has no ${option}`);
    }
  });
});

describe("examples/shards/bitbucket-pipelines.yml: one stack per shard, in parallel steps", () => {
  const dir = path.resolve(__dirname, "../../examples/shards");
  interface Step {
    step: { name: string; script: string[]; deployment?: string; artifacts?: string[] };
  }
  const doc = yaml.parse(fs.readFileSync(path.join(dir, "bitbucket-pipelines.yml"), "utf8")) as {
    pipelines: {
      "pull-requests": Record<string, Array<Step & { parallel?: { steps: Step[] } }>>;
      branches: Record<string, Array<Step & { parallel?: { steps: Step[] } }>>;
    };
  };
  const parallel = (steps: Array<{ parallel?: { steps: Step[] } }>) =>
    steps.flatMap((s) => s.parallel?.steps ?? []).map((s) => s.step);
  const shards = async () => {
    const r = await run(["validate", "bitbucket.yaml", "--shards"], dir);
    assert.equal(r.code, 0, r.err);
    return r.out.split("\n");
  };

  it("plans each of the manifest's shards in its own parallel step, with a token named for it", async () => {
    const pr = doc.pipelines["pull-requests"]["**"]!;
    assert.ok(pr[0]!.step.script.includes("npx bitbucket-iac validate bitbucket.yaml --shards"));
    const steps = parallel(pr);
    const only = steps.map(
      (s) => /bitbucket-iac plan bitbucket\.yaml --only (\S+) /.exec(s.script.join("\n"))?.[1],
    );
    assert.deepEqual(only, await shards(), "one plan step per shard of the manifest, each shard once");
    const tokens = steps.map(
      (s) => /^export BITBUCKET_TOKEN="\$(BITBUCKET_TOKEN_[A-Z_]+)"$/m.exec(s.script.join("\n"))?.[1],
    );
    assert.deepEqual(tokens, [
      "BITBUCKET_TOKEN_ACME",
      "BITBUCKET_TOKEN_ACME_DATA",
      "BITBUCKET_TOKEN_ACCOUNT",
    ]);
    const stacks = steps.map((s) => /pulumi stack export --stack (\S+) /.exec(s.script.join("\n"))?.[1]);
    assert.equal(new Set(stacks).size, steps.length, "each plan reads its own stack's state");
    assert.deepEqual(
      steps.map((s) => s.artifacts),
      only.map((o) => [`plan-${o!.replace(/^workspace=/, "")}.md`]),
      "each shard's whole plan is kept under its own name",
    );
  });

  it("posts each shard's plan as its own comment and Code Insights report, and keeps each plan as an artifact", async () => {
    const steps = parallel(doc.pipelines["pull-requests"]["**"]!);
    const names = await shards();
    for (const s of steps) {
      const line = s.script.find((l) => l.includes("bitbucket-iac plan"))!;
      assert.match(line, / --only \S+ --comment --report --out (\S+) .*\|\| \[ \$\? -eq 2 \]$/);
      const out = / --out (\S+) /.exec(line)![1]!;
      assert.deepEqual(s.artifacts, [out], "the whole plan is still the step's artifact");
    }
    const markers = names.map((n) => commentMarker(n));
    const keys = names.map((n) => reportKey(n));
    assert.equal(new Set([...markers, COMMENT_MARKER]).size, names.length + 1, "a comment per shard");
    assert.equal(new Set([...keys, REPORT_KEY]).size, names.length + 1, "a report per shard");
    const header = fs.readFileSync(path.join(dir, "bitbucket-pipelines.yml"), "utf8");
    assert.ok(
      header.includes(reportKey("workspace=acme")),
      "the report key the header names is the one published",
    );
  });

  it("runs pulumi up per shard on main: its own deployment (credentials), stack and stack config only", async () => {
    const steps = parallel(doc.pipelines.branches.main!);
    const only = steps.map((s) => /^pulumi config set only (\S+)$/m.exec(s.script.join("\n"))?.[1]);
    assert.deepEqual(only, await shards());
    for (const s of steps) {
      const script = s.script.join("\n");
      assert.match(
        script,
        /pulumi stack select \S+\npulumi config set only \S+\npulumi up --yes --parallel 64$/,
      );
    }
    const distinct = (xs: unknown[]) => new Set(xs).size === steps.length;
    assert.ok(
      distinct(steps.map((s) => s.deployment)),
      "a deployment environment (its BITBUCKET_TOKEN) per shard",
    );
    assert.ok(
      distinct(steps.map((s) => /pulumi stack select (\S+)/.exec(s.script.join("\n"))?.[1])),
      "a stack per shard",
    );
  });

  it("uses only commands and options the CLI has", async () => {
    const pr = doc.pipelines["pull-requests"]["**"]!;
    const scripts = [...pr, ...doc.pipelines.branches.main!]
      .flatMap((s) => [s.step, ...(s.parallel?.steps ?? []).map((x) => x.step)])
      .filter((s) => s !== undefined)
      .flatMap((s) => s.script);
    const calls = scripts.flatMap((l) => [...l.matchAll(/bitbucket-iac (\w+)([^|;&]*)/g)]);
    assert.ok(calls.length >= 5);
    for (const [, command, rest] of calls) {
      const help = (await run([command!, "--help"], ".")).out;
      assert.match(help, new RegExp(`^usage: bitbucket-iac ${command}`));
      for (const option of rest!.match(/--[a-z]+/g) ?? [])
        assert.ok(help.includes(option), `${command} has no ${option}`);
    }
  });
});
