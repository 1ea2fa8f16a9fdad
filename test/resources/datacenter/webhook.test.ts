import * as assert from "node:assert/strict";
import { dcFixture, type Fixture } from "../../harness/fixture";
import type { Props } from "../../harness/engine";

const URL_A = "https://hooks.example.test/dc-a";
const HOOKS = "/rest/api/latest/projects/PROJ/repos/api/webhooks";

const hook = (over: Props = {}): Props => ({
  project: "PROJ",
  repository: "api",
  url: URL_A,
  events: ["repo:refs_changed"],
  ...over,
});

describe("Webhook on Data Center", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const hooks = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.hooks;

  it("creates a repository webhook with one listing and one POST (200), its secret in configuration and out of state", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook({ secret: "s3cret", name: "CI" }));
    assert.deepEqual(f.emulator.log(), [`GET ${HOOKS}`, `POST ${HOOKS}`]);
    assert.equal(f.emulator.entries()[1]?.status, 200);
    const [stored] = hooks();
    assert.deepEqual(stored?.configuration, { secret: "s3cret" });
    assert.equal(stored?.name, "CI");
    assert.equal(stored?.sslVerificationRequired, true);
    assert.equal(id, `PROJ/api/${stored?.id}`);
    assert.equal(outs.hookId, String(stored?.id));
    assert.equal(outs.flavor, "datacenter");
    assert.equal(outs.secretSet, true);
    assert.equal(outs.uuid, undefined);
    assert.ok(!JSON.stringify(outs).includes("s3cret"), "outputs must not hold the secret");
    assert.match(String(outs.createdAt), /^\d{4}-\d\d-\d\dT/);
  });

  it("names the hook after the URL's host by default, and reports no change for the same inputs without a call", async () => {
    const { id, outs } = await f.harness.up(
      "Webhook",
      hook({ events: ["pr:opened", "repo:refs_changed"], secret: "s" }),
    );
    assert.equal(hooks()[0]?.name, "hooks.example.test");
    f.emulator.resetLog();
    const diff = await f.harness.plan(
      "Webhook",
      id,
      outs,
      hook({ events: ["repo:refs_changed", "pr:opened"], secret: "s" }),
    );
    assert.deepEqual([diff.changes, diff.replaces], [false, []]);
    assert.deepEqual(f.emulator.log(), []);
  });

  it("updates in place with a PUT that carries the whole hook and its secret (Data Center replaces the configuration)", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook({ secret: "s3cret" }));
    const next = hook({
      secret: "s3cret",
      name: "renamed",
      events: ["repo:refs_changed", "pr:merged"],
      skipCertVerification: true,
    });
    const diff = await f.harness.plan("Webhook", id, outs, next);
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    f.emulator.resetLog();
    const u = await f.harness.update("Webhook", id, outs, diff.inputs);
    assert.deepEqual(f.emulator.log(), [`PUT ${HOOKS}/${outs.hookId}`]);
    const put = f.emulator.entries()[0]?.requestBody as Props;
    assert.deepEqual(put, {
      name: "renamed",
      url: URL_A,
      active: true,
      events: ["pr:merged", "repo:refs_changed"],
      sslVerificationRequired: false,
      configuration: { secret: "s3cret" },
    });
    assert.deepEqual(
      hooks()[0]?.configuration,
      { secret: "s3cret" },
      "the unchanged secret survives the PUT",
    );
    assert.equal(u.outs.secretHash, outs.secretHash);
    // Dropping the secret sends an empty configuration.
    const d2 = await f.harness.plan("Webhook", id, u.outs, hook({ name: "renamed" }));
    await f.harness.update("Webhook", id, u.outs, d2.inputs);
    assert.deepEqual(hooks()[0]?.configuration, {});
  });

  it("shows drift on refresh and a hook deleted by hand as gone; delete answers 204 and a second delete is fine", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    hooks()[0]!.events = ["pr:opened"];
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    const read = await f.harness.read("Webhook", id, outs);
    assert.deepEqual(read.props.events, ["pr:opened"]);
    assert.deepEqual(read.inputs?.events, ["pr:opened"]);
    const diff = await f.harness.diff("Webhook", id, read.props, hook());
    assert.equal(diff.changes, true);
    await f.harness.delete("Webhook", id, read.props);
    assert.equal(hooks().length, 0);
    assert.deepEqual((await f.harness.read("Webhook", id, read.props)).id, "");
    await f.harness.delete("Webhook", id, read.props); // 404: already gone
  });

  it("replaces the hook when its repository or flavor changes", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    assert.deepEqual((await f.harness.plan("Webhook", id, outs, hook({ repository: "web" }))).replaces, [
      "repository",
    ]);
    const cloud = await f.harness.check("Webhook", {
      flavor: "cloud",
      workspace: "acme",
      repository: "api",
      url: URL_A,
      events: ["repo:push"],
    });
    assert.deepEqual((await f.harness.diff("Webhook", id, outs, cloud.inputs)).replaces.sort(), [
      "flavor",
      "project",
      "workspace",
    ]);
  });

  it("manages a project webhook", async () => {
    const { repository: _r, ...projectHook } = hook({ events: ["pr:opened"] });
    const { id, outs } = await f.harness.up("Webhook", projectHook);
    assert.equal(id, `PROJ/${outs.hookId}`);
    assert.equal(f.emulator.store.dc.projects.get("PROJ")!.hooks.length, 1);
    assert.equal((await f.harness.read("Webhook", id, outs)).id, id);
    await f.harness.delete("Webhook", id, outs);
    assert.equal(f.emulator.store.dc.projects.get("PROJ")!.hooks.length, 0);
  });

  it("adopts an identical hook silently, refuses a different one without adopt: true, and takes it over with it", async () => {
    f.emulator.store.dc.addHook("PROJ", "api", { url: URL_A, name: "hooks.example.test" });
    const same = await f.harness.up("Webhook", hook());
    assert.equal(same.outs.adopted, true);
    assert.equal(hooks().length, 1);
    assert.equal(
      f.emulator.log().filter((l) => !l.startsWith("GET")).length,
      0,
      "no write for an identical hook",
    );

    f.emulator.store.dc.addHook("PROJ", "web", { url: URL_A, name: "Jenkins", events: ["pr:opened"] });
    const web = hook({ repository: "web" });
    await assert.rejects(f.harness.up("Webhook", web), (e: Error) => {
      assert.match(
        e.message,
        /create webhook https:\/\/hooks\.example\.test\/dc-a on PROJ\/web: it already exists in Bitbucket and differs from this declaration \(name: "Jenkins" in Bitbucket; events: \["pr:opened"\] in Bitbucket\)\. Nothing was changed/,
      );
      return true;
    });
    const taken = await f.harness.up("Webhook", { ...web, adopt: true });
    assert.equal(taken.outs.adopted, true);
    const stored = f.emulator.store.dc.projects.get("PROJ")!.repos.get("web")!.hooks;
    assert.deepEqual(
      [stored.length, stored[0]?.name, stored[0]?.events],
      [1, "hooks.example.test", ["repo:refs_changed"]],
    );
  });

  it("finds the hook past the first page (limit capped at 100, nextPageStart followed)", async () => {
    for (let i = 0; i < 105; i++)
      f.emulator.store.dc.addHook("PROJ", "api", { url: `https://hooks.example.test/n${i}`, name: `n${i}` });
    f.emulator.store.dc.addHook("PROJ", "api", { url: URL_A, name: "hooks.example.test" });
    const { outs } = await f.harness.up("Webhook", hook());
    assert.equal(outs.adopted, true);
    assert.deepEqual(
      f.emulator.entries().map((e) => e.query),
      ["?start=0&limit=1000", "?start=100&limit=1000"],
    );
  });

  it("refuses Cloud fields and Cloud events on a Data Center hook, naming them", async () => {
    const r = await f.harness.check("Webhook", {
      workspace: "acme",
      repository: "api",
      url: URL_A,
      events: ["repo:push"],
      description: "x",
    });
    const failures = r.failures.map((x) => `${x.property}: ${x.reason}`);
    assert.deepEqual(failures, [
      "workspace: workspace is for Bitbucket Cloud; this resource is on Bitbucket Data Center (flavor: datacenter): Data Center has projects, give project: <KEY>",
      "description: description is for Bitbucket Cloud; this resource is on Bitbucket Data Center (flavor: datacenter)",
      "project: project is required: the project key, e.g. PROJ",
      'events[0]: unknown event "repo:push" (a Cloud event; this webhook is on Data Center); did you mean repo:refs_changed?',
    ]);
  });

  it("says DC answers 401 for a missing permission too, and what the credentials need", async () => {
    f.emulator.store.tokens.get("test-token-3f9a")!.dcPermission = "REPO_READ";
    await assert.rejects(f.harness.up("Webhook", hook()), (e: Error) => {
      assert.match(
        e.message,
        /GET \/rest\/api\/latest\/projects\/PROJ\/repos\/api\/webhooks failed \(401\): You are not permitted to access this resource \(it needs REPO_ADMIN\)\. - Data Center answers 401 both for bad credentials and for a missing permission/,
      );
      return true;
    });
  });
});

describe("Webhook on Data Center under faults", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const hooks = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.hooks;

  it("waits out 429s and retries 5xx on the listing, then creates one hook", async () => {
    f.emulator.fault({ method: "POST", path: HOOKS, status: 429, times: 2 });
    f.emulator.fault({ method: "GET", path: HOOKS, status: 503, times: 1 });
    await f.harness.up("Webhook", hook({ secret: "s" }));
    assert.deepEqual(
      f.emulator.entries().map((e) => `${e.method} ${e.status}`),
      ["GET 503", "GET 200", "POST 429", "POST 429", "POST 200"],
    );
    assert.equal(hooks().length, 1);
  });

  it("keeps the hook whose POST answer was lost (found again by URL, no second POST)", async () => {
    f.emulator.fault({ method: "POST", path: HOOKS, commitThenFail: true, status: 502 });
    const { outs } = await f.harness.up("Webhook", hook({ secret: "s" }));
    assert.equal(hooks().length, 1);
    assert.equal(outs.hookId, String(hooks()[0]?.id));
    assert.equal(f.emulator.log().filter((l) => l.startsWith("POST")).length, 1);
  });

  it("retries a PUT that failed with 500 and says Data Center's own words when it fails for good", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    f.emulator.fault({ method: "PUT", status: 500, times: 1 });
    const d = await f.harness.plan("Webhook", id, outs, hook({ name: "again" }));
    await f.harness.update("Webhook", id, outs, d.inputs);
    assert.equal(hooks()[0]?.name, "again");
    const bad = await f.harness.plan("Webhook", id, outs, hook({ name: "x" }));
    f.emulator.fault({
      method: "PUT",
      status: 400,
      body: { errors: [{ context: "url", message: "URL is blocked.", exceptionName: null }] },
    });
    await assert.rejects(
      f.harness.update("Webhook", id, outs, bad.inputs),
      /update webhook https:\/\/hooks\.example\.test\/dc-a on PROJ\/api: PUT \/rest\/api\/latest\/projects\/PROJ\/repos\/api\/webhooks\/\d+ failed \(400\): url: URL is blocked\./,
    );
  });
});
