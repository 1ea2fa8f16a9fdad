import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";

const VARS = "/2.0/repositories/acme/api/pipelines_config/variables";

describe("PipelineVariable", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const repo = () => f.emulator.store.workspaces.get("acme")!.repos.get("api")!;
  const v = (over: Props = {}): Props => ({
    workspace: "acme",
    repository: "api",
    key: "DEPLOY_TOKEN",
    value: "t0ps3cret-v1",
    ...over,
  });

  it("creates a secured repository variable and keeps its value out of outputs", async () => {
    const { id, outs } = await f.harness.up("PipelineVariable", v());
    assert.deepEqual(f.emulator.log(), [`GET ${VARS}`, `POST ${VARS}`]);
    const [stored] = repo().variables;
    assert.deepEqual([stored?.key, stored?.value, stored?.secured], ["DEPLOY_TOKEN", "t0ps3cret-v1", true]);
    assert.equal(id, `acme/api/${stored?.uuid}`);
    assert.equal(outs.secured, true);
    assert.equal(outs.value, undefined);
    assert.ok(!JSON.stringify(outs).includes("t0ps3cret-v1"));
    assert.match(String(outs.valueHash), /^hmac-sha256:/);
    assert.ok(
      !JSON.stringify(f.emulator.entries()[1]?.responseBody).includes("t0ps3cret"),
      "Bitbucket never returns a secured value",
    );
  });

  it("reports no change for the same value, and a change for a new one, with no HTTP call", async () => {
    const { id, outs } = await f.harness.up("PipelineVariable", v());
    f.emulator.resetLog();
    assert.equal((await f.harness.plan("PipelineVariable", id, outs, v())).changes, false);
    const d = await f.harness.plan("PipelineVariable", id, outs, v({ value: "t0ps3cret-v2" }));
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    assert.deepEqual(f.emulator.log(), []);
    const { outs: after } = await f.harness.update("PipelineVariable", id, outs, d.inputs);
    assert.equal(repo().variables[0]?.value, "t0ps3cret-v2");
    assert.notEqual(after.valueHash, outs.valueHash);
    assert.equal(
      (await f.harness.plan("PipelineVariable", id, after, v({ value: "t0ps3cret-v2" }))).changes,
      false,
    );
  });

  it("manages a plain variable whose value Bitbucket returns, and reports drift in it", async () => {
    const { id, outs } = await f.harness.up(
      "PipelineVariable",
      v({ key: "REGION", value: "eu-west-1", secured: false }),
    );
    assert.equal(outs.value, "eu-west-1");
    repo().variables[0]!.value = "us-east-1";
    await f.harness.restart(); // changed by hand: seen by the next run (a new host, fresh listings)
    const read = await f.harness.read("PipelineVariable", id, outs);
    assert.equal(read.props.value, "us-east-1");
    const d = await f.harness.plan(
      "PipelineVariable",
      id,
      read.props,
      v({ key: "REGION", value: "eu-west-1", secured: false }),
    );
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    await f.harness.update("PipelineVariable", id, read.props, d.inputs);
    assert.equal(repo().variables[0]?.value, "eu-west-1");
  });

  it("replaces (deleting first) on a new key, a new scope, or un-securing; secures in place", async () => {
    const { id, outs } = await f.harness.up("PipelineVariable", v());
    for (const [over, field] of [
      [{ key: "OTHER" }, "key"],
      [{ repository: "web" }, "repository"],
      [{ environment: "Production" }, "environment"],
      [{ secured: false }, "secured"],
    ] as const) {
      const d = await f.harness.plan("PipelineVariable", id, outs, v(over));
      assert.deepEqual([d.replaces, d.deleteBeforeReplace], [[field], true], field);
    }
    const plain = await f.harness.up("PipelineVariable", v({ key: "PLAIN", value: "x", secured: false }));
    const d = await f.harness.plan(
      "PipelineVariable",
      plain.id,
      plain.outs,
      v({ key: "PLAIN", value: "x", secured: true }),
    );
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    await f.harness.update("PipelineVariable", plain.id, plain.outs, d.inputs);
    assert.equal(repo().variables.find((x) => x.key === "PLAIN")?.secured, true);
  });

  it("manages workspace and deployment-environment variables; the environment is found by name", async () => {
    const ws = await f.harness.up("PipelineVariable", { workspace: "acme", key: "ORG_WIDE", value: "w" });
    assert.deepEqual(f.emulator.log().slice(-1), ["POST /2.0/workspaces/acme/pipelines-config/variables"]);
    assert.equal(f.emulator.store.workspaces.get("acme")!.variables.length, 1);
    await f.harness.delete("PipelineVariable", ws.id, ws.outs);
    assert.equal(f.emulator.store.workspaces.get("acme")!.variables.length, 0);

    f.emulator.resetLog();
    const prod = repo().environments.find((e) => e.name === "Production")!;
    const dep = await f.harness.up("PipelineVariable", v({ environment: "Production" }));
    const envVars = `/2.0/repositories/acme/api/deployments_config/environments/${encodeURIComponent(prod.uuid)}/variables`;
    assert.deepEqual(f.emulator.log(), [
      "GET /2.0/repositories/acme/api/environments",
      `GET ${envVars}`,
      `POST ${envVars}`,
    ]);
    assert.equal(dep.outs.environmentUuid, prod.uuid);
    assert.equal(prod.variables.length, 1);
    f.emulator.resetLog();
    assert.equal((await f.harness.read("PipelineVariable", dep.id, dep.outs)).id, dep.id);
    assert.deepEqual(
      f.emulator.log(),
      [],
      "served by the listing create made, patched with the POST's answer",
    );
    await f.harness.restart(); // a later refresh
    const read = await f.harness.read("PipelineVariable", dep.id, dep.outs);
    assert.equal(read.id, dep.id);
    assert.deepEqual(
      f.emulator.log(),
      [`GET ${envVars}`],
      "deployment variables are read by listing (no GET by uuid)",
    );
    prod.variables.splice(0);
    await f.harness.restart(); // the next refresh: a new host, whose listings are fresh
    assert.equal((await f.harness.read("PipelineVariable", dep.id, dep.outs)).id, "");
  });

  it("finds a deployment variable on any page of 150 when refreshing (it has no GET by uuid)", async () => {
    const prod = repo().environments.find((e) => e.name === "Production")!;
    for (let i = 0; i < 150; i++) {
      prod.variables.push({
        uuid: `{00000000-0000-0000-0000-${String(i).padStart(12, "0")}}`,
        key: `V${i}`,
        value: "x",
        secured: false,
      });
    }
    const { id, outs } = await f.harness.up(
      "PipelineVariable",
      v({ environment: "Production", key: "LAST", value: "v", secured: false }),
    );
    assert.equal(prod.variables.length, 151);
    await f.harness.restart(); // a later refresh
    f.emulator.resetLog();
    const read = await f.harness.read("PipelineVariable", id, outs);
    assert.equal(read.props.key, "LAST");
    assert.equal(read.props.value, "v");
    assert.equal(f.emulator.log().length, 2, "two pages of 100");
    prod.variables.splice(150, 1);
    await f.harness.restart(); // the next refresh: a new host, whose listings are fresh
    assert.equal(
      (await f.harness.read("PipelineVariable", id, outs)).id,
      "",
      "gone only after every page was read",
    );
  });

  it("names the existing environments when the one given does not exist", async () => {
    await assert.rejects(
      f.harness.up("PipelineVariable", v({ environment: "Prod" })),
      /create variable DEPLOY_TOKEN on acme\/api \(environment Prod\): deployment environment "Prod" does not exist in acme\/api; existing: Test, Staging, Production/,
    );
  });

  it("finds an existing secured variable on any page of 150: refuses it (value cannot be compared), takes it over with adopt: true", async () => {
    for (let i = 0; i < 149; i++)
      repo().variables.push({
        uuid: `{00000000-0000-0000-0000-${String(i).padStart(12, "0")}}`,
        key: `V${i}`,
        value: "x",
        secured: false,
      });
    repo().variables.push({
      uuid: "{99999999-0000-0000-0000-000000000000}",
      key: "DEPLOY_TOKEN",
      value: "old",
      secured: true,
    });
    await assert.rejects(
      f.harness.up("PipelineVariable", v()),
      (e: Error) =>
        e.message.includes(
          "create variable DEPLOY_TOKEN on acme/api: it already exists in Bitbucket and differs from this declaration (value (secured): set in Bitbucket, write-only, cannot be compared). Nothing was changed.",
        ) && !/t0ps3cret|old/.test(e.message.replace("cannot be compared", "")),
    );
    assert.deepEqual(f.emulator.log(), [`GET ${VARS}`, `GET ${VARS}`], "zero writes");
    assert.equal(repo().variables.at(-1)?.value, "old");
    await f.harness.restart(); // the next `pulumi up`
    f.emulator.resetLog();
    const { id, outs } = await f.harness.up("PipelineVariable", v({ adopt: true }));
    assert.deepEqual([outs.uuid, outs.adopted], ["{99999999-0000-0000-0000-000000000000}", true]);
    assert.equal(repo().variables.length, 150);
    assert.equal(repo().variables.at(-1)?.value, "t0ps3cret-v1");
    assert.deepEqual(f.emulator.log(), [
      `GET ${VARS}`,
      `GET ${VARS}`,
      `PUT ${VARS}/%7B99999999-0000-0000-0000-000000000000%7D`,
    ]);
    const read = await f.harness.read("PipelineVariable", id, outs);
    assert.equal(read.props.key, "DEPLOY_TOKEN");
    assert.equal((await f.harness.plan("PipelineVariable", id, read.props, v())).changes, false);
  });

  it("keeps its own variable when the POST's answer is lost; one made by someone else meanwhile (409) needs adopt: true", async () => {
    f.emulator.fault({ method: "POST", status: 500, commitThenFail: true });
    const { outs } = await f.harness.up("PipelineVariable", v());
    assert.equal(repo().variables.length, 1);
    assert.equal(outs.uuid, repo().variables[0]?.uuid);
    assert.equal(f.emulator.log().filter((l) => l.startsWith("POST")).length, 1);
    // A 409 in a later run: someone created it between our list and our POST.
    await f.harness.restart();
    f.emulator.fault({
      method: "GET",
      path: "pipelines_config/variables?",
      status: 200,
      body: { values: [], pagelen: 100, page: 1, size: 0 },
    });
    await assert.rejects(
      f.harness.up("PipelineVariable", v({ value: "new" })),
      /already exists in Bitbucket and differs/,
    );
    assert.equal(repo().variables[0]?.value, "t0ps3cret-v1");
    const again = await f.harness.up("PipelineVariable", v({ value: "new", adopt: true }));
    assert.equal(again.outs.uuid, outs.uuid);
    assert.equal(repo().variables[0]?.value, "new");
    assert.ok(f.emulator.entries().some((e) => e.status === 409));
  });

  for (const [scope, inputs, list] of [
    ["a repository", () => v(), () => repo().variables],
    [
      "a workspace",
      () => ({ workspace: "acme", key: "ORG_WIDE", value: "w" }),
      () => f.emulator.store.workspaces.get("acme")!.variables,
    ],
    [
      "a deployment environment",
      () => v({ environment: "Production" }),
      () => repo().environments.find((e) => e.name === "Production")!.variables,
    ],
  ] as const) {
    it(`deletes a variable on ${scope} that was already deleted by hand: the 404 is fine and nothing is left`, async () => {
      const { id, outs } = await f.harness.up("PipelineVariable", inputs());
      assert.equal(list().length, 1);
      list().splice(0);
      await f.harness.restart(); // deleted by hand: the next run (a destroy) sees it gone
      f.emulator.resetLog();
      await f.harness.delete("PipelineVariable", id, outs);
      const [del] = f.emulator.entries();
      assert.deepEqual([del?.method, del?.status], ["DELETE", 404], "Bitbucket said it was not there");
      assert.equal(list().length, 0);
      assert.equal((await f.harness.read("PipelineVariable", id, outs)).id, "");
    });
  }

  it("refuses bad names, empty secured values and an environment without a repository", async () => {
    const failures = async (raw: Props) => (await f.harness.check("PipelineVariable", raw)).failures;
    assert.deepEqual(await failures(v({ key: "1st-token" })), [
      {
        property: "key",
        reason:
          '"1st-token" is not a valid variable name: use ASCII letters, digits and underscores, not starting with a digit (e.g. _1st_token)',
      },
    ]);
    assert.deepEqual(await failures(v({ value: "" })), [
      {
        property: "value",
        reason: "value of secured variable DEPLOY_TOKEN is empty: give a value, or set secured: false",
      },
    ]);
    assert.deepEqual(await failures(v({ value: "", secured: false })), []);
    assert.deepEqual(await failures({ workspace: "acme", environment: "Production", key: "K", value: "v" }), [
      {
        property: "environment",
        reason: 'environment "Production" needs repository: deployment environments belong to a repository',
      },
    ]);
  });
});
