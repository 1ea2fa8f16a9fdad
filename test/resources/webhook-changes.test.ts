// Webhook changes a user makes after the first `pulumi up`, and the states older versions wrote:
// the cases a sampled mutation run of provider/resources/webhook.ts found no test for (issue 26).
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Webhook } from "../../provider";
import { dcFixture, fixture, type Fixture } from "../harness/fixture";
import { captureProviders, type HostError, type Props } from "../harness/engine";

const URL_A = "https://hooks.example.test/a";
const cloudHook = (over: Props = {}): Props => ({
  workspace: "acme",
  repository: "api",
  url: URL_A,
  events: ["repo:push"],
  ...over,
});

describe("Webhook, changed after it was made (Cloud)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  it("turns a hook off in place when active becomes false, and on again", async () => {
    const { id, outs } = await f.harness.up("Webhook", cloudHook());
    const off = await f.harness.plan("Webhook", id, outs, cloudHook({ active: false }));
    assert.deepEqual([off.changes, off.replaces], [true, []]);
    const updated = await f.harness.update("Webhook", id, outs, off.inputs);
    assert.equal(f.emulator.store.allHooks()[0]?.active, false);
    assert.equal(updated.outs.active, false);
    const on = await f.harness.plan("Webhook", id, updated.outs, cloudHook());
    assert.equal(on.changes, true);
  });

  it("refuses to adopt a hook without a secret when the entry declares one, saying the live hook has none", async () => {
    await f.harness.up("Webhook", cloudHook());
    const { inputs } = await f.harness.check("Webhook", cloudHook({ secret: "s3cret" }));
    const refused = await f.harness.create("Webhook", inputs).then(
      () => assert.fail("created"),
      (e: HostError) => e,
    );
    assert.equal(
      refused.message,
      "create webhook https://hooks.example.test/a on acme/api: it already exists in Bitbucket and differs from this declaration (secret: none in Bitbucket). Nothing was changed. To take it over and bring it to the declared state, set adopt: true on this entry (manifest) or resource; otherwise remove it in Bitbucket or declare it as it is",
    );
    assert.equal(f.emulator.store.allHooks().length, 1);
    assert.equal(f.emulator.store.allHooks()[0]?.secret, undefined, "the live hook is left as it was");
  });

  it("diffs a state written before Data Center support (no flavor) with no replace", async () => {
    const { id, outs } = await f.harness.up("Webhook", cloudHook());
    const { flavor: _, ...before } = outs;
    const diff = await f.harness.plan("Webhook", id, before, cloudHook());
    assert.deepEqual([diff.changes, diff.replaces], [false, []]);
  });

  it("reads a hook from its id alone, as `pulumi import` does", async () => {
    const { id } = await f.harness.up("Webhook", cloudHook({ description: "CI" }));
    const read = await f.harness.read("Webhook", id, {});
    assert.equal(read.id, id);
    assert.equal(read.props.url, URL_A);
    assert.equal(read.props.description, "CI");
  });

  it("says, when a replace makes a new generated secret, which change replaced it; an in-place change says nothing", async () => {
    const { id, outs } = await f.harness.up("Webhook", cloudHook({ generateSecret: true }));
    await f.harness.plan(
      "Webhook",
      id,
      outs,
      cloudHook({ generateSecret: true, events: ["repo:push", "repo:fork"] }),
    );
    await f.harness.plan("Webhook", id, outs, cloudHook({ generateSecret: true, repository: "web" }));
    await f.harness.expectStderr(
      /replacing webhook https:\/\/hooks\.example\.test\/a \(repository changed\) generates a new secret/,
    );
    assert.equal(f.harness.stderr.match(/generates a new secret/g)?.length, 1, f.harness.stderr);
  });

  it("names the hook and its place when a delete fails, and never shows the URL's credential", async () => {
    const secretUrl = "https://hooks.example.test/a?token=hunter2";
    const { id, outs } = await f.harness.up("Webhook", cloudHook({ url: secretUrl }));
    // Bitbucket's own message may quote the URL.
    const quoting = { type: "error", error: { message: `could not remove the hook to ${secretUrl}` } };
    f.emulator.fault({ method: "DELETE", status: 500, times: 10, body: quoting });
    const failed = await f.harness.delete("Webhook", id, outs).then(
      () => assert.fail("deleted"),
      (e: HostError) => e,
    );
    assert.match(
      failed.message,
      /delete webhook https:\/\/hooks\.example\.test\/a\?token=\*\*\* on acme\/api/,
    );
    assert.doesNotMatch(`${failed.message}\n${f.harness.stderr}`, /hunter2/);
  });

  it("fails a refresh whose listing fails, naming the hook, instead of taking the hook for gone", async () => {
    const { id, outs } = await f.harness.up("Webhook", cloudHook());
    await f.harness.newRun(); // `pulumi refresh` is another run: nothing read before is cached
    f.emulator.fault({ method: "GET", path: "/hooks", status: 500, times: 20 });
    const failed = await f.harness.read("Webhook", id, outs).then(
      () => assert.fail("read"),
      (e: HostError) => e,
    );
    assert.match(
      failed.message,
      new RegExp(`^read webhook ${String(outs.uuid).replace(/[{}]/g, "\\$&")} on acme/api: `),
    );
  });

  it("refuses Data Center's fields on a Cloud hook, and text fields given as something else", async () => {
    const { failures } = await f.harness.check("Webhook", cloudHook({ project: "PROJ", description: 42 }));
    assert.deepEqual(
      failures.map((x) => x.property),
      ["project", "description"],
    );
    assert.match(failures[1]!.reason, /^description must be text$/);
  });

  it("takes a null secret as none, and names a non-text event by its value", async () => {
    const ok = await f.harness.check("Webhook", cloudHook({ secret: null }));
    assert.deepEqual(ok.failures, []);
    const bad = await f.harness.check("Webhook", cloudHook({ events: ["repo:push", 42] }));
    assert.equal(bad.failures[0]?.property, "events[1]");
    assert.match(bad.failures[0]!.reason, /"42"/);
  });
});

describe("Webhook, changed after it was made (Data Center)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const dcHook = (over: Props = {}): Props => ({
    project: "PROJ",
    repository: "api",
    url: "https://hooks.example.test/dc-a",
    events: ["repo:refs_changed"],
    ...over,
  });
  const stored = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.hooks[0];

  it("reads a hook from its id alone, as `pulumi import` does, on the connection's flavor", async () => {
    const { id } = await f.harness.up("Webhook", dcHook({ name: "CI" }));
    await f.harness.newRun();
    const read = await f.harness.read("Webhook", id, {});
    assert.equal(read.id, id);
    assert.deepEqual([read.props.flavor, read.props.project, read.props.name], ["datacenter", "PROJ", "CI"]);
  });

  it("renames a hook in place, trims the name, and keeps its secret, which the server must be sent again", async () => {
    const { id, outs } = await f.harness.up("Webhook", dcHook({ name: "CI", secret: "s3cret" }));
    const renamed = await f.harness.plan(
      "Webhook",
      id,
      outs,
      dcHook({ name: "  deploys  ", secret: "s3cret" }),
    );
    assert.deepEqual([renamed.changes, renamed.replaces], [true, []]);
    assert.equal(renamed.inputs.name, "deploys");
    await f.harness.update("Webhook", id, outs, renamed.inputs);
    assert.equal(stored()?.name, "deploys");
    assert.deepEqual(stored()?.configuration, { secret: "s3cret" });
  });
});

describe("Webhook in the program", () => {
  const SECRET_SIG = "4dabf18193072939515e22adb298388d"; // how the SDK marks a secret value
  it("passes a URL from config (an Output) through, secret when it carries a credential", async () => {
    const where = { workspace: "acme", repository: "api", events: ["repo:push"] };
    const { declared } = await captureProviders(() => [
      new Webhook("plain", { ...where, url: pulumi.output("https://hooks.example.test/plain") }),
      new Webhook("credential", {
        ...where,
        url: pulumi.output("https://hooks.example.test/c?token=hunter2"),
      }),
    ]);
    const url = (name: string) => declared.find((d) => d.name === name)?.inputs.url;
    assert.equal(url("plain"), "https://hooks.example.test/plain");
    const secret = url("credential") as Record<string, unknown>;
    assert.equal(secret[SECRET_SIG] !== undefined, true, JSON.stringify(secret));
    assert.equal(secret.value, "https://hooks.example.test/c?token=hunter2");
  });
});
