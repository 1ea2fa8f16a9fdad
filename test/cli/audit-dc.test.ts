// `bitbucket-iac audit` on Bitbucket Data Center, against the emulator's hostile project HOST
// (test/emulator/hostile.ts): each rule finds exactly its objects, tokens' expiry counted from
// their creation, the credentials' user found by X-AUSERNAME (or said when it cannot be), a 401 on
// a project's objects said, every format, and the requests it costs.

import * as assert from "node:assert/strict";
import { HOSTILE_PROJECT, seedHostile, type HostileKeys } from "../emulator/hostile";
import { startEmulator, type Emulator } from "../emulator/server";
import { TOKEN } from "../harness/fixture";
import { CLEAN, dcPairs, ORG_POLICY, pairsOf, type AuditJson } from "./audit-fixture";
import { checkSarif } from "./audit-sarif";
import { run, useEmulator, workdir } from "./run";

describe("bitbucket-iac audit on Bitbucket Data Center", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let keys: HostileKeys;
  let restore: () => void;
  let dir: string;

  before(async () => {
    emu = await startEmulator({ tokens: { [TOKEN]: { scopes: [] } }, dc: { projects: { OTHER: ["lib"] } } });
    keys = seedHostile(emu.store);
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    dir = workdir({ "org.yaml": ORG_POLICY });
  });
  afterEach(() => {
    emu.clearFaults();
    emu.store.dc.userHeader = (name) => name;
  });
  after(async () => {
    restore();
    await emu.close();
  });

  const audit = (...args: string[]) => run(["audit", "--project", HOSTILE_PROJECT, ...args], dir);
  const json = async (...args: string[]) => {
    const r = await audit(...args, "--format", "json");
    return { ...r, report: JSON.parse(r.out) as AuditJson };
  };

  it("finds each rule's objects in the hostile project, exactly, and none of the clean ones", async () => {
    const { code, report } = await json("--policy", "org.yaml");
    assert.equal(code, 3);
    assert.deepEqual(pairsOf(report), dcPairs(keys));
    for (const clean of CLEAN)
      assert.ok(!report.findings.some((f) => f.object.includes(clean)), `${clean} is not found`);
    assert.deepEqual(report.summary.byKind, { webhooks: 6, deployKeys: 4, accessTokens: 5, sshKeys: 1 });
    assert.equal(report.target, "project HOST");
  });

  it("counts a token's expiry from its creation to its expiry date, and a token without one as never expiring", async () => {
    const { report } = await json("--policy", "org.yaml");
    const expiry = report.findings
      .filter((f) => f.rule === "accessTokens.maxExpiryDays")
      .map((f) => [f.object, f.message, f.entry]);
    assert.deepEqual(expiry, [
      [
        'access token "forever" of HOST/api',
        "the token never expires; give it expiryDays: 90 or fewer",
        {
          accessTokens: [
            {
              project: "HOST",
              repositories: ["api"],
              name: "forever",
              permissions: ["REPO_READ"],
              adopt: true,
            },
          ],
        },
      ],
      [
        'access token "yearly" of project HOST',
        "the token expires after 365 days; give it expiryDays: 90 or fewer",
        {
          accessTokens: [
            { project: "HOST", name: "yearly", permissions: ["PROJECT_READ"], expiryDays: 365, adopt: true },
          ],
        },
      ],
    ]);
    const note = report.findings.find((f) => f.rule === "accessTokens.permissions")!.note;
    assert.equal(
      note,
      "a token's value cannot be read back, so it cannot be exported: adopting it revokes this token and makes a new one, whose value its holders must be given",
    );
  });

  it("reads the personal tokens of the user X-AUSERNAME names, and says when no header names one", async () => {
    emu.store.dc.users.get("me")!.tokens.push({
      id: emu.store.dc.newToken().id,
      name: "old",
      permissions: ["REPO_READ"],
      createdDate: 0,
    });
    try {
      const named = await json("--policy", "org.yaml");
      assert.ok(pairsOf(named.report).includes('accessTokens.maxExpiryDays access token "old" of user me'));
      emu.store.dc.userHeader = () => undefined; // a proxy that drops the header
      const unnamed = await json("--policy", "org.yaml");
      assert.equal(unnamed.code, 3);
      assert.ok(
        !unnamed.report.findings.some((f) => f.object.includes("of user me") && f.kind === "accessTokens"),
      );
      assert.deepEqual(unnamed.report.notes, [
        "personal access tokens: Bitbucket did not say which user the credentials are (no X-AUSERNAME header: a proxy may drop it); not read (name the user: --user SLUG)",
      ]);
      const given = await json("--policy", "org.yaml", "--user", "me");
      assert.ok(pairsOf(given.report).includes('accessTokens.maxExpiryDays access token "old" of user me'));
    } finally {
      emu.store.dc.users.get("me")!.tokens.pop();
    }
  });

  it("says a 401 on the project's own objects (too little permission), and audits the rest", async () => {
    emu.fault({ path: "/rest/api/latest/projects/HOST/webhooks", status: 401 });
    emu.fault({ path: "/rest/access-tokens/latest/projects/HOST?", status: 401 });
    const { code, report } = await json("--policy", "org.yaml");
    assert.equal(code, 3);
    assert.deepEqual(report.notes, [
      "project webhooks of HOST: not readable with these credentials (401); not audited",
      "tokens of project HOST: not readable with these credentials (401); not audited",
    ]);
    assert.deepEqual(
      pairsOf(report),
      dcPairs(keys).filter((p) => !p.includes('"yearly"')),
    );
  });

  it("audits several projects, a comma list or the option repeated, with a repository glob", async () => {
    emu.store.dc.addHook("OTHER", "lib", { url: "http://hooks.example.test/other" });
    const r = await run(
      ["audit", "--project", "HOST,OTHER", "--repositories", "l*", "--format", "json"],
      dir,
    );
    const report = JSON.parse(r.out) as AuditJson;
    assert.equal(report.target, "projects HOST, OTHER");
    assert.equal(report.summary.repositories, 1);
    assert.deepEqual(pairsOf(report), [
      "webhooks.https webhook http://hooks.example.test/other on OTHER/lib",
    ]);
    const repeated = await run(["audit", "--project", "OTHER", "--project", "HOST", "--format", "json"], dir);
    assert.equal((JSON.parse(repeated.out) as AuditJson).target, "projects OTHER, HOST");
  });

  it("writes text, Markdown and SARIF that name Data Center's objects, and what it cannot audit", async () => {
    const text = await audit("--policy", "org.yaml");
    assert.match(
      text.out,
      /^x access key ssh-ed25519 SHA256:\S+ "deployer" on HOST\/web \(REPO_WRITE\)\n {4}error keys\.readOnly: the key has REPO_WRITE: it can push; give it REPO_READ, and a separate reviewed path for writes \[policy file org\.yaml\]\n {4}managed by: \{ deployKeys: \[ \{ project: HOST, repositories: \[ web \], key: ssh-ed25519 \S+ dc-web@example\.test, label: deployer, permission: REPO_WRITE, adopt: true \} \] \}$/m,
    );
    assert.match(
      text.out,
      /^Not audited on Bitbucket Data Center: oauthConsumers: Data Center's OAuth applications \(application links\) have no REST API/m,
    );
    const md = await audit("--policy", "org.yaml", "--format", "markdown");
    assert.match(md.out, /^### bitbucket-iac audit: 12 errors$/m);
    assert.deepEqual(
      checkSarif((await audit("--policy", "org.yaml", "--format", "sarif")).out),
      dcPairs(keys),
    );
  });

  it("reads each repository with 3 requests, each project with 4, and the user with 4 (API economy)", async () => {
    emu.resetLog();
    await audit();
    const log = emu.log();
    assert.ok(
      log.every((l) => l.startsWith("GET ")),
      "audit only reads",
    );
    for (const repo of ["api", "web", "tools"])
      assert.deepEqual(
        log.filter((l) => l.includes(`/repos/${repo}`)),
        [
          `GET /rest/api/latest/projects/HOST/repos/${repo}/webhooks`,
          `GET /rest/keys/latest/projects/HOST/repos/${repo}/ssh`,
          `GET /rest/access-tokens/latest/projects/HOST/repos/${repo}`,
        ],
      );
    assert.deepEqual(
      log.filter((l) => !/\/repos\/[^/]+/.test(l)),
      [
        "GET /rest/api/latest/projects/HOST/repos",
        "GET /rest/api/latest/projects/HOST/webhooks",
        "GET /rest/keys/latest/projects/HOST/ssh",
        "GET /rest/access-tokens/latest/projects/HOST",
        "GET /rest/api/latest/projects/HOST",
        "GET /rest/api/latest/users",
        "GET /rest/access-tokens/latest/users/me",
        "GET /rest/ssh/latest/keys",
      ],
    );
  });

  it("refuses --workspace on Data Center and asks for a project, before any request", async () => {
    emu.resetLog();
    const ws = await run(["audit", "--workspace", "acme"], dir);
    assert.equal(ws.code, 64);
    assert.match(
      ws.err,
      /^bitbucket-iac audit: --workspace is for Bitbucket Cloud \(bitbucket:flavor \/ BITBUCKET_FLAVOR is datacenter\): give --project/,
    );
    const none = await run(["audit"], dir);
    assert.equal(none.code, 64);
    assert.match(
      none.err,
      /^bitbucket-iac audit: --project is required on Data Center: a project key, e\.g\. --project PROJ/,
    );
    assert.deepEqual(emu.log(), []);
  });
});
