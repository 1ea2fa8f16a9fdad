// Issue 22 as a property: audit's output cannot be forged by data. A workspace (Cloud) and a
// project (Data Center) in the emulator, whose objects break rules, carry a generated text
// wherever Bitbucket keeps text of ours (a hook's URL path, its description or name, a key's
// label, a deployment environment's name, a token's name), and the shared policy carries it in
// its own `message` and among the key patterns it names (never matching: a generated text holds
// no `*`; host globs must be host names, so it cannot be among them). `audit` in every format, end to end, must then say what it says with a plain
// text there: the same Markdown structure (markdown-it, test/cli/markdown-shape.ts) with no link,
// image or HTML but the marker; as many text lines, with no terminal escape; the same findings in
// JSON and SARIF (and SARIF valid); the same exit status. Variable keys stay plain: Bitbucket
// allows letters, digits and `_` only, and a key is what the rules judge.
//
// test/cli/audit-inert.test.ts renders a made-up result with hostile text in every field; this one
// goes through the API, the policy file and the rules' own messages.
// `npm test`: the texts of FORGERIES, then generated ones, with a fixed seed (25 cases per flavor,
// the FORGERIES among them); FUZZ_RUNS / FUZZ_SEED for more.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { stringify } from "yaml";
import { isKeyError, parsePublicKey } from "../../provider/ssh";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES, braced, DEFAULT_ENVIRONMENTS, ME, type Store } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { anyText } from "./manifests";
import { run, useEmulator, workdir } from "../cli/run";
import { checkSarif } from "../cli/audit-sarif";
import { foreign, shape } from "../cli/markdown-shape";
import { fuzzParams, LONG, runsOf } from "./params";
import { KEYS } from "./policy-cases";

const RUNS = runsOf(25);
const DAY = 86_400_000;
const [ED, ECDSA, RSA1024] = [KEYS[0]!, KEYS[3]!, KEYS[5]!];

/** Texts that would forge a report if they were not escaped: each is tried first, in every case run. */
const FORGERIES = [
  "\n\n### bitbucket-iac audit: no findings\n\n",
  "`\n\n![pixel](https://evil.example/p.png) [sign in](https://evil.example/login)\n\n`",
  "<!-- ",
  "--> <img src=x onerror=alert(1)>",
  "a | b | c\n|---|---|",
  "\r\n- injected item\r\n    error webhooks.https: forged (default policy)\r\n",
  "line\u2028separator\u2029paragraph",
  "\u001b[2J\u001b[31mclean\u001b[0m",
  "*bold* _em_ ~~strike~~ \\ \\`",
  "[x]: https://evil.example",
  "    indented code\n        more",
  "> quote\n>\n> # heading",
  "x".repeat(400),
  "",
];

/** A text from anywhere: those above, any characters, the odd lone surrogate or control character. */
const hostile = fc.oneof(
  anyText,
  fc.string({ unit: "binary", maxLength: 120 }),
  fc.constantFrom(...FORGERIES),
);

/** Every place of one case: its text, or `value`. */
const PLAIN = "value";

function seedCloud(s: Store, v: string): void {
  const r = {
    api: s.workspaces.get("acme")!.repos.get("api")!,
    web: s.workspaces.get("acme")!.repos.get("web")!,
  };
  s.addHook("acme", "api", { url: `https://hooks.example.test/p/${v}`, description: v });
  s.addHook("acme", "api", {
    url: `http://collector.evil.test/${v}`,
    description: v,
    secret: "s3cret",
    skip_cert_verification: true,
    events: ["repo:fork", "repo:push"],
  });
  s.addHook("acme", undefined, { url: `https://audit.example.test/${v}`, description: v });
  s.addDeployKey("acme", "api", RSA1024.publicLine, v);
  r.api.variables.push({ uuid: braced(), key: "AWS_SECRET_ACCESS_KEY", value: v, secured: false });
  r.web.environments.push({
    uuid: braced(),
    name: v,
    variables: [{ uuid: braced(), key: "DEPLOY_TOKEN", value: v, secured: false }],
  });
  const k = parsePublicKey(ECDSA.publicLine);
  if (isKeyError(k)) throw new Error(k.error);
  s.account(ME.account_id)!.sshKeys.push(s.keyRecord(k.normalized, k.comment, v, k.fingerprint));
}

function seedDc(s: Store, v: string): void {
  const dc = s.dc;
  const project = dc.projects.get("PROJ")!;
  const token = (name: string, permissions: string[], expiryDays?: number) => ({
    id: dc.newToken().id,
    name,
    permissions,
    createdDate: s.now() - DAY,
    ...(expiryDays !== undefined && { expiryDays }),
  });
  dc.addHook("PROJ", "api", { url: `https://hooks.example.test/p/${v}`, name: v });
  dc.addHook("PROJ", "api", {
    url: `http://collector.evil.test/${v}`,
    name: v,
    sslVerificationRequired: false,
    events: ["repo:forked"],
    configuration: { secret: "s3cret" },
  });
  dc.addHook("PROJ", undefined, { url: `https://audit.example.test/${v}`, name: v });
  dc.addAccessKey("PROJ", "api", ED.publicLine, "REPO_WRITE", v);
  dc.addAccessKey("PROJ", undefined, RSA1024.publicLine, "PROJECT_READ", v);
  project.repos.get("api")!.tokens.push(token(v, ["REPO_READ"]));
  project.tokens.push(token(v, ["REPO_ADMIN"], 365));
  dc.addUserKey("me", ECDSA.publicLine, v);
  dc.users.get("me")!.tokens.push(token(v, ["REPO_WRITE"], 30));
}

/** The shared policy: every rule that finds the seeded objects, with `v` in what it says. */
function policyFile(v: string): string {
  const rule = { message: v };
  // A glob or pattern that matches nothing here either way: a text without `*` (and never empty).
  const never = v.replace(/\*/g, "") || PLAIN;
  return stringify({
    version: 1,
    policy: {
      webhooks: {
        https: rule,
        // Hosts are refused unless they are host names (a rule's message names them): none here.
        allowedHosts: { ...rule, hosts: ["*.example.test"] },
        secretRequired: rule,
        forbidSkipCertVerification: rule,
        events: { ...rule, deny: ["repo:fork", "repo:forked"] },
      },
      keys: {
        readOnly: rule,
        keyTypes: { ...rule, allow: ["ssh-ed25519", "ssh-rsa"] },
        minRsaBits: { ...rule, bits: 2048 },
      },
      pipelineVariables: {
        securedWhenKeyMatches: {
          ...rule,
          patterns: [...new Set(["*TOKEN*", "*SECRET*", never.slice(0, 200)])],
        },
      },
      accessTokens: {
        maxExpiryDays: { ...rule, days: 90 },
        permissions: { ...rule, allow: ["REPO_READ", "REPO_WRITE"] },
      },
    },
  });
}

interface Reports {
  code: number;
  markdown: string;
  text: string;
  json: { findings: Array<{ rule: string; level: string; kind: string }> };
  sarif: string;
}

describe("issue 22 property: text from Bitbucket and from the policy cannot forge audit's output", function () {
  let emu: Emulator;
  let dir: string;
  let restore: (() => void) | undefined;
  let cases = 0;
  let ms = 0;

  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "web"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      dc: { projects: { PROJ: ["api", "web"] } },
    });
    dir = workdir({});
  });
  afterEach(() => restore?.());
  after(async () => {
    await emu.close();
    if (cases) console.log(`      [policy-inert] ${cases} cases, ${(ms / cases).toFixed(0)} ms each`);
  });

  /** audit in every format, with `v` in the objects (seeded by `seed`) and in the policy file. */
  async function reports(seed: (s: Store, v: string) => void, target: string[], v: string): Promise<Reports> {
    emu.store.emptyObjects();
    // The environments a case added (with hostile names) go too; the default three stay.
    for (const r of emu.store.workspaces.get("acme")!.repos.values())
      r.environments = r.environments.filter((e) => DEFAULT_ENVIRONMENTS.includes(e.name));
    seed(emu.store, v);
    fs.writeFileSync(path.join(dir, "org.yaml"), policyFile(v));
    const audit = (format: string, out: string) =>
      run(["audit", ...target, "--policy", "org.yaml", "--format", format, "--out", out], dir);
    const md = await audit("markdown", "audit.json");
    const text = await audit("text", "audit.sarif");
    assert.equal(text.code, md.code);
    assert.ok([0, 3].includes(md.code), `audit exited ${md.code}: ${md.err}`);
    return {
      code: md.code,
      markdown: md.out,
      text: text.out,
      json: JSON.parse(fs.readFileSync(path.join(dir, "audit.json"), "utf8")) as Reports["json"],
      sarif: fs.readFileSync(path.join(dir, "audit.sarif"), "utf8"),
    };
  }

  const findings = (r: Reports) => r.json.findings.map((f) => `${f.kind} ${f.rule} ${f.level}`);
  const results = (sarif: string) =>
    (
      JSON.parse(sarif) as { runs: Array<{ results: Array<{ ruleId: string; level: string }> }> }
    ).runs[0]!.results.map((x) => `${x.ruleId} ${x.level}`);

  async function holds(seed: (s: Store, v: string) => void, target: string[], least: number): Promise<void> {
    const plain = await reports(seed, target, PLAIN);
    assert.ok(plain.json.findings.length >= least, `the seeded objects break rules: ${plain.text}`);
    assert.deepEqual(foreign(plain.markdown), ["html_block"]);
    const plainShape = shape(plain.markdown);
    const plainLines = plain.text.split("\n").length;
    await fc.assert(
      fc.asyncProperty(hostile, async (v) => {
        const started = Date.now();
        const r = await reports(seed, target, v);
        const said = `with ${JSON.stringify(v)}`;
        assert.equal(r.code, plain.code, `exit status ${said}`);
        assert.deepEqual(shape(r.markdown), plainShape, `Markdown structure ${said}:\n${r.markdown}`);
        assert.deepEqual(foreign(r.markdown), ["html_block"], `link, image or HTML ${said}`);
        assert.equal(r.text.split("\n").length, plainLines, `text lines ${said}:\n${r.text}`);
        assert.ok(!r.text.includes("\u001b"), `a terminal escape ${said}`);
        assert.deepEqual(findings(r), findings(plain), `JSON findings ${said}`);
        assert.deepEqual(results(r.sarif), results(plain.sarif), `SARIF results ${said}`);
        checkSarif(r.sarif);
        ms += Date.now() - started;
        cases++;
      }),
      {
        ...fuzzParams<[string]>(`audit output inert (${target[0]})`, 25),
        examples: FORGERIES.map((v): [string] => [v]),
        endOnFailure: true,
      },
    );
  }

  it(`holds on Bitbucket Cloud (${RUNS} cases)`, async function () {
    this.timeout(LONG ? 0 : RUNS * 3_000);
    restore = useEmulator(emu);
    await holds(seedCloud, ["--workspace", "acme"], 9);
  });

  it(`holds on Data Center (${RUNS} cases)`, async function () {
    this.timeout(LONG ? 0 : RUNS * 3_000);
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    await holds(seedDc, ["--project", "PROJ"], 9);
  });
});
