// Shards (manifest/shard.ts): one stack per workspace or project, from one manifest. Where each
// entry lands, what refuses an entry in no shard or in two, `--only` as a usage error, and against
// the emulator: the shards' declarations, plans and `pulumi up`s add up to the whole manifest's.

import * as assert from "node:assert/strict";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { declaredBy } from "../../provider/cli/declared";
import { expand } from "../../provider/manifest/expand";
import { isManifestError, parseManifest } from "../../provider/manifest/load";
import { partition, selectShard } from "../../provider/manifest/shard";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { Engine } from "../harness/deploy";
import { fixture, FAST_RETRIES, TOKEN } from "../harness/fixture";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "../cli/run";

const [ciKey, laptop, otherKey] = [
  ed25519("ci@example.test"),
  ed25519("me@laptop"),
  ed25519("x@example.test"),
];

/** Two workspaces (acme, the top-level one, and data), an integration with its consumer, an account key. */
const CLOUD = `version: 1
workspace: acme
webhooks:
  - repositories: [api, web]
    url: https://hooks.example.test/ci
    events: [repo:push]
  - workspace: data
    repositories: "etl-*"
    url: https://hooks.example.test/data
    events: [repo:push]
deployKeys:
  - workspace: data
    repositories: [etl-a]
    key: ${ciKey.publicLine}
    label: CI
pipelineVariables:
  - repositories: [api]
    key: REGION
    value: eu-west-1
    secured: false
  - workspace: data
    repositories: [etl-b]
    key: REGION
    value: us-east-1
    secured: false
sshKeys:
  - key: ${laptop.publicLine}
    label: laptop
oauthConsumers:
  - id: ci
    workspace: data
    name: CI
    scopes: [repository, webhook]
    key: { fromConfig: ciKey }
    secret: { fromConfig: ciSecret }
integrations:
  - id: generic
    workspace: data
    preset: generic
    consumer: ci
    repositories: [etl-a]
    options:
      webhooks:
        - url: https://ci.example.test/generic
          events: [repo:push]
`;

const cloud = () => parseManifest(CLOUD, "bitbucket.yaml");
const dc = (text: string) => parseManifest(`version: 1\nflavor: datacenter\n${text}`, "bitbucket.yaml");
/** What a ManifestError or any error says, one problem a line. */
const said = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isManifestError(e)
      ? e.problems.map((p) => `${p.loc.line}:${p.loc.col} ${p.message}`)
      : [(e as Error).message];
  }
  return [];
};
/** Each entry's `kind[index]`, per shard. */
const entriesOf = (text: string, only: string) => {
  const m = selectShard(parseManifest(text, "bitbucket.yaml"), only);
  return Object.entries(m)
    .filter(([, v]) => Array.isArray(v))
    .flatMap(([k, v]) => (v as Array<{ index: number }>).map((e) => `${k}[${e.index}]`));
};
const REPOS = (ws: string) =>
  ws === "data"
    ? [{ slug: "etl-a" }, { slug: "etl-b" }, { slug: "misc" }]
    : [{ slug: "api" }, { slug: "web" }];

describe("shards of a manifest (--only, stack config only)", () => {
  it("puts each entry in its workspace's shard and the account's SSH keys in account", () => {
    const p = partition(cloud());
    assert.deepEqual(p.problems, []);
    assert.deepEqual(p.shards, [
      { name: "workspace=acme", entries: 2 },
      { name: "workspace=data", entries: 5 },
      { name: "account", entries: 1 },
    ]);
    assert.deepEqual(entriesOf(CLOUD, "workspace=acme"), ["webhooks[0]", "pipelineVariables[0]"]);
    assert.deepEqual(entriesOf(CLOUD, "workspace=DATA"), [
      "webhooks[1]", "deployKeys[0]", "pipelineVariables[1]", "oauthConsumers[0]", "integrations[0]",
    ]); // prettier-ignore
    assert.deepEqual(entriesOf(CLOUD, "account"), ["sshKeys[0]"]);
  });

  it("keeps each selected entry's position in the whole file, so messages still point into it", () => {
    const m = selectShard(cloud(), "workspace=data");
    assert.equal(m.webhooks[0]!.loc.line, 7);
    assert.equal(m.webhooks[0]!.loc.path, "webhooks[1]");
    assert.equal(m.webhooks[0]!.index, 1);
  });

  it("declares in each shard what the whole manifest declares there, and the shards together declare it all", async () => {
    const m = cloud();
    const key = (d: { type: string; name: string; inputs: unknown }) =>
      `${d.type} ${d.name} ${JSON.stringify(d.inputs)}`;
    const whole = (await declaredBy(m, REPOS)).map(key).sort();
    const parts = [];
    for (const s of partition(m).shards)
      parts.push(...(await declaredBy(selectShard(m, s.name), REPOS)).map(key));
    assert.equal(whole.length, 10);
    assert.deepEqual(parts.sort(), whole, "each resource in exactly one shard, with the same inputs");
  });

  it("puts a Data Center entry in the project its selector names, and personal tokens in account", () => {
    const text = `version: 1
flavor: datacenter
project: PROJ
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/a
    events: [repo:refs_changed]
  - repositories: { project: OPS }
    url: https://hooks.example.test/b
    events: [repo:refs_changed]
  - repositories: "INFRA/tf-*"
    url: https://hooks.example.test/c
    events: [repo:refs_changed]
accessTokens:
  - user: ci-bot
    name: ci
    permissions: [PROJECT_READ]
`;
    assert.deepEqual(partition(parseManifest(text, "bitbucket.yaml")).shards, [
      { name: "project=PROJ", entries: 1 },
      { name: "project=OPS", entries: 1 },
      { name: "project=INFRA", entries: 1 },
      { name: "account", entries: 1 },
    ]);
    assert.deepEqual(entriesOf(text, "project=ops"), ["webhooks[1]"]);
  });

  it("refuses a Data Center entry made in two projects, at its line, saying to split it", () => {
    const m = dc(`webhooks:
  - projects: [PROJ, OPS]
    url: https://hooks.example.test/a
    events: [repo:refs_changed]
`);
    assert.deepEqual(
      said(() => selectShard(m, "project=PROJ")),
      [
        "4:5 this entry is made in 2 projects (PROJ, OPS), so it would be in 2 shards (project=PROJ, project=OPS): a shard is one project; split it into one entry per project (`project: PROJ`, `project: OPS`)",
      ],
    );
  });

  it("refuses an integration whose OAuth consumer is in another workspace, in every shard", () => {
    const m = parseManifest(
      CLOUD.replace("    workspace: data\n    preset: generic", "    preset: generic"),
      "bitbucket.yaml",
    );
    const expected = [
      "39:15 integration generic is in workspace=acme but its OAuth consumer ci is in workspace=data: with one stack per shard, workspace=acme would not declare the consumer; declare one for workspace acme (its own id) and name it here, or give both the same workspace",
    ];
    assert.deepEqual(
      said(() => selectShard(m, "workspace=acme")),
      expected,
    );
    assert.deepEqual(
      said(() => selectShard(m, "account")),
      expected,
    );
  });

  it("refuses an object two shards would both manage: an integration's account SSH key also in sshKeys", () => {
    const m = parseManifest(
      `version: 1
workspace: acme
sshKeys:
  - key: ${otherKey.publicLine}
integrations:
  - id: puppet
    preset: puppet-pipelines
    options:
      sshPublicKey: ${otherKey.publicLine}
`,
      "bitbucket.yaml",
    );
    const problems = said(() => selectShard(m, "account"));
    assert.equal(problems.length, 1);
    assert.equal(
      problems[0],
      "4:5 this SSH key on the account is already declared at integrations[0].options.sshPublicKey (bitbucket.yaml:9:21): both would manage one Bitbucket object; keep one",
    );
    assert.deepEqual(
      said(() => selectShard(m, "workspace=acme")),
      problems,
      "the workspace's shard says it too",
    );
  });

  it("says what is wrong with a --only that names no shard, with did you mean", () => {
    const m = cloud();
    const shards = "(this manifest's shards: workspace=acme, workspace=data, account)";
    assert.deepEqual(
      said(() => selectShard(m, "workspace=dat")),
      [
        `only "workspace=dat": no entry of this manifest is in workspace dat; did you mean workspace=data? ${shards}`,
      ],
    );
    assert.deepEqual(
      said(() => selectShard(m, "wrkspace=data")),
      [
        'only "wrkspace=data": unknown shard key "wrkspace"; did you mean workspace=data? (give workspace=NAME or account)',
      ],
    );
    assert.deepEqual(
      said(() => selectShard(m, "project=PROJ")),
      [
        `only "project=PROJ": this manifest is Bitbucket Cloud: its shards are workspaces; give workspace=NAME ${shards}`,
      ],
    );
    assert.deepEqual(
      said(() => selectShard(m, "workspace=")),
      [`only "workspace=": give the workspace's name: workspace=NAME ${shards}`],
    );
    assert.deepEqual(
      said(() => selectShard(m, " ")),
      [`only " ": name a shard: workspace=NAME or account ${shards}`],
    );
    assert.deepEqual(
      said(() => selectShard(dc("project: PROJ\n"), "account")),
      [
        `only "account": no entry of this manifest belongs to the account (SSH keys, personal access tokens); this manifest's shards: project=PROJ`,
      ],
    );
  });
});

describe("bitbucket-iac validate and plan --only", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": CLOUD });

  beforeEach(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "web"], data: ["etl-a", "etl-b", "misc"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu, { ciKey: "k", ciSecret: "s" });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  it("lists the shards, one a line, once every entry lands in exactly one", async () => {
    const r = await run(["validate", "--shards"], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "workspace=acme\nworkspace=data\naccount");
    assert.equal(r.err, "bitbucket.yaml: 3 shards, every entry in exactly one");
  });

  it("validates one shard and says how many entries it holds", async () => {
    const r = await run(["validate", "--only", "workspace=data"], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /: valid \(4 resources from explicit repository lists; .*\), shard workspace=data: 5 of 8 entries$/,
    );
  });

  it("answers a wrong --only with the usage, did you mean, and the shards", async () => {
    const v = await run(["validate", "--only", "workspace=acm"], dir);
    assert.equal(v.code, 64);
    assert.match(
      v.err,
      /^bitbucket-iac validate: --only workspace=acm: no entry of this manifest is in workspace acm; did you mean workspace=acme\? \(this manifest's shards: workspace=acme, workspace=data, account\)\n\nusage: bitbucket-iac validate/,
    );
    const p = await run(["plan", "--only", "team=acme"], dir);
    assert.equal(p.code, 64);
    assert.match(
      p.err,
      /^bitbucket-iac plan: --only team=acme: unknown shard key "team" \(give workspace=NAME or account\)\n\nusage: bitbucket-iac plan/,
    );
    assert.deepEqual(emu.log(), [], "nothing is read before --only is known to be right");
  });

  it("plans each shard so that the shards' plans add up to the whole plan, action by action", async () => {
    // An identical hook (adopted), a variable that differs (a conflict), the rest to create.
    await byHand(emu, "POST", "/repositories/acme/api/hooks", {
      url: "https://hooks.example.test/ci",
      events: ["repo:push"],
    });
    const variables = "/repositories/data/etl-b/pipelines_config/variables";
    await byHand(emu, "POST", variables, { key: "REGION", value: "eu", secured: false });
    const plan = async (...only: string[]) => {
      const r = await run(["plan", "--format", "json", ...only], dir);
      assert.ok(r.code === 2 || r.code === 3, r.err); // changes; 3: the conflict is in it
      return JSON.parse(r.out) as {
        summary: Record<string, number>;
        resources: Array<{ action: string; type: string; name: string; what: string }>;
      };
    };
    const whole = await plan();
    const shards = [];
    for (const s of ["workspace=acme", "workspace=data", "account"]) shards.push(await plan("--only", s));
    const row = (r: { action: string; type: string; name: string; what: string }) =>
      `${r.action} ${r.type} ${r.name} ${r.what}`;
    assert.deepEqual(shards.flatMap((s) => s.resources.map(row)).sort(), whole.resources.map(row).sort());
    const sum: Record<string, number> = {};
    for (const s of shards) for (const [k, n] of Object.entries(s.summary)) sum[k] = (sum[k] ?? 0) + n;
    assert.deepEqual(sum, whole.summary);
    assert.deepEqual(
      shards.map((s) =>
        s.resources
          .map((r) => r.action)
          .sort()
          .join(","),
      ),
      ["adopt,create,create", "conflict,create,create,create,create,verify", "create"],
    );
  });
});

describe("pulumi up of each shard's stack, with stack config only", function () {
  this.timeout(120_000);
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  /** Runs the program of Pulumi.yaml (provider/program.ts) with the manifest and `only` in stack config. */
  const program = (file: string, only?: string) => async () => {
    const p = pulumi.getProject(); // the program's stack config is its project's
    pulumi.runtime.setAllConfig(
      { [`${p}:manifest`]: file, [`${p}:ciKey`]: "ck", [`${p}:ciSecret`]: "cs", ...(only !== undefined && { [`${p}:only`]: only }) },
      [`${p}:ciKey`, `${p}:ciSecret`],
    ); // prettier-ignore
    const main = (await import("../../provider/program")) as unknown as {
      default: () => Promise<Record<string, unknown>>;
    };
    return Object.values(await main.default());
  };

  it("makes, stack by stack, what one stack makes, each resource in exactly one stack", async () => {
    const dir = workdir({ "bitbucket.yaml": CLOUD });
    const file = path.join(dir, "bitbucket.yaml");
    const seed = {
      workspaces: { acme: ["api", "web"], data: ["etl-a", "etl-b", "misc"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      consumers: [{ key: "ck", secret: "cs", scopes: ["repository", "webhook"], private: true }],
    };
    const made = async (only: string[] | undefined) => {
      const f = await fixture(seed);
      Object.assign(process.env, FAST_RETRIES, {
        BITBUCKET_API_URL: f.emulator.apiUrl,
        BITBUCKET_TOKEN: TOKEN,
      });
      try {
        const stacks: string[][] = [];
        for (const s of only ?? [undefined]) {
          const engine = new Engine(f.harness);
          const first = await engine.up(program(file, s));
          assert.equal(first.error, undefined, first.error?.message);
          const again = await engine.up(program(file, s));
          assert.deepEqual(
            again.steps.filter((x) => x.op !== "same"),
            [],
            `${s}: a second up changes nothing`,
          );
          stacks.push(first.steps.map((x) => `${x.op} ${x.type} ${x.name}`));
        }
        return { stacks, hooks: f.emulator.store.workspaces.get("data")!.repos.get("etl-a")!.hooks.length };
      } finally {
        await f.close();
      }
    };
    const one = await made(undefined);
    const sharded = await made(["workspace=acme", "workspace=data", "account"]);
    assert.equal(one.stacks[0]!.length, 10);
    assert.deepEqual(sharded.stacks.flat().sort(), one.stacks[0]!.sort());
    assert.deepEqual(
      sharded.stacks.map((s) => s.length),
      [3, 6, 1],
    );
    assert.equal(sharded.hooks, one.hooks, "etl-a has its entry's hook and the integration's, once each");
  });

  it("fails, naming the shard it meant, when stack config only names no shard", async () => {
    const dir = workdir({ "bitbucket.yaml": CLOUD });
    await assert.rejects(
      program(path.join(dir, "bitbucket.yaml"), "workspace=acmee")(),
      /^Error: only "workspace=acmee": no entry of this manifest is in workspace acmee; did you mean workspace=acme\?/,
    );
  });
});

describe("expand of a shard", () => {
  it("names each resource as the whole manifest names it", () => {
    const m = cloud();
    const whole = expand(m, REPOS)
      .map((s) => s.name)
      .sort();
    const parts = partition(m).shards.flatMap((s) =>
      expand(selectShard(m, s.name), REPOS).map((x) => x.name),
    );
    assert.deepEqual(parts.sort(), whole);
  });
});
