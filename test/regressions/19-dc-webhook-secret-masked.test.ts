// Issue 19, case 9: a Data Center server that does not return a webhook's `configuration.secret`
// (Atlassian does not document that 9.x does: masking is the safe assumption). State used to drop
// secretSet and secretHash right after the create, so every later `up` saw a secret change and
// PUT the hook again. Each run goes through the program engine (mocks -> the real
// dynamic-provider host -> the emulator), once with the secret returned and once masked.

import * as assert from "node:assert/strict";
import { Webhook } from "../../provider";
import { Engine, type Step } from "../harness/deploy";
import { DC_SEED, dcFixture, type Fixture } from "../harness/fixture";

const HOOKS = "/rest/api/latest/projects/PROJ/repos/api/webhooks";
const ops = (steps: Step[]) => steps.map((s) => `${s.op} ${s.type} ${s.name}`);

for (const masked of [false, true]) {
  describe(`issue 19.9: a Data Center webhook secret the server ${masked ? "masks" : "returns"}`, function () {
    this.timeout(120_000);
    let f: Fixture;
    let engine: Engine;
    beforeEach(async () => {
      f = await dcFixture({ ...DC_SEED, dc: { ...DC_SEED.dc, maskWebhookSecret: masked } });
      engine = new Engine(f.harness);
    });
    afterEach(async () => f.close());

    const stored = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.hooks;
    const writes = () => f.emulator.log().filter((l) => !l.startsWith("GET"));
    const program = (secret?: string) => () => [
      new Webhook("ci", {
        project: "PROJ",
        repository: "api",
        url: "https://hooks.example.test/dc-ci",
        events: ["repo:refs_changed"],
        ...(secret !== undefined && { secret }),
      }),
    ];
    const state = () => engine.entry("Webhook", "ci")!.outs;

    it(`${masked ? "answers without the secret, and " : ""}keeps secretSet and the hash through create, refresh and a second up that sends no PUT`, async () => {
      const first = await engine.up(program("s3cret-one"));
      assert.equal(first.error, undefined);
      assert.deepEqual(ops(first.steps), ["create Webhook ci"]);
      const post = f.emulator.entries().find((e) => e.method === "POST")!;
      assert.deepEqual(
        (post.responseBody as { configuration?: unknown }).configuration,
        masked ? {} : { secret: "s3cret-one" },
        "the emulator's switch decides whether the answer carries the secret",
      );
      assert.deepEqual(stored()[0]?.configuration, { secret: "s3cret-one" });
      const created = state();
      assert.equal(created.secretSet, true);
      assert.match(String(created.secretHash), /\S/);

      const [read] = await engine.refresh();
      assert.equal(read?.gone, false);
      assert.equal(read?.props.secretSet, true, "refresh keeps what state says was sent");
      assert.equal(read?.props.secretHash, created.secretHash);

      const same = await f.harness.plan("Webhook", engine.entry("Webhook", "ci")!.id, state(), {
        ...engine.entry("Webhook", "ci")!.inputs,
        secret: "s3cret-one",
      });
      assert.deepEqual([same.changes, same.replaces], [false, []]);

      f.emulator.resetLog();
      const second = await engine.up(program("s3cret-one"));
      assert.equal(second.error, undefined);
      assert.deepEqual(ops(second.steps), ["same Webhook ci"]);
      assert.deepEqual(writes(), [], "no PUT for an unchanged secret");
    });

    it("still sees a changed secret (one PUT carrying it) and a removed one (an empty configuration), then rests", async () => {
      assert.equal((await engine.up(program("s3cret-one"))).error, undefined);
      const before = state().secretHash;

      f.emulator.resetLog();
      const changed = await engine.up(program("s3cret-two"));
      assert.equal(changed.error, undefined);
      assert.deepEqual(ops(changed.steps), ["update Webhook ci"]);
      const id = stored()[0]!.id;
      assert.deepEqual(writes(), [`PUT ${HOOKS}/${id}`]);
      assert.deepEqual(f.emulator.entries().at(-1)?.requestBody, {
        name: "hooks.example.test",
        url: "https://hooks.example.test/dc-ci",
        active: true,
        events: ["repo:refs_changed"],
        sslVerificationRequired: true,
        configuration: { secret: "s3cret-two" },
      });
      assert.deepEqual(stored()[0]?.configuration, { secret: "s3cret-two" });
      assert.equal(state().secretSet, true);
      assert.notEqual(state().secretHash, before);

      await engine.refresh();
      f.emulator.resetLog();
      const rest = await engine.up(program("s3cret-two"));
      assert.deepEqual(ops(rest.steps), ["same Webhook ci"]);
      assert.deepEqual(writes(), []);

      const removed = await engine.up(program());
      assert.equal(removed.error, undefined);
      assert.deepEqual(ops(removed.steps), ["update Webhook ci"]);
      assert.deepEqual(stored()[0]?.configuration, {});
      assert.equal(state().secretSet, false);
      assert.equal(state().secretHash, undefined);

      f.emulator.resetLog();
      const none = await engine.up(program());
      assert.deepEqual(ops(none.steps), ["same Webhook ci"]);
      assert.deepEqual(writes(), []);
    });

    it("takes over a hook made by hand (adopt: true) with one PUT of the declared secret, then rests", async () => {
      f.emulator.store.dc.addHook("PROJ", "api", {
        url: "https://hooks.example.test/dc-ci",
        name: "hooks.example.test",
        configuration: { secret: "by-hand" },
      });
      const adopt = () => [
        new Webhook("ci", {
          project: "PROJ",
          repository: "api",
          url: "https://hooks.example.test/dc-ci",
          events: ["repo:refs_changed"],
          secret: "s3cret-one",
          adopt: true,
        }),
      ];
      const first = await engine.up(adopt);
      assert.equal(first.error, undefined);
      assert.deepEqual(writes(), [`PUT ${HOOKS}/${stored()[0]!.id}`]);
      assert.deepEqual(stored()[0]?.configuration, { secret: "s3cret-one" });
      assert.deepEqual([state().adopted, state().secretSet], [true, true]);
      f.emulator.resetLog();
      await engine.refresh();
      const again = await engine.up(adopt);
      assert.deepEqual(ops(again.steps), ["same Webhook ci"]);
      assert.deepEqual(writes(), []);
    });
  });
}
