// `bitbucket-iac audit` on Bitbucket Cloud, against the emulator's hostile workspace
// (test/emulator/hostile.ts): each rule finds exactly its objects, the clean ones are not found,
// the exit status, every format, what Cloud cannot audit, a 403 said, and the requests it costs.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import MarkdownIt from "markdown-it";
import * as path from "path";
import { keyShown } from "../../provider/ssh";
import { HOSTILE_WORKSPACE, seedHostile, type HostileKeys } from "../emulator/hostile";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { CLEAN, cloudPairs, ORG_POLICY, pairsOf, type AuditJson } from "./audit-fixture";
import { checkSarif } from "./audit-sarif";
import { run, useEmulator, workdir } from "./run";

describe("bitbucket-iac audit on Bitbucket Cloud", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let keys: HostileKeys;
  let restore: () => void;
  let dir: string;

  before(async () => {
    emu = await startEmulator({ tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    keys = seedHostile(emu.store);
    restore = useEmulator(emu);
    dir = workdir({
      "org.yaml": ORG_POLICY,
      // A manifest's policy replaces the default's rules (a policy file could only add to them).
      "quiet.yaml": `version: 1\nworkspace: ${HOSTILE_WORKSPACE}\npolicy:\n  pipelineVariables:\n    securedWhenKeyMatches: { enforcement: "off" }\n`,
    });
  });
  afterEach(() => emu.clearFaults());
  after(async () => {
    restore();
    await emu.close();
  });

  const audit = (...args: string[]) => run(["audit", "--workspace", HOSTILE_WORKSPACE, ...args], dir);
  const json = async (...args: string[]) => {
    const r = await audit(...args, "--format", "json");
    return { ...r, report: JSON.parse(r.out) as AuditJson };
  };

  it("finds each rule's objects on the hostile workspace, exactly, and none of the clean ones", async () => {
    const { code, report } = await json("--policy", "org.yaml");
    assert.equal(code, 3);
    assert.deepEqual(pairsOf(report), cloudPairs(keys));
    for (const clean of CLEAN)
      assert.ok(!report.findings.some((f) => f.object.includes(clean)), `${clean} is not found`);
    // The clean objects were read: every object of the workspace is counted.
    assert.deepEqual(report.summary.byKind, {
      webhooks: 6,
      deployKeys: 4,
      sshKeys: 1,
      pipelineVariables: 5,
      pipelineSshKeyPairs: 1,
    });
    assert.equal(report.summary.repositories, 3);
    assert.equal(report.summary.errors, 11);
  });

  it("judges with the default policy when none is given: an http hook is an error, a credential in clear a warning", async () => {
    const { code, report } = await json();
    assert.equal(code, 3);
    assert.deepEqual(report.policy, ["default policy"]);
    assert.deepEqual(
      report.findings.map((f) => `${f.level} ${f.rule} ${f.object}`),
      [
        "error webhooks.https webhook http://hooks.example.test/plain on hostile/api",
        "warn pipelineVariables.securedWhenKeyMatches variable AWS_SECRET_ACCESS_KEY on hostile/api",
        "warn pipelineVariables.securedWhenKeyMatches variable DEPLOY_TOKEN on hostile/web (Production)",
        "warn pipelineVariables.securedWhenKeyMatches variable ORG_PASSWORD on workspace hostile",
      ],
    );
  });

  it("applies the manifest's policy: with its workspace, over the default policy", async () => {
    const m = workdir({
      "bitbucket.yaml": `version: 1\nworkspace: ${HOSTILE_WORKSPACE}\npolicy:\n  webhooks:\n    https: { enforcement: warn }\n`,
    });
    const r = await run(["audit", "--manifest", "bitbucket.yaml", "--format", "json"], m);
    const report = JSON.parse(r.out) as AuditJson;
    assert.equal(r.code, 0, "warnings only");
    assert.deepEqual(report.policy, ["policy of bitbucket.yaml"]);
    assert.deepEqual(
      report.findings.map((f) => `${f.level} ${f.rule}`),
      ["warn webhooks.https", ...Array(3).fill("warn pipelineVariables.securedWhenKeyMatches")],
    );
  });

  it("exits 0 when only warnings are found, and 0 with no finding at all", async () => {
    const warned = await audit("--repositories", "web");
    assert.equal(warned.code, 0, warned.out);
    assert.match(
      warned.out,
      /^Findings: 2 warnings \(pipelineVariables\.securedWhenKeyMatches: 2 warnings\)\.$/m,
    );
    const clean = await run(["audit", "--manifest", "quiet.yaml", "--repositories", "tools"], dir);
    assert.equal(clean.code, 0, clean.out);
    assert.match(clean.out, /^Findings: no findings\.$/m);
    assert.doesNotMatch(clean.out, /^[x!] /m, "no object listed");
  });

  it("prints each object with its findings, how to fix them, and the entry that would manage it (text)", async () => {
    const r = await audit("--policy", "org.yaml", "--repositories", "api");
    const lines = r.out.split("\n");
    assert.match(
      lines[0]!,
      /^bitbucket-iac audit: workspace hostile \(1 repository\) on Bitbucket Cloud at http:\/\/127\.0\.0\.1:\d+\/2\.0; policy: default policy \+ policy file org\.yaml$/,
    );
    const at = lines.indexOf("x webhook http://hooks.example.test/plain on hostile/api");
    assert.ok(at > 0, r.out);
    assert.deepEqual(lines.slice(at, at + 3), [
      "x webhook http://hooks.example.test/plain on hostile/api",
      "    error webhooks.https: the URL is not https: payloads travel in plain text; use an https URL [default policy]",
      "    managed by: { webhooks: [ { repositories: [ api ], url: http://hooks.example.test/plain, events: [ repo:push ], allowHttp: true, secret: { fromConfig: webhook-secret-api-http-hooks-example-test-plain--" +
        lines[at + 2]!.replace(/.*plain--([0-9a-f]{6}).*/, "$1") +
        " }, adopt: true } ] }",
    ]);
    const variable = lines.indexOf("x variable AWS_SECRET_ACCESS_KEY on hostile/api");
    assert.deepEqual(lines.slice(variable + 2, variable + 4), [
      "    managed by: { pipelineVariables: [ { repositories: [ api ], key: AWS_SECRET_ACCESS_KEY, value: { fromConfig: variable-api-AWS_SECRET_ACCESS_KEY }, adopt: true } ] }",
      "    note: its value is in clear in Bitbucket: the entry secures it (set the reference to a new value)",
    ]);
    assert.doesNotMatch(r.out, /wJalrXUtnFEMI/, "a value in clear is never copied into the report");
    assert.ok(lines.includes(`x deploy key ${keyShown(keys.weakRsa.publicLine)} "legacy" on hostile/api`));
    assert.match(
      r.out,
      /^Read: 3 webhooks, 1 deployKeys, 1 sshKeys, 2 pipelineVariables, 0 pipelineSshKeyPairs\.$/m,
    );
  });

  it("says plainly that Cloud has no API to list access tokens or OAuth consumers", async () => {
    const r = await audit();
    assert.match(
      r.out,
      /^Not audited on Bitbucket Cloud: accessTokens: Bitbucket Cloud has no API that lists repository, project or workspace access tokens: review them in each one's settings \(Access tokens\)\.$/m,
    );
    assert.match(
      r.out,
      /^Not audited on Bitbucket Cloud: oauthConsumers: Bitbucket Cloud has no API that lists OAuth consumers: review their permissions in the workspace settings \(OAuth consumers\)\.$/m,
    );
    const { report } = await json();
    assert.deepEqual(
      report.notAudited.map((n) => n.kind),
      ["accessTokens", "oauthConsumers"],
    );
  });

  it("writes Markdown: a heading with the totals, the rules, one list item per object with its findings", async () => {
    const r = await audit("--policy", "org.yaml", "--format", "markdown");
    const md = new MarkdownIt("commonmark");
    const tokens = md.parse(r.out, {});
    assert.ok(r.out.startsWith("<!-- bitbucket-iac audit -->\n### bitbucket-iac audit: 11 errors\n"), r.out);
    const headings = tokens.filter(
      (t) => t.type === "inline" && tokens[tokens.indexOf(t) - 1]?.type === "heading_open",
    );
    assert.deepEqual(
      headings.map((t) => t.content),
      ["bitbucket-iac audit: 11 errors", "Findings (10 objects)"],
    );
    // Top-level items of the findings list: one per object; each has its findings as sub-items.
    const html = md.render(r.out);
    assert.equal(
      (html.match(/<li>webhook http:\/\/hooks\.example\.test\/plain on hostile\/api/g) ?? []).length,
      1,
    );
    assert.match(
      html,
      /<li><strong>error<\/strong> <code>webhooks\.events<\/code>: event repo:fork is not allowed; remove it \[policy file org\.yaml\]<\/li>/,
    );
    assert.match(
      html,
      /<li>managed by: <code>\{ webhooks: \[ \{ repositories: \[ web \], url: https:\/\/collector\.evil\.test\/x/,
    );
    assert.match(
      html,
      /<strong>Not audited on Bitbucket Cloud:<\/strong><\/p>\n<ul>\n<li><code>accessTokens<\/code>/,
    );
    assert.doesNotMatch(html, /<a |<img /);
  });

  it("writes JSON with its format version, the summary by rule and kind, and each finding with its entry", async () => {
    const { report } = await json("--policy", "org.yaml");
    assert.equal(report.formatVersion, 1);
    assert.equal(report.flavor, "cloud");
    assert.equal(report.target, "workspace hostile");
    assert.deepEqual(report.summary.byRule["pipelineVariables.securedWhenKeyMatches"], { error: 3, warn: 0 });
    const unsigned = report.findings.find((f) => f.rule === "webhooks.secretRequired")!;
    assert.deepEqual(unsigned, {
      object: "webhook https://hooks.example.test/unsigned on hostile/api",
      kind: "webhooks",
      rule: "webhooks.secretRequired",
      level: "error",
      field: "secret",
      message:
        "the hook has no secret: deliveries are not signed and the receiver cannot tell them from forgeries; give it a secret (secret: { generate: true }, or a reference)",
      source: "policy file org.yaml",
      entry: {
        webhooks: [
          {
            repositories: ["api"],
            url: "https://hooks.example.test/unsigned",
            events: ["repo:push"],
            adopt: true,
          },
        ],
      },
    });
    assert.ok(report.configKeys.some((k) => k.key === "variable-api-AWS_SECRET_ACCESS_KEY"));
  });

  it("writes SARIF 2.1.0: one run, every rule with its help, a result per finding at a logical location", async () => {
    const r = await audit("--policy", "org.yaml", "--format", "sarif");
    const pairs = checkSarif(r.out);
    assert.deepEqual(pairs, cloudPairs(keys));
  });

  it("checks SARIF against the 2.1.0 schema: a result of an unknown level is refused", async () => {
    const log = JSON.parse((await audit("--policy", "org.yaml", "--format", "sarif")).out) as {
      runs: Array<{ results: Array<{ level: string }> }>;
    };
    log.runs[0]!.results[0]!.level = "fatal";
    assert.throws(() => checkSarif(JSON.stringify(log)), /not valid SARIF 2\.1\.0: [\s\S]*"allowedValues"/);
  });

  it("writes the report to --out in the format its name says, beside the one printed", async () => {
    const r = await audit("--policy", "org.yaml", "--out", "audit.sarif");
    assert.equal(r.code, 3);
    assert.match(r.out, /^x webhook/m, "text on standard output");
    assert.deepEqual(checkSarif(fs.readFileSync(path.join(dir, "audit.sarif"), "utf8")), cloudPairs(keys));
    assert.match(r.err, /^bitbucket-iac audit: the report written to audit\.sarif$/m);
  });

  it("says a 403 on the workspace's own hooks and variables, and audits the rest", async () => {
    emu.fault({ path: "/2.0/workspaces/hostile/hooks", status: 403 });
    emu.fault({ path: "/2.0/workspaces/hostile/pipelines-config/variables", status: 403 });
    const { code, report } = await json("--policy", "org.yaml");
    assert.equal(code, 3);
    assert.deepEqual(report.notes, [
      "workspace webhooks of hostile: not readable with these credentials (403); not audited",
      "workspace variables of hostile: not readable with these credentials (403); not audited",
    ]);
    assert.deepEqual(
      pairsOf(report),
      cloudPairs(keys).filter((p) => !p.includes("ORG_PASSWORD")),
    );
    const text = await audit();
    assert.doesNotMatch(text.out, /^Not read:/m, "the faults were used up: nothing left unread");
  });

  it("reads each repository with 8 requests, and the workspace and account with a fixed few (API economy)", async () => {
    emu.resetLog();
    const r = await audit("--policy", "org.yaml");
    assert.equal(r.code, 3);
    const log = emu.log();
    assert.ok(
      log.every((l) => l.startsWith("GET ")),
      "audit only reads",
    );
    const perRepo = (repo: string) => log.filter((l) => l.includes(`/repositories/hostile/${repo}/`));
    for (const repo of ["api", "web", "tools"]) {
      const envs = emu.store.workspaces.get("hostile")!.repos.get(repo)!.environments;
      assert.deepEqual(
        perRepo(repo).sort(),
        [
          ...envs.map(
            (e) =>
              `GET /2.0/repositories/hostile/${repo}/deployments_config/environments/${encodeURIComponent(e.uuid)}/variables`,
          ),
          `GET /2.0/repositories/hostile/${repo}/deploy-keys`,
          `GET /2.0/repositories/hostile/${repo}/environments`,
          `GET /2.0/repositories/hostile/${repo}/hooks`,
          `GET /2.0/repositories/hostile/${repo}/pipelines_config/ssh/key_pair`,
          `GET /2.0/repositories/hostile/${repo}/pipelines_config/variables`,
        ].sort(),
        repo,
      );
    }
    assert.deepEqual(
      log.filter((l) => !/\/repositories\/hostile\/[^/]+\//.test(l)).sort(),
      [
        "GET /2.0/repositories/hostile",
        "GET /2.0/user",
        `GET /2.0/users/${encodeURIComponent(emu.store.account("557058:0d4c1b5e-me")!.uuid)}/ssh-keys`,
        "GET /2.0/workspaces/hostile/hooks",
        "GET /2.0/workspaces/hostile/pipelines-config/variables",
        "GET /2.0/workspaces/hostile/projects/TOOLS/deploy-keys",
      ].sort(),
    );
    assert.equal(log.length, 3 * 8 + 6);
  });

  it("waits out a 429 as every command does, and shows progress on stderr for a long read", async () => {
    emu.resetLog();
    emu.fault({ path: "/2.0/repositories/hostile/api/hooks", status: 429, headers: { "Retry-After": "0" } });
    const { code, report } = await json("--policy", "org.yaml");
    assert.equal(code, 3);
    assert.deepEqual(pairsOf(report), cloudPairs(keys));
    assert.equal(emu.log().filter((l) => l === "GET /2.0/repositories/hostile/api/hooks").length, 2);
    for (let i = 0; i < 22; i++) emu.store.addRepo("many", `r${i}`);
    const many = await run(["audit", "--workspace", "many"], dir);
    assert.equal(many.code, 0, many.err);
    assert.match(many.err, /^audit: repositories read: 3\/22$/m);
    assert.match(many.err, /^audit: repositories read: 22\/22$/m);
  });

  it("refuses a command line it cannot run, before any request", async () => {
    emu.resetLog();
    const cases: Array<[string[], RegExp]> = [
      [
        ["audit"],
        /^bitbucket-iac audit: --workspace is required: the workspace slug, e\.g\. --workspace acme\n\nusage: bitbucket-iac audit/,
      ],
      [
        ["audit", "--project", "PROJ"],
        /^bitbucket-iac audit: --project is for Data Center \(bitbucket:flavor \/ BITBUCKET_FLAVOR is cloud\): give --workspace/,
      ],
      [
        ["audit", "--workspace", "w", "--format", "xml"],
        /^bitbucket-iac audit: --format must be one of text, markdown, json, sarif, not "xml"/,
      ],
      [
        ["audit", "--workspace", "w", "--repositories", "*a".repeat(21)],
        /^bitbucket-iac audit: --repositories: the glob has 21 wildcards/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args, dir);
      assert.equal(r.code, 64, args.join(" "));
      assert.match(r.err, message);
    }
    assert.deepEqual(emu.log(), []);
  });

  it("fails with 1 and Bitbucket's words on a workspace that does not exist", async () => {
    const r = await run(["audit", "--workspace", "nowhere"], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /^bitbucket-iac audit: GET \/repositories\/nowhere failed \(404\)/);
  });
});
