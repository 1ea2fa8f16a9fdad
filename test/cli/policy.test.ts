// Issue 22: a policy is enforced where the declaration is. `validate` (offline) and `plan` (live)
// report every rule a declared object breaks at its file:line:column with the rule's name, on
// both flavors; an error stops (validate exit 1, plan exit 3), a warning is said; a shared policy
// file applies beside the manifest's own, and neither loosens the other.

import * as assert from "node:assert/strict";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { ed25519, rsa } from "../keys";
import type { Finding } from "../../provider/manifest/policy";
import { insightsOf } from "../../provider/cli/insights";
import { run, useEmulator, workdir } from "./run";

/** An SSH "string": a uint32 length, then the bytes (RFC 4253 §5). */
function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An RSA public key line of `bits` bits (OpenSSH format). */
function rsaOf(bits: number): string {
  const jwk = crypto.generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
  const mpint = (b: Buffer) => (b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  const blob = Buffer.concat([
    sshString(Buffer.from("ssh-rsa")),
    sshString(mpint(Buffer.from(jwk.e!, "base64url"))),
    sshString(mpint(Buffer.from(jwk.n!, "base64url"))),
  ]);
  return `ssh-rsa ${blob.toString("base64")} small@example.test`;
}

/** An ECDSA P-256 public key line (OpenSSH format, RFC 5656 §3.1). */
function ecdsa(): string {
  const jwk = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x!, "base64url"),
    Buffer.from(jwk.y!, "base64url"),
  ]);
  const blob = Buffer.concat([
    sshString(Buffer.from("ecdsa-sha2-nistp256")),
    sshString(Buffer.from("nistp256")),
    sshString(point),
  ]);
  return `ecdsa-sha2-nistp256 ${blob.toString("base64")} ec@example.test`;
}

const ED = ed25519().publicLine;
const RSA2048 = rsa().publicLine;
const RSA1024 = rsaOf(1024);

/** The findings' `line:col path: level rule` heads, in the order printed (file name dropped). */
const heads = (text: string) =>
  text
    .split("\n")
    .map((l) => /^\S*bitbucket\.yaml:(\d+:\d+ \S+): (warning|error) (\S+):/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1]}: ${m[2]} ${m[3]}`);

const CLOUD_POLICY = `policy:
  webhooks:
    https: { message: "no exceptions" }
    allowedHosts: { hosts: ["*.example.com"], message: "ask #security" }
    secretRequired: {}
    forbidSkipCertVerification: { enforcement: warn }
    events: { deny: [repo:fork] }
  keys:
    keyTypes: { allow: [ssh-ed25519, ssh-rsa] }
    minRsaBits: { bits: 2048 }
  pipelineVariables:
    securedWhenKeyMatches: { enforcement: error }
  oauthConsumers:
    maxScopes: { scopes: [repository, pullrequest, webhook, account, email] }
`;

/** One object per rule breaking it, one clean object per kind beside them. */
const CLOUD = `version: 1
workspace: acme
${CLOUD_POLICY}
webhooks:
  - repositories: [api]
    url: http://ci.example.com/plain
    allowHttp: true
    events: [repo:push]
    secret: { generate: true }
  - repositories: [api, web]
    url: https://ci.elsewhere.test/hook
    events: [repo:push, repo:fork]
    skipCertVerification: true
  - repositories: [api]
    url: https://ci.example.com/clean
    events: [repo:push]
    secret: { generate: true }
deployKeys:
  - repositories: [api]
    key: ${RSA1024}
  - repositories: [api]
    key: ${RSA2048}
sshKeys:
  - key: ${ED}
  - key: ${ecdsa()}
pipelineVariables:
  - key: AWS_SECRET_ACCESS_KEY
    value: x
    secured: false
  - key: REGION
    value: us-east-1
    secured: false
oauthConsumers:
  - id: ci
    name: CI
    scopes: [repository:write, pullrequest]
    key: { fromConfig: ciKey }
    secret: { fromConfig: ciSecret }
`;

const DC = `version: 1
flavor: datacenter
project: PROJ
policy:
  webhooks:
    https: {}
    allowedHosts: { hosts: ["*.example.com"] }
    secretRequired: {}
    forbidSkipCertVerification: {}
    events: { deny: [repo:forked] }
  keys:
    readOnly: {}
    keyTypes: { allow: [ssh-ed25519, ecdsa-sha2-nistp256] }
    minRsaBits: { bits: 2048 }
  accessTokens:
    maxExpiryDays: { days: 90 }
    permissions: { allow: [REPO_READ, PROJECT_READ] }
integrations:
  - id: platformsh
    preset: platformsh
    repositories: [api]
    options:
      project: abcdefgh1234567
      username: ci-bot
      url: https://bitbucket.example.com
webhooks:
  - repositories: [api]
    url: https://ci.example.com/unsigned
    events: [repo:refs_changed]
  - url: https://ci.example.com/signed
    events: [repo:refs_changed]
    secret: { generate: true }
  - repositories: [web]
    url: http://ci.elsewhere.test/plain
    allowHttp: true
    events: [repo:refs_changed, repo:forked]
    skipCertVerification: true
    secret: { generate: true }
deployKeys:
  - repositories: [api]
    key: ${ED}
    permission: REPO_WRITE
  - key: ${ED.replace("test@", "other@")}
    permission: PROJECT_READ
  - repositories: [web]
    key: ${RSA1024}
    permission: REPO_READ
sshKeys:
  - key: ${RSA2048}
    user: ci-bot
accessTokens:
  - name: forever
    repositories: [api]
    permissions: [REPO_READ]
  - name: year
    repositories: [api]
    permissions: [REPO_READ]
    expiryDays: 365
  - name: clean
    repositories: [web]
    permissions: [REPO_READ]
    expiryDays: 30
`;

describe("policy: validate judges what a manifest declares", () => {
  it("finds every Cloud rule's object at its field, and not the clean ones", async () => {
    const dir = workdir({ "bitbucket.yaml": CLOUD });
    const r = await run(["validate"], dir);
    assert.equal(r.code, 1, r.err);
    assert.deepEqual(
      heads(r.err),
      [
        "20:10 webhooks[0].url: error webhooks.https",
        "25:10 webhooks[1].url: error webhooks.allowedHosts",
        "24:5 webhooks[1]: error webhooks.secretRequired",
        "26:13 webhooks[1].events: error webhooks.events",
        "34:10 deployKeys[0].key: error keys.minRsaBits",
        "39:10 sshKeys[1].key: error keys.keyTypes",
        "43:14 pipelineVariables[0].secured: error pipelineVariables.securedWhenKeyMatches",
        "50:13 oauthConsumers[0].scopes: error oauthConsumers.maxScopes",
        "27:27 webhooks[1].skipCertVerification: warning webhooks.forbidSkipCertVerification",
      ].sort(byPosition),
    );
    assert.match(
      r.err,
      /webhooks\.https: the URL is not https: payloads travel in plain text; use an https URL \(no exceptions\) \[policy of bitbucket\.yaml\]/,
    );
    assert.match(
      r.err,
      /host ci\.elsewhere\.test is not one of the allowed hosts \(\*\.example\.com\).*\(ask #security\)/,
    );
    assert.match(r.err, /the RSA key has 1024 bits, fewer than 2048; make a new key/);
    assert.match(r.err, /scope repository:write is beyond what the policy allows/);
    assert.match(r.err, /8 problems$/);
  });

  it("finds every Data Center rule's object, an integration's token at the integration", async () => {
    const dir = workdir({ "bitbucket.yaml": DC });
    const r = await run(["validate"], dir);
    assert.equal(r.code, 1, r.err);
    assert.deepEqual(
      heads(r.err).sort(),
      [
        // The preset's token: repository admin, and no expiry; at the integration's entry.
        "19:5 integrations[0]: error accessTokens.maxExpiryDays",
        "19:5 integrations[0]: error accessTokens.permissions",
        "27:5 webhooks[0]: error webhooks.secretRequired",
        "34:10 webhooks[2].url: error webhooks.allowedHosts",
        "34:10 webhooks[2].url: error webhooks.https",
        "36:13 webhooks[2].events: error webhooks.events",
        "37:27 webhooks[2].skipCertVerification: error webhooks.forbidSkipCertVerification",
        "42:17 deployKeys[0].permission: error keys.readOnly",
        "46:10 deployKeys[2].key: error keys.keyTypes",
        "46:10 deployKeys[2].key: error keys.minRsaBits",
        "49:10 sshKeys[0].key: error keys.keyTypes",
        "52:5 accessTokens[0]: error accessTokens.maxExpiryDays",
        "58:17 accessTokens[1].expiryDays: error accessTokens.maxExpiryDays",
      ].sort(),
    );
    assert.match(r.err, /the key has REPO_WRITE: it can push; give it REPO_READ/);
    assert.match(r.err, /the token never expires; give it expiryDays: 90 or fewer/);
    assert.match(r.err, /permission REPO_ADMIN is not allowed \(allowed: REPO_READ, PROJECT_READ\)/);
  });

  it("keeps the default policy: http only with allowHttp, a credential-looking variable in clear a warning", async () => {
    const dir = workdir({
      "bitbucket.yaml": `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: http://ci.example.com/plain
    allowHttp: true
    events: [repo:push]
pipelineVariables:
  - repositories: [api]
    key: deploy_token
    value: x
    secured: false
`,
    });
    const r = await run(["validate"], dir);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(heads(r.err), [
      "12:14 pipelineVariables[0].secured: warning pipelineVariables.securedWhenKeyMatches",
    ]);
    assert.match(
      r.err,
      /deploy_token looks like a credential \(\*TOKEN\*\) but is not secured.*\[default policy\]$/,
    );
    assert.match(r.out, /valid \(2 resources/);
  });

  it("lets a manifest switch a default rule off, but not a shared policy's rule", async () => {
    const manifest = `version: 1
workspace: acme
policy:
  pipelineVariables:
    securedWhenKeyMatches: { enforcement: "off" }
pipelineVariables:
  - key: API_TOKEN
    value: x
    secured: false
`;
    const shared = `version: 1
policy:
  pipelineVariables:
    securedWhenKeyMatches: { patterns: ["*_TOKEN"], message: "see the wiki" }
`;
    const dir = workdir({ "bitbucket.yaml": manifest, "org.yaml": shared });
    const alone = await run(["validate"], dir);
    assert.equal(alone.code, 0, alone.err);
    assert.equal(alone.err, "");
    const withShared = await run(["validate", "--policy", "org.yaml"], dir);
    assert.equal(withShared.code, 1);
    assert.match(
      withShared.err,
      /:9:14 pipelineVariables\[0\]\.secured: error pipelineVariables\.securedWhenKeyMatches: API_TOKEN looks like a credential \(\*_TOKEN\*?\).*\(see the wiki\) \[policy file org\.yaml\]/,
    );
  });

  it("judges an entry whose repositories are a glob, offline, once", async () => {
    const dir = workdir({
      "bitbucket.yaml": `version: 1
workspace: acme
policy:
  webhooks:
    secretRequired: {}
webhooks:
  - repositories: "svc-*"
    url: https://ci.example.com/hook
    events: [repo:push]
`,
    });
    const r = await run(["validate"], dir);
    assert.equal(r.code, 1);
    assert.deepEqual(heads(r.err), ["7:5 webhooks[0]: error webhooks.secretRequired"]);
  });

  it("reads BITBUCKET_POLICY when no --policy is given", async () => {
    const dir = workdir({
      "bitbucket.yaml":
        "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://x.example.com/h\n    events: [repo:push]\n",
      "org.yaml": "version: 1\npolicy:\n  webhooks:\n    secretRequired: {}\n",
    });
    const saved = process.env.BITBUCKET_POLICY;
    process.env.BITBUCKET_POLICY = "org.yaml";
    try {
      const r = await run(["validate"], dir);
      assert.equal(r.code, 1);
      assert.deepEqual(heads(r.err), ["4:5 webhooks[0]: error webhooks.secretRequired"]);
      assert.match(r.err, /\[policy file org\.yaml\]/);
    } finally {
      if (saved === undefined) delete process.env.BITBUCKET_POLICY;
      else process.env.BITBUCKET_POLICY = saved;
    }
  });
});

describe("policy: validate stays offline", () => {
  it("validates every example manifest with no connection settings at all", async () => {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith("BITBUCKET_")) delete process.env[k];
    try {
      const examples = path.resolve(__dirname, "../../examples");
      for (const name of fs.readdirSync(examples)) {
        const file = path.join(examples, name, "bitbucket.yaml");
        if (!fs.existsSync(file)) continue;
        const r = await run(["validate", file], examples);
        assert.equal(r.code, 0, `${name}: ${r.err}`);
      }
    } finally {
      Object.assign(process.env, saved);
    }
  });
});

describe("policy: a policy file is checked like a manifest", () => {
  const check = async (policy: string) => {
    const dir = workdir({ "bitbucket.yaml": "version: 1\nworkspace: acme\n", "org.yaml": policy });
    return run(["validate", "--policy", "org.yaml"], dir);
  };

  it("reports an unknown rule with its position and a suggestion", async () => {
    const r = await check("version: 1\npolicy:\n  webhooks:\n    secretRequird: {}\n");
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^org\.yaml:4:5 policy\.webhooks\.secretRequird: unknown key "secretRequird"; did you mean "secretRequired"\?/,
    );
  });

  it("reports names a rule cannot hold, with a suggestion, in either flavor's events", async () => {
    const r = await check(`version: 1
policy:
  webhooks:
    events: { deny: [repo:refs_changed, repo:psuh] }
  keys:
    keyTypes: { allow: [ssh-dss] }
  accessTokens:
    permissions: { allow: [REPO_REED] }
  oauthConsumers:
    maxScopes: { scopes: [pullrequests] }
`);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.split("\n"), [
      'org.yaml:4:41 policy.webhooks.events.deny[1]: "repo:psuh" is not an event; did you mean "repo:push", "repo:fork", "repo:forked"?',
      'org.yaml:6:25 policy.keys.keyTypes.allow[0]: "ssh-dss" is not a key type; did you mean "ssh-rsa"?',
      'org.yaml:8:28 policy.accessTokens.permissions.allow[0]: "REPO_REED" is not an access token permission; did you mean "REPO_READ"?',
      'org.yaml:10:27 policy.oauthConsumers.maxScopes.scopes[0]: "pullrequests" is not a Bitbucket Cloud OAuth scope; did you mean "pullrequest"?',
      "4 problems",
    ]);
  });

  it("refuses entries and settings that belong in a manifest, and a file without policy", async () => {
    const withEntries = await check("version: 1\nworkspace: acme\npolicy:\n  keys:\n    readOnly: {}\n");
    assert.equal(withEntries.code, 1);
    assert.match(
      withEntries.err,
      /^org\.yaml:2:12 workspace: a policy file holds version: 1 and policy: only; workspace belongs in a manifest$/m,
    );
    const empty = await check("version: 1\n");
    assert.match(
      empty.err,
      /^org\.yaml:1:1 \(top level\): a policy file holds version: 1 and policy: \(its rules\); this one has no policy:$/m,
    );
  });

  it("refuses an enforcement it does not know and a setting of the wrong type", async () => {
    const r = await check(
      "version: 1\npolicy:\n  keys:\n    minRsaBits: { bits: 512, enforcement: fatal }\n",
    );
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.split("\n"), [
      "org.yaml:4:25 policy.keys.minRsaBits.bits: must be >= 1024",
      'org.yaml:4:43 policy.keys.minRsaBits.enforcement: "fatal" is not allowed here (one of: error, warn, off)',
      "2 problems",
    ]);
  });

  it("says so when the file is missing", async () => {
    const dir = workdir({ "bitbucket.yaml": "version: 1\nworkspace: acme\n" });
    const r = await run(["validate", "--policy", "nope.yaml"], dir);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /nope\.yaml:1:1 \(file\): cannot read the policy file: no such file \(give the policy file's path\)/,
    );
  });
});

describe("policy: plan counts findings, says them and exits 3 on an error", () => {
  let emu: Emulator;
  let restore: () => void;
  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "web"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      dc: { projects: { PROJ: ["api", "web"] }, users: ["ci-bot"] },
    });
  });
  after(async () => emu.close());
  afterEach(() => restore?.());

  const cloud = `version: 1
workspace: acme
policy:
  webhooks:
    secretRequired: {}
webhooks:
  - repositories: [api, web]
    url: https://ci.example.com/hook
    events: [repo:push]
pipelineVariables:
  - repositories: [api]
    key: NPM_TOKEN
    value: x
    secured: false
`;

  it("lists each finding once, counts them in the summary and exits 3 (text)", async () => {
    restore = useEmulator(emu);
    const dir = workdir({ "bitbucket.yaml": cloud });
    const r = await run(["plan"], dir);
    assert.equal(r.code, 3, r.err);
    const policy = r.out.split("\n").filter((l) => l.startsWith("  bitbucket.yaml:"));
    assert.deepEqual(
      policy.map((l) => l.replace(/: the .*|: NPM_TOKEN .*/, "")),
      [
        "  bitbucket.yaml:7:5 webhooks[0]: error webhooks.secretRequired",
        "  bitbucket.yaml:14:14 pipelineVariables[0].secured: warning pipelineVariables.securedWhenKeyMatches",
      ],
    );
    assert.match(r.out, /\nPlan: 3 to create, .*\nPolicy: 1 error, 1 warning \(pulumi up would stop\)\.$/);
  });

  it("exits 2, not 3, when the findings are warnings only", async () => {
    restore = useEmulator(emu);
    const dir = workdir({
      "bitbucket.yaml": cloud.replace("secretRequired: {}", "secretRequired: { enforcement: warn }"),
    });
    const r = await run(["plan"], dir);
    assert.equal(r.code, 2, r.err);
    assert.match(r.out, /\nPolicy: 2 warnings\.$/);
  });

  it("puts the findings after the summary in Markdown, and in JSON with their positions", async () => {
    restore = useEmulator(emu);
    const dir = workdir({ "bitbucket.yaml": cloud });
    const md = await run(["plan", "--format", "markdown"], dir);
    assert.match(md.out, /^### bitbucket-iac plan: 3 changes, 1 policy error$/m);
    assert.match(
      md.out,
      /\*\*Plan: .*\*\*\n\n\*\*Policy: 1 error, 1 warning \(pulumi up would stop\)\.\*\*\n\n\*\*Policy \(2\):\*\*\n- \*\*error\*\* `webhooks\.secretRequired` at `bitbucket\.yaml:7:5 webhooks\[0\]`: the hook has no secret/,
    );
    const json = JSON.parse((await run(["plan", "--format", "json"], dir)).out) as {
      policy: { errors: number; warnings: number; findings: Array<Record<string, unknown>> };
    };
    assert.equal(json.policy.errors, 1);
    assert.equal(json.policy.warnings, 1);
    assert.deepEqual(
      json.policy.findings.map((f) => [f.rule, f.level, f.field, f.source, (f.loc as { line: number }).line]),
      [
        ["webhooks.secretRequired", "error", "secret", "policy of bitbucket.yaml", 7],
        ["pipelineVariables.securedWhenKeyMatches", "warn", "secured", "policy of bitbucket.yaml", 14],
      ],
    );
  });

  it("judges Data Center declarations with a shared policy", async () => {
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    const dir = workdir({
      "bitbucket.yaml":
        "version: 1\nflavor: datacenter\nproject: PROJ\naccessTokens:\n  - name: ci\n    repositories: [api]\n    permissions: [REPO_WRITE]\n    expiryDays: 30\n",
      "org.yaml": "version: 1\npolicy:\n  accessTokens:\n    permissions: { allow: [REPO_READ] }\n",
    });
    const r = await run(["plan", "--policy", "org.yaml"], dir);
    assert.equal(r.code, 3, r.err);
    assert.match(
      r.out,
      /bitbucket\.yaml:7:18 accessTokens\[0\]\.permissions: error accessTokens\.permissions: permission REPO_WRITE is not allowed \(allowed: REPO_READ\); ask for less \[policy file org\.yaml\]/,
    );
  });
});

/** Findings in the order validate prints them: warnings (said as it goes on), then errors by position. */
function byPosition(a: string, b: string): number {
  const rank = (s: string) => (s.includes(" warning ") ? 0 : 1);
  const [la, ca] = a.split(" ")[0]!.split(":").map(Number);
  const [lb, cb] = b.split(" ")[0]!.split(":").map(Number);
  return rank(a) - rank(b) || la! - lb! || ca! - cb!;
}

describe("policy: the Code Insights report", () => {
  const finding = (level: "error" | "warn", line: number): Finding => ({
    rule: "webhooks.secretRequired",
    level,
    field: "secret",
    message: "the hook has no secret",
    source: "policy of bitbucket.yaml",
    object: "webhook/acme/api/ci.example.com/hook",
    loc: { file: "bitbucket.yaml", line, col: 5, path: "webhooks[0]" },
  });
  const report = (findings: Finding[]) =>
    insightsOf(
      { manifest: "bitbucket.yaml", apiUrl: "https://api.example.test", planned: [], findings },
      "infra/bitbucket.yaml",
    );

  it("fails on a policy error and annotates it HIGH at its line, a warning MEDIUM", () => {
    const ins = report([finding("warn", 12), finding("error", 7)]);
    assert.equal(ins.passed, false);
    assert.match(ins.details, /Policy: 1 error, 1 warning \(pulumi up would stop\)\.$/);
    assert.deepEqual(
      ins.findings.map((f) => [f.severity, f.blocking, f.path, f.line, f.summary]),
      [
        [
          "HIGH",
          true,
          "infra/bitbucket.yaml",
          7,
          "policy error webhooks.secretRequired: the hook has no secret",
        ],
        [
          "MEDIUM",
          false,
          "infra/bitbucket.yaml",
          12,
          "policy warning webhooks.secretRequired: the hook has no secret",
        ],
      ],
    );
  });

  it("passes with warnings only", () => {
    assert.equal(report([finding("warn", 12)]).passed, true);
    assert.equal(report([]).passed, true);
  });
});
