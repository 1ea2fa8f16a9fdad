// Issue 21, item 1: plan and `pulumi up` disagreed. Both reproductions of the issue, run for real:
// the manifest's program through the engine harness (the dynamic-provider host, the emulator),
// the command line in-process with `--state` from the harness's `pulumi stack export`.
// (a) An entry with `adopt: true` and no secret, against a hook that has one: plan said "adopted as
//     they are" (exit 0), and up removes the secret (as declared: the hook is brought to the
//     entry). Removing a secret is a certain change to a write-only field: plan now shows it.
// (b) A webhook with `name:` whose URL is edited: up updates it in place, plan said "+ create ...
//     gone from Bitbucket" (it looked the hook up by its new URL). Plan now finds what the stack
//     manages by the id the stack holds, and compares as the provider's diff does.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { fixture, type Fixture } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";

interface Planned {
  action: string;
  name: string;
  changes: Array<{ field: string; writeOnly?: boolean }>;
  note?: string;
}

describe("issue 21.1: plan says what pulumi up does", function () {
  this.timeout(120_000);
  let f: Fixture;
  let engine: Engine;
  let restore: () => void;
  let dir: string;
  beforeEach(async () => {
    f = await fixture();
    engine = new Engine(f.harness);
    restore = useEmulator(f.emulator);
    dir = workdir({});
  });
  afterEach(async () => {
    restore();
    pulumi.runtime.setAllConfig({}, []);
    setProviderConfig(() => undefined);
    await f.close();
  });

  const up = (text: string) =>
    engine.up(async () =>
      Object.values((await deployManifest(parseManifest(text, "bitbucket.yaml"), () => [])).resources),
    );
  const plan = async (text: string, state?: string) => {
    fs.writeFileSync(path.join(dir, "bitbucket.yaml"), text);
    const args = ["plan", "--format", "json"];
    if (state !== undefined) {
      fs.writeFileSync(path.join(dir, "state.json"), state);
      args.push("--state", "state.json");
    }
    const r = await run(args, dir);
    return { code: r.code, err: r.err, planned: (JSON.parse(r.out) as { resources: Planned[] }).resources };
  };
  const hooks = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks;

  it("(a) shows adopting a hook with a secret, declared without one, as a change: up removes the secret", async () => {
    f.emulator.store.addHook("acme", "api", {
      url: "https://hooks.example.test/ci",
      events: ["repo:push"],
      secret: "platform-secret",
    });
    const manifest = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
    adopt: true
`;
    const p = await plan(manifest);
    assert.equal(p.code, 2, "a change: not \"adopted as they are\"");
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.changes.map((c) => [c.field, c.writeOnly === true])]),
      [["adopt", [["secret", false]]]],
    );
    const r = await up(manifest);
    assert.equal(r.error, undefined);
    assert.deepEqual(
      r.steps.map((s) => s.op),
      ["create"],
    );
    assert.equal(engine.entry("Webhook", "webhook/acme/api/hooks.example.test/ci")?.outs.adopted, true);
    assert.equal(hooks()[0]!.secret, undefined, "up removed the secret, as plan said");
  });

  it("(b) shows a webhook with name: whose URL is edited as an update of that URL, found by the id the stack holds", async () => {
    const manifest = (url: string) => `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    name: ci
    url: ${url}
    events: [repo:push]
`;
    assert.equal((await up(manifest("https://hooks.example.test/old"))).error, undefined);
    const edited = manifest("https://hooks.example.test/new");
    const p = await plan(edited, engine.checkpoint());
    assert.equal(p.code, 2, p.err);
    assert.deepEqual(
      p.planned.map((x) => [x.action, x.name, x.changes.map((c) => c.field)]),
      [["update", "webhook/acme/api/ci", ["url"]]],
    );
    const r = await up(edited);
    assert.equal(r.error, undefined);
    assert.deepEqual(
      r.steps.map((s) => `${s.op} ${s.name}`),
      ["update webhook/acme/api/ci"],
    );
    assert.deepEqual(
      hooks().map((h) => h.url),
      ["https://hooks.example.test/new"],
      "the same hook, its URL changed",
    );
  });
});
