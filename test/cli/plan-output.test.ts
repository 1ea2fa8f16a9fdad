// What `bitbucket-iac plan` says, line for line: the fields of an object to create, the steps a
// stack's state adds (gone from Bitbucket, deletes kept by retainOnDelete), what plan cannot look
// up, a --state file that is not a stack export, the cost in --stats and the progress of a long
// plan. plan.test.ts covers the actions; these pin the text a user reads for each.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { planOne, type Planned } from "../../provider/cli/plan";
import { render } from "../../provider/cli/report";
import { keyShown } from "../../provider/ssh";
import { startEmulator, type Emulator } from "../emulator/server";
import { DEFAULT_SEED } from "../harness/fixture";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "./run";

const deployKey = ed25519("ci@example.test");
const host = ed25519();
const fingerprint = (k: { publicLine: string }) => keyShown(k.publicLine).split(" ")[1]!;

/**
 * Every way a field can be shown: quoted text, a list, a boolean, a key, a URL with a credential, a
 * secret, a value; `false` where the default is true (an inactive hook, a plain variable); and
 * fields left out: false by default, empty, not given (the second webhook has no secret).
 */
const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci?token=abc123
    events: [repo:push, pullrequest:created]
    description: CI hook
    skipCertVerification: true
    active: false
    secret: { fromConfig: hookSecret }
  - repositories: [api]
    url: https://hooks.example.test/plain
    events: [repo:push]
    description: ""
  - repositories: [api]
    name: deploys
    url: { fromConfig: deployHookUrl }
    events: [repo:push]
deployKeys:
  - repositories: [api]
    key: ${deployKey.publicLine}
    label: CI
pipelineVariables:
  - repositories: [api]
    key: REGION
    value: eu-west-1
    secured: false
  - key: WS_TOKEN
    value: { fromEnv: WS_TOKEN }
knownHosts:
  - repositories: [api]
    hostname: deploy.example.test
    publicKey: ${host.publicLine}
oauthConsumers:
  - id: ci
    name: CI
    scopes: [repository]
    key: { fromConfig: ciKey }
    secret: { fromConfig: ciSecret }
`;

/** A `pulumi stack export` holding `resources` (type, name, and any other field of the export). */
const stackExport = (resources: Array<Record<string, unknown> | null>) =>
  JSON.stringify({
    version: 3,
    deployment: {
      resources: resources.map((r) =>
        r !== null && typeof r.type === "string" && typeof r.name === "string"
          ? {
              urn: `urn:pulumi:dev::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:${r.type}::${r.name}`,
              ...r,
              type: `pulumi-nodejs:dynamic/bitbucket:${r.type}`,
              name: undefined,
              custom: true,
            }
          : r,
      ),
    },
  });

describe("bitbucket-iac plan: what it says", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string;
  const shown = (out: string) => out.replace(emu.apiUrl, "http://127.0.0.1:PORT/2.0");

  beforeEach(async () => {
    emu = await startEmulator({ ...DEFAULT_SEED, workspaces: { acme: ["api", "web"], beta: ["api"] } });
    restore = useEmulator(emu);
    dir = workdir({ "bitbucket.yaml": MANIFEST });
  });
  afterEach(async () => {
    restore();
    fs.rmSync(dir, { recursive: true, force: true });
    await emu.close();
  });

  it("lists each declared field of an object to create, sorted, as people read them: defaults and where it lives left out, URL credentials masked, values as JSON, plain variable values shown, secrets and secured values never", async () => {
    const r = await run(["plan"], dir);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      shown(r.out),
      [
        "bitbucket-iac plan: bitbucket.yaml against http://127.0.0.1:PORT/2.0 (no --state: planned as for a new stack)",
        "",
        `+ create   deploy key ${fingerprint(deployKey)} on acme/api`,
        `    resource: DeployKey deploy-key/acme/api/${fingerprint(deployKey).slice(7, 19)}`,
        `    key: "ssh-ed25519 ${fingerprint(deployKey)}"`,
        '    label: "CI"',
        "+ create   known host deploy.example.test on acme/api",
        "    resource: PipelineKnownHost known-host/acme/api/deploy.example.test",
        '    hostname: "deploy.example.test"',
        `    publicKey: "ssh-ed25519 ${fingerprint(host)}"`,
        "+ create   variable WS_TOKEN on workspace acme",
        "    resource: PipelineVariable variable/acme/*/WS_TOKEN",
        '    key: "WS_TOKEN"',
        "    secured: true",
        "    value: (write-only)",
        "+ create   variable REGION on acme/api",
        "    resource: PipelineVariable variable/acme/api/REGION",
        '    key: "REGION"',
        "    secured: false",
        '    value: "eu-west-1"',
        "+ create   webhook https://hooks.example.test/ci?token=*** on acme/api",
        "    resource: Webhook webhook/acme/api/hooks.example.test/ci",
        "    active: false",
        '    description: "CI hook"',
        '    events: ["pullrequest:created", "repo:push"]',
        "    secret: (write-only)",
        "    skipCertVerification: true",
        '    url: "https://hooks.example.test/ci?token=***"',
        "+ create   webhook https://hooks.example.test/plain on acme/api",
        "    resource: Webhook webhook/acme/api/hooks.example.test/plain",
        "    active: true",
        '    events: ["repo:push"]',
        '    url: "https://hooks.example.test/plain"',
        "",
        "Plan: 6 to create, 0 to update, 0 to delete, 0 to adopt with changes; 0 unchanged, 1 OAuth consumer to verify, 1 not looked up (a URL from a secret reference).",
      ].join("\n"),
    );
    assert.doesNotMatch(r.out, /abc123/); // the URL's credential; a plain value is shown (#21 item 8)
  });

  it("says what it cannot look up and why: an OAuth consumer by its name and workspace, a webhook whose URL is a secret reference", async () => {
    const r = await run(["plan", "--format", "json"], dir);
    assert.equal(r.code, 2, r.err);
    const verify = (JSON.parse(r.out) as { resources: Array<Record<string, unknown>> }).resources.filter(
      (p) => p.action === "verify",
    );
    assert.deepEqual(verify, [
      {
        type: "OAuthConsumer",
        name: "oauth-consumer/ci",
        changes: [],
        action: "verify",
        what: 'OAuth consumer "CI" in acme',
        note: "Bitbucket has no API to read consumers: pulumi up verifies its key and secret with a client_credentials grant",
        place: "workspace acme",
      },
      {
        type: "Webhook",
        name: "webhook/acme/api/deploys",
        changes: [],
        action: "verify",
        what: "webhook (secret not read by plan) on acme/api",
        note: "its url comes from a secret reference, which plan does not read, so plan cannot look it up; pulumi up finds it by that value and adopts or creates it",
        place: "acme/api",
      },
    ]);
    assert.deepEqual(
      emu.log().filter((l) => l.includes("/hooks")),
      ["GET /2.0/repositories/acme/api/hooks"],
      "the hooks listed once, for the hook plan can look up",
    );
  });

  it("says an identical object is adopted as it is, and names a resource it could not look up when the lookup itself fails", async () => {
    const key = ed25519("me@laptop");
    fs.writeFileSync(
      path.join(dir, "keys.yaml"),
      `version: 1\nworkspace: acme\ndeployKeys:\n  - repositories: [api]\n    key: ${deployKey.publicLine}\n    label: CI\nsshKeys:\n  - key: ${key.publicLine}\n    label: laptop\n`,
    );
    await byHand(emu, "POST", "/repositories/acme/api/deploy-keys", {
      key: deployKey.publicLine,
      label: "CI",
    });
    emu.fault({ path: /^\/2\.0\/user$/, status: 403, times: 100 });
    const r = await run(["plan", "keys.yaml", "--format", "json"], dir);
    assert.equal(r.code, 3, r.err); // a resource could not be planned
    const j = JSON.parse(r.out) as { resources: Array<Record<string, unknown>> };
    const sshKeyName = j.resources.find((p) => p.type === "SshKey")?.name as string;
    assert.match(sshKeyName, /^ssh-key\//);
    assert.deepEqual(
      j.resources.map(({ type, action, what, note, error }) => ({ type, action, what, note, error })),
      [
        {
          type: "DeployKey",
          action: "adopt",
          what: `deploy key ${fingerprint(deployKey)} on acme/api`,
          note: "exists, identical: adopted as it is",
          error: undefined,
        },
        {
          type: "SshKey",
          action: "nothing",
          what: sshKeyName,
          note: undefined,
          error: j.resources[1]!.error,
        },
      ],
    );
    assert.match(String(j.resources[1]!.error), /^GET \/user failed \(403\)/);
  });

  it("with --state, creates again what the stack holds but Bitbucket lost, deletes what is no longer declared, and says which deletes retainOnDelete keeps in Bitbucket", async () => {
    fs.writeFileSync(
      path.join(dir, "one.yaml"),
      "version: 1\nworkspace: acme\npipelineVariables:\n  - repositories: [api]\n    key: REGION\n    value: eu-west-1\n    secured: false\n",
    );
    fs.writeFileSync(
      path.join(dir, "state.json"),
      stackExport([
        {
          urn: "urn:pulumi:dev::bitbucket-iac::pulumi:pulumi:Stack::bitbucket-iac-dev",
          type: "pulumi:pulumi:Stack",
        },
        { type: "PipelineVariable", name: "variable/acme/api/REGION", id: "{var-uuid}" },
        { type: "Webhook", name: "webhook/acme/web/kept.example.test", id: "{kept}", retainOnDelete: true },
        { type: "Webhook", name: "webhook/acme/web/old.example.test", id: "{old}", retainOnDelete: false },
        { type: "DeployKey", name: "deploy-key/acme/web/no-id" },
        // Not bitbucket-iac resources, or not resources at all: left alone.
        null,
        { urn: "urn:pulumi:dev::bitbucket-iac::aws:s3/bucket:Bucket::logs", type: "aws:s3/bucket:Bucket" },
        { type: 7, urn: "urn:x" },
        { type: "pulumi-nodejs:dynamic/bitbucket:Webhook", id: "no-urn" },
      ]),
    );
    const r = await run(["plan", "one.yaml", "--state", "state.json"], dir);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      shown(r.out),
      [
        "bitbucket-iac plan: one.yaml against http://127.0.0.1:PORT/2.0 (stack state from state.json)",
        "",
        "+ create   variable REGION on acme/api",
        "    resource: PipelineVariable variable/acme/api/REGION",
        '    key: "REGION"',
        "    secured: false",
        '    value: "eu-west-1"',
        "    the stack holds it but it is gone from Bitbucket: pulumi up --refresh creates it again",
        "- delete   DeployKey deploy-key/acme/web/no-id",
        "    resource: DeployKey deploy-key/acme/web/no-id",
        "- delete   Webhook {kept}",
        "    resource: Webhook webhook/acme/web/kept.example.test",
        "    retainOnDelete: removed from the stack, left in Bitbucket",
        "- delete   Webhook {old}",
        "    resource: Webhook webhook/acme/web/old.example.test",
        "",
        "Plan: 1 to create, 0 to update, 3 to delete, 0 to adopt with changes; 0 unchanged.",
      ].join("\n"),
    );
    // Once it exists again, the stack's object is up to date: no note, nothing to create.
    await byHand(emu, "POST", "/repositories/acme/api/pipelines_config/variables", {
      key: "REGION",
      value: "eu-west-1",
      secured: false,
    });
    const again = await run(["plan", "one.yaml", "--state", "state.json"], dir);
    assert.doesNotMatch(again.out, /^\+ create|gone from Bitbucket/m);
    assert.match(
      again.out,
      /Plan: 0 to create, 0 to update, 3 to delete, 0 to adopt with changes; 1 unchanged\.$/,
    );
  });

  it("refuses an --out file it could not write, or one that would overwrite the manifest or --state file, before reading Bitbucket", async () => {
    fs.writeFileSync(path.join(dir, "state.json"), stackExport([]));
    const cases: Array<[string[], string]> = [
      [
        ["--out", "missing/plan.md"],
        `--out missing/plan.md: there is no directory "missing"; name a file in an existing directory`,
      ],
      [["--out", "."], `--out .: is a directory; name a file, e.g. --out plan.md`],
      [
        ["--out", "bitbucket.yaml"],
        `--out bitbucket.yaml would overwrite the manifest; name another file, e.g. --out plan.md`,
      ],
      [
        ["--out", "./state.json", "--state", "state.json"],
        `--out ./state.json would overwrite the --state file; name another file, e.g. --out plan.md`,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(["plan", ...args], dir);
      assert.equal(r.code, 64, r.err);
      assert.equal(r.err, `bitbucket-iac plan: ${message}`);
      assert.equal(r.out, "");
    }
    assert.deepEqual(emu.log(), [], "nothing was read");
    assert.equal(fs.readFileSync(path.join(dir, "bitbucket.yaml"), "utf8"), MANIFEST);
  });

  it("never shows a credential in the API URL: the header of text, JSON and the --out file masks it", async () => {
    process.env.BITBUCKET_API_URL = emu.apiUrl.replace("http://", "http://ci:pa55word@");
    for (const args of [[], ["--format", "json"], ["--out", "plan.md"]]) {
      const r = await run(["plan", ...args], dir);
      const written = args.includes("--out") ? fs.readFileSync(path.join(dir, "plan.md"), "utf8") : "";
      for (const text of [r.out, r.err, written]) assert.doesNotMatch(text, /pa55word/);
      assert.match(r.out + written, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/2\.0/);
    }
  });

  it("refuses a --state file that is not a stack export, saying what is wrong and how to make one", async () => {
    const refused = async (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text);
      const r = await run(["plan", "--state", name], dir);
      assert.equal(r.code, 1, r.out);
      assert.equal(r.out, "");
      return r.err;
    };
    assert.equal(
      await refused("broken.json", "{ not json"),
      `bitbucket-iac plan: --state broken.json: ${jsonError("{ not json")}; give the output of \`pulumi stack export --file broken.json\``,
    );
    for (const [name, text] of [
      ["null.json", "null"],
      ["empty.json", "{}"],
      ["no-resources.json", '{"deployment":{}}'],
      ["not-a-list.json", '{"deployment":{"resources":{}}}'],
    ] as const) {
      assert.equal(
        await refused(name, text),
        `bitbucket-iac plan: --state ${name}: not a Pulumi stack export (no deployment.resources); make it with \`pulumi stack export --file ${name}\``,
      );
    }
    assert.deepEqual(emu.log(), [], "nothing read from Bitbucket");
  });

  it("refuses a --state file over 64 MiB by its size, and /dev/zero once 64 MiB came, pointing to a plan without --state", async () => {
    const big = path.join(dir, "big.json");
    fs.closeSync(fs.openSync(big, "w"));
    fs.truncateSync(big, 65 * 1024 * 1024); // sparse: no 65 MiB written to disk
    const r = await run(["plan", "--state", "big.json"], dir);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "bitbucket-iac plan: --state big.json: the file is 65 MiB, and plan reads at most 64 MiB of a stack export: is this the output of `pulumi stack export --file big.json`? For a stack this large, plan without --state (it plans as for a new stack)",
    );
    const zero = await run(["plan", "--state", "/dev/zero"], dir);
    assert.equal(zero.code, 1);
    assert.equal(
      zero.err,
      "bitbucket-iac plan: --state /dev/zero: more than 64 MiB came from this pipe or device, and plan reads at most 64 MiB of a stack export: is this the output of `pulumi stack export --file /dev/zero`? For a stack this large, plan without --state (it plans as for a new stack)",
    );
  });

  it("counts the repositories of a plan in --stats, each once whatever its case or kind, per workspace, and shows progress every tenth of a long plan", async () => {
    const keys = Array.from({ length: 17 }, (_, i) => `K${i}`);
    fs.writeFileSync(
      path.join(dir, "many.yaml"),
      [
        "version: 1",
        "workspace: acme",
        "webhooks:",
        "  - repositories: [API]",
        "    url: https://hooks.example.test/ci",
        "    events: [repo:push]",
        "  - repositories: [api]",
        "    workspace: beta",
        "    url: https://hooks.example.test/ci",
        "    events: [repo:push]",
        "sshKeys:",
        `  - key: ${host.publicLine}`,
        "pipelineVariables:",
        ...keys.flatMap((k) => [
          "  - repositories: [api]",
          `    key: ${k}`,
          "    value: v",
          "    secured: false",
        ]),
        "",
      ].join("\n"),
    );
    const r = await run(["plan", "many.yaml", "--stats"], dir);
    const lines = r.err.split("\n");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("plan: ")),
      ["2/20", "4/20", "6/20", "8/20", "10/20", "12/20", "14/20", "16/20", "18/20", "20/20"].map(
        (n) => `plan: resources read: ${n}`,
      ),
    );
    const requests = Number(/^plan stats: (\d+) requests/m.exec(r.err)?.[1]);
    assert.ok(requests > 0, r.err);
    assert.ok(
      lines.includes(
        `  20 resources (${(requests / 20).toFixed(2)} requests each), 2 repositories (${(requests / 2).toFixed(2)} requests each)`,
      ),
      r.err,
    );
  });
});

/** What JSON.parse says of `text`, as this Node says it. */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} parses`);
}

describe("plan of one resource (planOne)", () => {
  it("reports a resource its provider rejects as an error naming each property and reason, not a lookup", async () => {
    const p = await planOne(
      {
        type: "Webhook",
        name: "webhook/acme/api/hooks.example.test/a",
        inputs: {
          workspace: "acme",
          repository: "api",
          url: "http://hooks.example.test/a",
          events: ["repo:push", "repo:push"],
        },
        secrets: [],
      },
      false,
    );
    assert.deepEqual(p, {
      type: "Webhook",
      name: "webhook/acme/api/hooks.example.test/a",
      changes: [],
      action: "nothing",
      what: "webhook/acme/api/hooks.example.test/a",
      error:
        'url: "http://hooks.example.test/a" is not https: payloads would travel in plain text; use https, or set allowHttp: true; events[1]: "repo:push" is listed twice (Bitbucket rejects duplicate events)',
    });
  });

  it("reports a kind it has no planner for as an error, not a crash", async () => {
    const p = await planOne({ type: "Mystery", name: "mystery/x", inputs: {}, secrets: [] }, false);
    assert.deepEqual(p, {
      type: "Mystery",
      name: "mystery/x",
      changes: [],
      action: "nothing",
      what: "mystery/x",
      error: "no planner for Mystery",
    });
  });
});

describe("plan's order", () => {
  it("is the same whatever the machine's locale: a plan diffs cleanly between a laptop and CI", () => {
    const step = (name: string): Planned => ({
      action: "create",
      type: "Webhook",
      name,
      what: `webhook ${name}`,
      changes: [],
      place: `acme/${name}`,
    });
    const planned = ["zeta", "äpple", "Beta", "alpha"].map(step);
    const markdown = () =>
      render({ manifest: "m.yaml", apiUrl: "https://api.bitbucket.org/2.0", planned }, "markdown");
    const english = markdown();
    assert.deepEqual(english.match(/^#### .*$/gm), [
      "#### acme/alpha",
      "#### acme/äpple",
      "#### acme/Beta",
      "#### acme/zeta",
    ]);
    // A machine whose locale is Swedish (LANG=sv_SE.UTF-8) sorts "ä" after "z" by default.
    const swedish = new Intl.Collator("sv");
    const original = String.prototype.localeCompare;
    String.prototype.localeCompare = function (this: string, that: string) {
      return swedish.compare(this, that);
    };
    try {
      assert.equal(markdown(), english);
    } finally {
      String.prototype.localeCompare = original;
    }
  });
});
