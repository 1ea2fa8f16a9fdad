// Issue 19.1: a later run deleted an object that another resource of the stack holds. Run 2
// renames an entry, the new resource adopts the hook, an unrelated conflict fails the run (so the
// engine skips deletes) and leaves two resources in state on one hook; run 3, in a new host
// process, deleted the old resource and with it the hook the new one holds. Each run here starts
// anew in the host (Harness.newRun), as each `pulumi up` finds a new process.

import * as assert from "node:assert/strict";
import {
  DeployKey,
  PipelineKnownHost,
  PipelineSshKeyPair,
  PipelineVariable,
  SshKey,
  Webhook,
} from "../../provider";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine, type Step } from "../harness/deploy";
import { fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

const URL_A = "https://hooks.example.test/a";
const URL_B = "https://hooks.example.test/b";
const ops = (steps: Step[]) => steps.map((s) => `${s.op} ${s.type} ${s.name}`).sort();
const deploy = (text: string) => async () =>
  Object.values(
    (
      await deployManifest(parseManifest(`version: 1\nworkspace: acme\n${text}`, "bitbucket.yaml"), () => [
        { slug: "api" },
        { slug: "web" },
      ])
    ).resources,
  );

const hook = (name: string, repo = "api") =>
  `  - repositories: [${repo}]\n    name: ${name}\n    url: ${URL_A}\n    events: [repo:push]\n`;
/** An entry whose hook exists by hand with other events: without adopt: true its create fails. */
const conflicting = `  - repositories: [web]\n    url: ${URL_B}\n    events: [repo:push]\n`;

describe("issue 19.1: ownership across runs", () => {
  let f: Fixture;
  let engine: Engine;
  beforeEach(async () => {
    f = await fixture();
    engine = new Engine(f.harness);
    f.emulator.store.addHook("acme", "web", { url: URL_B, events: ["issue:created"] });
  });
  afterEach(async () => f?.close());

  /** Run 1 declares `ci`; run 2 renames it to `jenkins` and fails on the unrelated conflict. */
  async function twoHoldersOfOneHook(renamed = hook("jenkins")) {
    assert.equal((await engine.up(deploy(`webhooks:\n${hook("ci")}`))).error, undefined);
    const failed = await engine.up(deploy(`webhooks:\n${renamed}${conflicting}`));
    assert.match(String(failed.error), /already exists in Bitbucket and differs/);
    const ci = engine.entry("Webhook", "webhook/acme/api/ci");
    const jenkins = [...engine.state.values()].find((e) => e.name !== ci?.name);
    assert.ok(ci && jenkins, "the failed run left both resources in state");
    assert.equal(jenkins.id, ci.id, "both hold the one hook");
    return jenkins;
  }

  it("does not delete the hook a renamed entry adopted when the run between them failed", async () => {
    const jenkins = await twoHoldersOfOneHook();
    const third = await engine.up(deploy(`webhooks:\n${hook("jenkins")}`));
    assert.equal(third.error, undefined);
    assert.deepEqual(ops(third.steps), [
      "delete Webhook webhook/acme/api/ci",
      "same Webhook webhook/acme/api/jenkins",
    ]);
    const hooks = f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks;
    assert.deepEqual(
      hooks.map((h) => h.url),
      [URL_A],
      "the hook jenkins holds is still in Bitbucket",
    );
    assert.equal(`acme/api/${hooks[0]!.uuid}`.endsWith(jenkins.id.split("/").pop()!), true);
    assert.ok(!f.emulator.log().some((l) => l.startsWith("DELETE")), "no DELETE was sent");
    await f.harness.expectStderr(
      /not deleting webhook https:\/\/hooks\.example\.test\/a on acme\/api: .*"webhook\/acme\/api\/jenkins" holds it/,
    );
    // The record is gone; the hook lives on under jenkins, and a refresh finds it.
    assert.deepEqual(
      (await engine.refresh()).map((r) => `${r.name} ${r.gone ? "gone" : "there"}`),
      ["webhook/acme/api/jenkins there"],
    );
  });

  it("deletes the hook once no resource holds it any more", async () => {
    await twoHoldersOfOneHook();
    await engine.up(deploy(`webhooks:\n${hook("jenkins")}`));
    const last = await engine.up(deploy(`webhooks: []\n`));
    assert.equal(last.error, undefined);
    assert.deepEqual(ops(last.steps), ["delete Webhook webhook/acme/api/jenkins"]);
    assert.deepEqual(f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks, []);
  });

  it("keeps the hook when the holder changes in place in the same run the old record is deleted", async () => {
    await twoHoldersOfOneHook();
    const third = await engine.up(
      deploy(
        `webhooks:\n  - repositories: [api]\n    name: jenkins\n    url: ${URL_A}\n    events: [repo:push, pullrequest:created]\n`,
      ),
    );
    assert.equal(third.error, undefined);
    assert.deepEqual(ops(third.steps), [
      "delete Webhook webhook/acme/api/ci",
      "update Webhook webhook/acme/api/jenkins",
    ]);
    const hooks = f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks;
    assert.deepEqual(
      hooks.map((h) => [h.url, [...h.events].sort()]),
      [[URL_A, ["pullrequest:created", "repo:push"]]],
    );
  });

  it("still deletes the old hook of a replacement (its holder gives it up)", async () => {
    // A replace (another repository) creates a new hook and deletes the old one at the end.
    assert.equal((await engine.up(deploy(`webhooks:\n${hook("ci")}`))).error, undefined);
    const moved = await engine.up(deploy(`webhooks:\n${hook("ci", "web")}`));
    assert.equal(moved.error, undefined);
    const ws = f.emulator.store.workspaces.get("acme")!;
    assert.deepEqual(ws.repos.get("api")!.hooks, []);
    assert.deepEqual(
      ws.repos.get("web")!.hooks.map((h) => h.url),
      [URL_B, URL_A],
    );
  });

  it("keeps the hook when the entry moved to an alias of its repository (its {uuid}) and a run failed between", async () => {
    const repoUuid = f.emulator.store.workspaces.get("acme")!.repos.get("api")!.uuid;
    const at = (name: string, repository: string) => () =>
      new Webhook(name, { workspace: "acme", repository, url: URL_A, events: ["repo:push"] });
    const blocker = () =>
      new Webhook("blocker", { workspace: "acme", repository: "web", url: URL_B, events: ["repo:push"] });
    assert.equal((await engine.up(() => [at("by-slug", "api")()])).error, undefined);
    const failed = await engine.up(() => [at("by-uuid", repoUuid)(), blocker()]);
    assert.match(String(failed.error), /already exists in Bitbucket and differs/);
    assert.equal(
      engine.entry("Webhook", "by-uuid")?.outs.uuid,
      engine.entry("Webhook", "by-slug")?.outs.uuid,
    );
    const third = await engine.up(() => [at("by-uuid", repoUuid)()]);
    assert.equal(third.error, undefined);
    assert.deepEqual(ops(third.steps), ["delete Webhook by-slug", "same Webhook by-uuid"]);
    assert.deepEqual(
      f.emulator.store.workspaces
        .get("acme")!
        .repos.get("api")!
        .hooks.map((h) => h.url),
      [URL_A],
    );
  });

  describe("every kind follows the rule", () => {
    const k = ed25519();
    const where = { workspace: "acme", repository: "api" };
    const kinds: Array<[string, (name: string) => unknown, () => number]> = [
      [
        "DeployKey",
        (n) => new DeployKey(n, { ...where, key: k.publicLine, label: "CI" }),
        () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.deployKeys.length,
      ],
      [
        "SshKey",
        (n) => new SshKey(n, { key: k.publicLine, label: "bot" }),
        () => [...f.emulator.store.accounts.values()].reduce((a, u) => a + u.sshKeys.length, 0),
      ],
      [
        "PipelineVariable",
        (n) => new PipelineVariable(n, { ...where, key: "REGION", value: "eu", secured: false }),
        () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.variables.length,
      ],
      [
        "PipelineKnownHost",
        (n) =>
          new PipelineKnownHost(n, { ...where, hostname: "deploy.example.test", publicKey: k.publicLine }),
        () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!.knownHosts.length,
      ],
      [
        "PipelineSshKeyPair",
        (n) =>
          new PipelineSshKeyPair(n, {
            ...where,
            privateKey: k.privatePem,
            publicKey: k.publicLine,
            adopt: true,
          }),
        () => (f.emulator.store.workspaces.get("acme")!.repos.get("api")!.keyPair ? 1 : 0),
      ],
    ];
    const blocker = () =>
      new Webhook("blocker", { workspace: "acme", repository: "web", url: URL_B, events: ["repo:push"] });
    for (const [type, declare, count] of kinds) {
      it(`keeps the ${type} a renamed resource holds when the old record is deleted a run later`, async () => {
        assert.equal((await engine.up(() => [declare("old")])).error, undefined);
        assert.equal(count(), 1);
        const failed = await engine.up(() => [declare("new"), blocker()]);
        assert.match(String(failed.error), /already exists in Bitbucket and differs/);
        assert.equal(
          engine.entry(type, "new")?.id,
          engine.entry(type, "old")?.id,
          "both records hold one object",
        );
        const third = await engine.up(() => [declare("new")]);
        assert.equal(third.error, undefined);
        assert.deepEqual(ops(third.steps), [`delete ${type} old`, `same ${type} new`]);
        assert.equal(count(), 1, `the ${type} is still in Bitbucket`);
        assert.ok(!f.emulator.log().some((l) => l.startsWith("DELETE")), "no DELETE was sent");
        const last = await engine.up(() => []);
        assert.deepEqual(ops(last.steps), [`delete ${type} new`]);
        assert.equal(count(), 0, "deleted once nothing holds it");
      });
    }
  });
});
