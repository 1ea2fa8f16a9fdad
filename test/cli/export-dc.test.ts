// `bitbucket-iac export` on Bitbucket Data Center (issue 24): a project's and its repositories'
// webhooks and access keys (with their permissions) and the user's SSH keys, written as a
// `flavor: datacenter` manifest whose every entry says `adopt: true`; a webhook secret becomes a
// `{ fromConfig }` reference; access tokens are said, not written (their value is shown once);
// `plan` on the result reports no changes; and the flags of one flavor refused on the other.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "yaml";
import { DC_SPEC, dataCenterContract, requireSpec } from "../contract/openapi";
import { startEmulator, type Emulator } from "../emulator/server";
import { TOKEN } from "../harness/fixture";
import { ed25519, type TestKey } from "../keys";
import { run, useEmulator, workdir } from "./run";

const DAY = 86_400_000;

describe("bitbucket-iac export on Bitbucket Data Center", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const keys: Record<"project" | "clone" | "deployer" | "laptop" | "bot", TestKey> = {
    project: ed25519("deploy@example.test"),
    clone: ed25519("ci@example.test"),
    deployer: ed25519("deployer@example.test"),
    laptop: ed25519("me@laptop"),
    bot: ed25519("ci-bot@example.test"),
  };

  /** PROJ (api, web, tools) and OPS (infra), each object made by hand; a token on three owners. */
  before(async () => {
    emu = await startEmulator({
      tokens: { [TOKEN]: { scopes: [] } },
      dc: { projects: { PROJ: ["api", "web", "tools"], OPS: ["infra"] }, users: ["ci-bot"] },
    });
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    const dc = emu.store.dc;
    dc.addHook("PROJ", undefined, {
      url: "https://ci.example.test/bitbucket",
      name: "Team CI",
      events: ["repo:refs_changed", "pr:opened"],
      configuration: { secret: "project-s3cret" },
    });
    for (const repo of ["api", "web"])
      dc.addHook("PROJ", repo, {
        url: "https://jenkins.example.test/bitbucket-hook/",
        name: "Jenkins",
        events: ["repo:refs_changed"],
      });
    dc.addHook("PROJ", "tools", {
      url: "http://builds.example.test/notify",
      name: "Builds",
      active: false,
      sslVerificationRequired: false,
      events: ["pr:merged", "repo:refs_changed"],
      configuration: { secret: "tools-s3cret" },
    });
    dc.addAccessKey("PROJ", undefined, keys.project.publicLine, "PROJECT_READ", "deploy host");
    dc.addAccessKey("PROJ", "api", keys.clone.publicLine, "REPO_READ", "ci clone");
    dc.addAccessKey("PROJ", "tools", keys.clone.publicLine, "REPO_READ", "ci clone");
    dc.addAccessKey("PROJ", "web", keys.deployer.publicLine, "REPO_WRITE", "deployer");
    dc.addAccessKey("PROJ", "api", keys.deployer.publicLine, "REPO_READ", "deployer");
    dc.addUserKey("me", keys.laptop.publicLine, "laptop");
    dc.addUserKey("ci-bot", keys.bot.publicLine, "ci-bot clone");
    dc.addHook("OPS", "infra", { url: "https://ops.example.test/hook", name: "Ops" });
    const token = (name: string, permissions: string[]) => ({
      id: dc.newToken().id,
      name,
      permissions,
      createdDate: Date.now() - DAY,
      expiryDays: 90,
    });
    dc.projects
      .get("PROJ")!
      .repos.get("api")!
      .tokens.push(token("release-job", ["REPO_READ"]));
    dc.projects
      .get("PROJ")!
      .tokens.push(token("nightly", ["PROJECT_READ"]), token("audit", ["PROJECT_READ"]));
    dc.users.get("me")!.tokens.push(token("laptop", ["REPO_WRITE"]));
  });
  afterEach(() => emu.clearFaults());
  after(async () => {
    restore();
    await emu.close();
  });

  const NOT_EXPORTED =
    "a token's value is shown only when it is made; declare new ones under accessTokens: (adopting one by its name revokes it and makes a new one)";

  it("writes each webhook, access key (with its permission) and SSH key as an adopt: true entry, and plans to no changes", async () => {
    const dir = workdir({});
    emu.resetLog();
    const exported = await run(["export", "--project", "PROJ", "-o", "exported.yaml"], dir);
    assert.equal(exported.code, 0, exported.err);
    // Each repository: its webhooks, access keys and tokens; the project: its repositories and
    // the same three; the user: who the credentials are (header, then search), tokens, SSH keys.
    const sorted = (l: string[]) => [...l].sort();
    assert.deepEqual(
      sorted(emu.log()),
      sorted([
        "GET /rest/api/latest/projects/PROJ/repos",
        ...["api", "tools", "web"].flatMap((r) => [
          `GET /rest/api/latest/projects/PROJ/repos/${r}/webhooks`,
          `GET /rest/keys/latest/projects/PROJ/repos/${r}/ssh`,
          `GET /rest/access-tokens/latest/projects/PROJ/repos/${r}`,
        ]),
        "GET /rest/api/latest/projects/PROJ/webhooks",
        "GET /rest/keys/latest/projects/PROJ/ssh",
        "GET /rest/access-tokens/latest/projects/PROJ",
        "GET /rest/ssh/latest/keys",
        "GET /rest/api/latest/projects/PROJ",
        "GET /rest/api/latest/users",
        "GET /rest/access-tokens/latest/users/me",
      ]),
    );
    const text = fs.readFileSync(path.join(dir, "exported.yaml"), "utf8");
    const m = yaml.parse(text) as Record<string, unknown>;
    const configKeys = [...exported.err.matchAll(/pulumi config set --secret (\S+)/g)].map((k) => k[1]!);
    const secretKey = (prefix: string) =>
      configKeys.find((k) => k.startsWith(prefix)) ?? assert.fail(`no config key ${prefix}...`);
    assert.deepEqual(m, {
      version: 1,
      flavor: "datacenter",
      webhooks: [
        {
          project: "PROJ",
          repositories: ["api", "web"],
          url: "https://jenkins.example.test/bitbucket-hook/",
          events: ["repo:refs_changed"],
          description: "Jenkins",
          adopt: true,
        },
        {
          project: "PROJ",
          repositories: ["tools"],
          url: "http://builds.example.test/notify",
          events: ["pr:merged", "repo:refs_changed"],
          description: "Builds",
          active: false,
          skipCertVerification: true,
          allowHttp: true,
          secret: { fromConfig: secretKey("webhook-secret-PROJ-tools-") },
          adopt: true,
        },
        {
          project: "PROJ",
          url: "https://ci.example.test/bitbucket",
          events: ["pr:opened", "repo:refs_changed"],
          description: "Team CI",
          secret: { fromConfig: secretKey("project-webhook-secret-PROJ-") },
          adopt: true,
        },
      ],
      deployKeys: [
        {
          project: "PROJ",
          repositories: ["api", "tools"],
          key: keys.clone.publicLine,
          label: "ci clone",
          permission: "REPO_READ",
          adopt: true,
        },
        {
          project: "PROJ",
          repositories: ["api"],
          key: keys.deployer.publicLine,
          label: "deployer",
          permission: "REPO_READ",
          adopt: true,
        },
        {
          project: "PROJ",
          repositories: ["web"],
          key: keys.deployer.publicLine,
          label: "deployer",
          permission: "REPO_WRITE",
          adopt: true,
        },
        {
          project: "PROJ",
          key: keys.project.publicLine,
          label: "deploy host",
          permission: "PROJECT_READ",
          adopt: true,
        },
      ],
      sshKeys: [{ key: keys.laptop.publicLine, label: "laptop", adopt: true }],
    });
    assert.match(
      text,
      /^ {2}- project: PROJ\n {4}repositories:\n {6}- api\n {6}- web\n {4}url: https:\/\/jenkins\.example\.test\/bitbucket-hook\/$/m,
      "an entry names its project first",
    );
    assert.doesNotMatch(text, /s3cret/, "no secret in the file");
    assert.match(
      exported.err,
      /^bitbucket-iac export: 4 webhooks, 5 deployKeys, 1 sshKeys written to exported\.yaml$/m,
    );
    // Tokens: said on stderr and in the file's header, with how many and where; none written.
    const tokens = [
      `1 access token of PROJ/api ("release-job"): ${NOT_EXPORTED}`,
      `2 access tokens of project PROJ ("nightly", "audit"): ${NOT_EXPORTED}`,
      `1 access token of user me ("laptop"): ${NOT_EXPORTED}`,
    ];
    assert.deepEqual(
      exported.err.split("\n").filter((l) => l.startsWith("  not exported: ")),
      tokens.map((t) => `  not exported: ${t}`),
    );
    assert.ok(text.includes(`# Not exported:\n${tokens.map((t) => `#   ${t}`).join("\n")}\n`), text);
    assert.doesNotMatch(text, /^accessTokens:/m);
    // The secrets to set, with what each holds, on stderr and in the header.
    assert.match(
      exported.err,
      /write-only values to set before pulumi up \(2\):\n {4}pulumi config set --secret webhook-secret-PROJ-tools-http-builds-example-test-notify--[0-9a-f]{6} <value> {3}# the secret of webhook http:\/\/builds\.example\.test\/notify on PROJ\/tools\n {4}pulumi config set --secret project-webhook-secret-PROJ-ci-example-test-bitbucket--[0-9a-f]{6} <value> {3}# the secret of webhook https:\/\/ci\.example\.test\/bitbucket on project PROJ$/m,
    );
    assert.match(text, /^# Exported by `bitbucket-iac export --project PROJ`\.$/m);
    assert.match(
      text,
      /^# {3}pulumi config set --secret project-webhook-secret-PROJ-ci-example-test-bitbucket--/m,
    );

    const valid = await run(["validate", "exported.yaml"], dir);
    assert.equal(valid.code, 0, valid.err);
    const planned = await run(["plan", "exported.yaml"], dir);
    assert.equal(planned.code, 0, planned.out);
    assert.match(
      planned.out,
      /^No changes\. Plan: 0 to create, 0 to update, 0 to delete, 0 to adopt with changes; 10 adopted as they are, 0 unchanged\.$/m,
    );
  });

  it("reads several projects (a comma list or repeated), only the repositories a glob names, and --user's keys", async () => {
    const dir = workdir({});
    emu.resetLog();
    const r = await run(
      ["export", "--project", "OPS,PROJ", "--repositories", "inf*", "--user", "ci-bot", "-o", "ops.yaml"],
      dir,
    );
    assert.equal(r.code, 0, r.err);
    const text = fs.readFileSync(path.join(dir, "ops.yaml"), "utf8");
    assert.deepEqual(yaml.parse(text), {
      version: 1,
      flavor: "datacenter",
      webhooks: [
        {
          project: "OPS",
          repositories: ["infra"],
          url: "https://ops.example.test/hook",
          events: ["repo:refs_changed"],
          description: "Ops",
          adopt: true,
        },
      ],
      sshKeys: [{ user: "ci-bot", key: keys.bot.publicLine, label: "ci-bot clone", adopt: true }],
    });
    assert.match(
      text,
      /^# Exported by `bitbucket-iac export --project OPS,PROJ --repositories "inf\*" --user ci-bot`\.$/m,
    );
    // With a glob, a project's own objects are not the repositories' to claim: none is read.
    assert.deepEqual(
      emu.log().filter((l) => !l.includes("/repos/infra")),
      [
        "GET /rest/api/latest/projects/OPS/repos",
        "GET /rest/api/latest/projects/PROJ/repos",
        "GET /rest/ssh/latest/keys",
        "GET /rest/access-tokens/latest/users/ci-bot",
      ],
    );
    assert.deepEqual(
      emu
        .entries()
        .flatMap((e) =>
          e.path === "/rest/ssh/latest/keys" ? [new URLSearchParams(e.query).get("user")] : [],
        ),
      ["ci-bot"],
    );
    const repeated = await run(["export", "--project", "PROJ", "--project", "OPS"], dir);
    assert.equal(repeated.code, 0, repeated.err);
    assert.match(repeated.out, /^# Exported by `bitbucket-iac export --project PROJ,OPS`\.$/m);
    assert.match(repeated.out, /^ {2}- project: OPS\n {4}repositories:\n {6}- infra$/m);
    assert.match(repeated.out, /^ {2}- project: PROJ\n {4}url: https:\/\/ci\.example\.test\/bitbucket$/m);
  });

  it("says what the credentials may not read (401) or whose tokens it cannot tell, and exports the rest", async () => {
    emu.fault({ path: "/rest/api/latest/projects/PROJ/webhooks", status: 401 });
    emu.fault({ path: "/rest/keys/latest/projects/PROJ/ssh", status: 401 });
    emu.store.dc.userHeader = () => undefined; // a proxy that drops X-AUSERNAME
    try {
      const r = await run(["export", "--project", "PROJ"], workdir({}));
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(
        r.err.split("\n").filter((l) => l.startsWith("  not exported: ") && !/\d access tokens? of /.test(l)),
        [
          "  not exported: project webhooks of PROJ: not readable with these credentials (401); not exported",
          "  not exported: access keys of project PROJ: not readable with these credentials (401); not exported",
          "  not exported: personal access tokens: Bitbucket did not say which user the credentials are (no X-AUSERNAME header: a proxy may drop it); not read (name the user: --user SLUG)",
        ],
      );
      assert.match(r.err, /^bitbucket-iac export: 3 webhooks, 4 deployKeys, 1 sshKeys$/m);
      assert.doesNotMatch(r.out, /ci\.example\.test|deploy host|"laptop"/);
    } finally {
      emu.store.dc.userHeader = (name) => name;
    }
  });

  it("sends only requests the Data Center spec has, and reads answers that match it", async function () {
    requireSpec(this, DC_SPEC);
    const contract = dataCenterContract();
    emu.resetLog();
    await run(["export", "--project", "PROJ,OPS", "--user", "ci-bot"], workdir({}));
    await run(["export", "--project", "PROJ"], workdir({}));
    const exchanges = emu.entries();
    assert.ok(exchanges.length >= 20, `${exchanges.length} exchanges`);
    assert.deepEqual(
      exchanges.flatMap((e) => contract.check(e)),
      [],
    );
  });

  it("takes --project and --user on Data Center only, and --workspace on Cloud only, before any request", async () => {
    const dir = workdir({});
    emu.resetLog();
    const ws = await run(["export", "--workspace", "acme"], dir);
    assert.equal(ws.code, 64);
    assert.match(
      ws.err,
      /^bitbucket-iac export: --workspace is for Bitbucket Cloud \(bitbucket:flavor \/ BITBUCKET_FLAVOR is datacenter\): give --project\n\nusage: bitbucket-iac export/,
    );
    const none = await run(["export", "--user", "ci-bot"], dir);
    assert.equal(none.code, 64);
    assert.match(
      none.err,
      /^bitbucket-iac export: --project is required on Data Center: a project key, e\.g\. --project PROJ\n/,
    );
    const cloud = useEmulator(emu, { BITBUCKET_FLAVOR: "cloud" });
    try {
      const project = await run(["export", "--workspace", "acme", "--project", "PROJ"], dir);
      assert.equal(project.code, 64);
      assert.match(
        project.err,
        /^bitbucket-iac export: --project is for Data Center \(bitbucket:flavor \/ BITBUCKET_FLAVOR is cloud\): give --workspace\n/,
      );
      const user = await run(["export", "--workspace", "acme", "--user", "ci-bot"], dir);
      assert.equal(user.code, 64);
      assert.match(
        user.err,
        /^bitbucket-iac export: --user is for Data Center: Cloud reads the credentials' own SSH keys\n/,
      );
    } finally {
      cloud();
    }
    assert.deepEqual(emu.log(), []);
  });
});
