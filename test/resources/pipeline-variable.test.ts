import * as assert from "node:assert/strict";
import { PipelineVariable } from "../../provider";
import { captureProviders, type Props } from "../harness/engine";
import { fixture, type Fixture } from "../harness/fixture";

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
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
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
    await f.harness.newRun(); // a later refresh
    const read = await f.harness.read("PipelineVariable", dep.id, dep.outs);
    assert.equal(read.id, dep.id);
    assert.deepEqual(
      f.emulator.log(),
      [`GET ${envVars}`],
      "deployment variables are read by listing (no GET by uuid)",
    );
    prod.variables.splice(0);
    await f.harness.newRun(); // the next refresh: a new run, whose listings are fresh
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
    await f.harness.newRun(); // a later refresh
    f.emulator.resetLog();
    const read = await f.harness.read("PipelineVariable", id, outs);
    assert.equal(read.props.key, "LAST");
    assert.equal(read.props.value, "v");
    assert.equal(f.emulator.log().length, 2, "two pages of 100");
    prod.variables.splice(150, 1);
    await f.harness.newRun(); // the next refresh: a new run, whose listings are fresh
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
    await f.harness.newRun(); // the next `pulumi up`
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
    await f.harness.newRun();
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
      await f.harness.newRun(); // deleted by hand: the next run (a destroy) sees it gone
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

  it("checks key, value, secured and workspace, trimming what it keeps, with a message naming the field", async () => {
    const check = (raw: Props) => f.harness.check("PipelineVariable", raw);
    const { workspace: _w, ...noWorkspace } = v();
    assert.deepEqual((await check(noWorkspace)).failures, [
      { property: "workspace", reason: "workspace is required: the workspace slug, e.g. acme" },
    ]);
    const { key: _k, ...noKey } = v();
    assert.deepEqual((await check(noKey)).failures, [
      { property: "key", reason: "key is required: the variable name, e.g. DEPLOY_TOKEN" },
    ]);
    assert.deepEqual((await check({ ...noKey, value: "" })).failures, [
      { property: "key", reason: "key is required: the variable name, e.g. DEPLOY_TOKEN" },
      {
        property: "value",
        reason: "value of secured variable (unnamed) is empty: give a value, or set secured: false",
      },
    ]);
    const { value: _v, ...noValue } = v();
    assert.deepEqual((await check(noValue)).failures, [
      { property: "value", reason: "value is required (text)" },
    ]);
    assert.deepEqual((await check(v({ secured: "yes" }))).failures, [
      { property: "secured", reason: "secured must be true or false" },
    ]);
    assert.deepEqual((await check(v({ key: "deploy-token-2" }))).failures, [
      {
        property: "key",
        reason:
          '"deploy-token-2" is not a valid variable name: use ASCII letters, digits and underscores, not starting with a digit (e.g. deploy_token_2)',
      },
    ]);
    const trimmed = await check(v({ key: "  DEPLOY_TOKEN ", environment: " Production  " }));
    assert.deepEqual(trimmed.failures, []);
    assert.deepEqual([trimmed.inputs.key, trimmed.inputs.environment], ["DEPLOY_TOKEN", "Production"]);
    const blankEnv = await check(v({ environment: "   " }));
    assert.deepEqual(blankEnv.failures, []);
    assert.equal("environment" in blankEnv.inputs, false, "a blank environment is a repository variable");
  });

  it("finds the environment by its exact name first, then ignoring case, and says when there is none", async () => {
    const envs = repo().environments;
    const prod = envs.find((e) => e.name === "Production")!;
    envs.unshift({ uuid: "{11111111-0000-0000-0000-000000000000}", name: "production", variables: [] });
    const exact = await f.harness.up("PipelineVariable", v({ environment: "Production" }));
    assert.equal(exact.outs.environmentUuid, prod.uuid);
    assert.equal(exact.outs.environment, "Production");
    assert.equal(prod.variables.length, 1);
    envs.shift();
    await f.harness.newRun();
    const anyCase = await f.harness.up("PipelineVariable", v({ key: "OTHER", environment: "PRODUCTION" }));
    assert.equal(anyCase.outs.environmentUuid, prod.uuid);
    assert.deepEqual(
      prod.variables.map((x) => x.key),
      ["DEPLOY_TOKEN", "OTHER"],
    );
    envs.splice(0);
    await f.harness.newRun();
    await assert.rejects(
      f.harness.up("PipelineVariable", v({ key: "THIRD", environment: "Production" })),
      (e: Error) =>
        e.message.includes(
          'create variable THIRD on acme/api (environment Production): deployment environment "Production" does not exist in acme/api; existing: none (create it under Repository settings > Deployments)',
        ),
    );
  });

  it("adopts an identical plain variable without a write; refuses one that differs in value or in being secured, naming the field and not the value", async () => {
    const byHand = {
      uuid: "{22222222-0000-0000-0000-000000000000}",
      key: "REGION",
      value: "eu-west-1",
      secured: false,
    };
    repo().variables.push({ ...byHand });
    const plain = (over: Props = {}) => v({ key: "REGION", value: "eu-west-1", secured: false, ...over });
    const { id, outs } = await f.harness.up("PipelineVariable", plain());
    assert.deepEqual(f.emulator.log(), [`GET ${VARS}`], "identical: zero writes");
    assert.equal(id, `acme/api/${byHand.uuid}`);
    assert.deepEqual(
      [outs.uuid, outs.key, outs.value, outs.secured, outs.adopted, outs.valueHash],
      [byHand.uuid, "REGION", "eu-west-1", false, true, undefined],
    );
    const refused = async (over: Props, differs: string, live = byHand) => {
      await f.harness.newRun();
      f.emulator.resetLog();
      await assert.rejects(f.harness.up("PipelineVariable", plain(over)), (e: Error) => {
        assert.ok(
          e.message.startsWith(
            `create variable REGION on acme/api: it already exists in Bitbucket and differs from this declaration (${differs}). Nothing was changed.`,
          ),
          e.message,
        );
        assert.ok(!/eu-west-1|us-east-1/.test(e.message), "values are never shown");
        return true;
      });
      assert.deepEqual(f.emulator.log(), [`GET ${VARS}`], "zero writes");
      assert.deepEqual(repo().variables, [live]);
    };
    await refused({ value: "us-east-1" }, "value: another value in Bitbucket");
    await refused({ secured: true }, "secured: false in Bitbucket");
    await refused(
      { value: "us-east-1", secured: true },
      "value: another value in Bitbucket; secured: false in Bitbucket",
    );
    repo().variables[0]!.secured = true;
    await refused(
      {},
      "value (secured): set in Bitbucket, write-only, cannot be compared; secured: true in Bitbucket",
      { ...byHand, secured: true },
    );
  });

  it("takes over a plain variable with adopt: true: a new value, or securing it with the same value, is written", async () => {
    const uuid = "{33333333-0000-0000-0000-000000000000}";
    repo().variables.push({ uuid, key: "REGION", value: "eu-west-1", secured: false });
    const changed = await f.harness.up(
      "PipelineVariable",
      v({ key: "REGION", value: "us-east-1", secured: false, adopt: true }),
    );
    assert.deepEqual(f.emulator.log(), [`GET ${VARS}`, `PUT ${VARS}/${encodeURIComponent(uuid)}`]);
    assert.deepEqual(repo().variables, [{ uuid, key: "REGION", value: "us-east-1", secured: false }]);
    assert.deepEqual([changed.outs.value, changed.outs.adopted], ["us-east-1", true]);
    await f.harness.newRun();
    f.emulator.resetLog();
    const secured = await f.harness.up(
      "PipelineVariable",
      v({ key: "REGION", value: "us-east-1", adopt: true }),
    );
    assert.deepEqual(f.emulator.log(), [`GET ${VARS}`, `PUT ${VARS}/${encodeURIComponent(uuid)}`]);
    assert.deepEqual(repo().variables, [{ uuid, key: "REGION", value: "us-east-1", secured: true }]);
    assert.equal(secured.outs.value, undefined);
    assert.match(String(secured.outs.valueHash), /^hmac-sha256:/);
  });

  it("records the variable it adopted when setting it to the declaration fails, naming it", async () => {
    const uuid = "{44444444-0000-0000-0000-000000000000}";
    repo().variables.push({ uuid, key: "DEPLOY_TOKEN", value: "old", secured: true });
    f.emulator.fault({ method: "PUT", status: 403 });
    const err = await f.harness.up("PipelineVariable", v({ adopt: true })).then(
      () => assert.fail("expected a failure"),
      (e: { message: string; id?: string; properties?: Props }) => e,
    );
    assert.match(
      err.message,
      /^create variable DEPLOY_TOKEN on acme\/api \(adopting the existing variable \{44444444-0000-0000-0000-000000000000\}\): PUT \S+ failed \(403\)/,
    );
    assert.ok(!/t0ps3cret|old/.test(err.message.replace(/\(adopting the existing/, "")));
    assert.equal(err.id, `acme/api/${uuid}`, "the engine is told the id, so nothing is orphaned");
    assert.deepEqual([err.properties?.uuid, err.properties?.secured], [uuid, true]);
    assert.equal(repo().variables[0]?.value, "old");
  });

  it("keeps adopted: true through a refresh and an update, and never sets it on a variable it created", async () => {
    repo().variables.push({
      uuid: "{55555555-0000-0000-0000-000000000000}",
      key: "REGION",
      value: "eu",
      secured: false,
    });
    const adopted = await f.harness.up("PipelineVariable", v({ key: "REGION", value: "eu", secured: false }));
    const created = await f.harness.up("PipelineVariable", v());
    await f.harness.newRun();
    const readA = await f.harness.read("PipelineVariable", adopted.id, adopted.outs);
    const readC = await f.harness.read("PipelineVariable", created.id, created.outs);
    assert.equal(readA.props.adopted, true);
    assert.equal("adopted" in readC.props, false);
    assert.equal("adopted" in (readA.inputs ?? {}), false, "adopted is an output, not an input");
    const upA = await f.harness.update(
      "PipelineVariable",
      adopted.id,
      readA.props,
      (await f.harness.check("PipelineVariable", v({ key: "REGION", value: "us", secured: false }))).inputs,
    );
    const upC = await f.harness.update(
      "PipelineVariable",
      created.id,
      readC.props,
      (await f.harness.check("PipelineVariable", v({ value: "t0ps3cret-v2" }))).inputs,
    );
    assert.equal(upA.outs.adopted, true);
    assert.equal("adopted" in upC.outs, false);
  });

  it("plans no change for an unchanged plain variable, and a change with every replace", async () => {
    const plain = v({ key: "REGION", value: "eu-west-1", secured: false });
    const { id, outs } = await f.harness.up("PipelineVariable", plain);
    assert.deepEqual((await f.harness.plan("PipelineVariable", id, outs, plain)).changes, false);
    const renamed = await f.harness.plan("PipelineVariable", id, outs, { ...plain, key: "ZONE" });
    assert.deepEqual([renamed.changes, renamed.replaces], [true, ["key"]]);
  });

  it("reads a secured variable made plain by hand as plain: its value shown, no stale hash, and plans to secure it", async () => {
    const { id, outs } = await f.harness.up("PipelineVariable", v());
    repo().variables[0]!.secured = false;
    await f.harness.newRun();
    const read = await f.harness.read("PipelineVariable", id, outs);
    assert.deepEqual(
      [read.props.secured, read.props.value, read.props.valueHash],
      [false, "t0ps3cret-v1", undefined],
    );
    const d = await f.harness.plan("PipelineVariable", id, read.props, v());
    assert.deepEqual([d.changes, d.replaces], [true, []]);
  });

  it("reads a plain variable Bitbucket lists without a value as the empty value", async () => {
    const { id, outs } = await f.harness.up(
      "PipelineVariable",
      v({ key: "EMPTY", value: "", secured: false }),
    );
    const uuid = String(outs.uuid);
    await f.harness.newRun();
    f.emulator.fault({
      method: "GET",
      path: "pipelines_config/variables?",
      status: 200,
      body: { values: [{ uuid, key: "EMPTY", secured: false }], pagelen: 100, page: 1, size: 1 },
    });
    const read = await f.harness.read("PipelineVariable", id, outs);
    assert.equal(read.props.value, "");
    assert.equal(
      (
        await f.harness.plan(
          "PipelineVariable",
          id,
          read.props,
          v({ key: "EMPTY", value: "", secured: false }),
        )
      ).changes,
      false,
    );
  });

  it("creates two variables in one run, and deletes one the stack dropped while another is kept", async () => {
    const a = await f.harness.up("PipelineVariable", { ...v({ key: "A" }), resourceName: "a" });
    const b = await f.harness.up("PipelineVariable", { ...v({ key: "B" }), resourceName: "b" });
    assert.deepEqual(
      repo().variables.map((x) => x.key),
      ["A", "B"],
    );
    await f.harness.newRun(); // the next run: b is still declared, a is not
    assert.equal(
      (await f.harness.plan("PipelineVariable", b.id, b.outs, { ...v({ key: "B" }), resourceName: "b" }))
        .changes,
      false,
    );
    f.emulator.resetLog();
    await f.harness.delete("PipelineVariable", a.id, a.outs);
    assert.deepEqual(f.emulator.log(), [`DELETE ${VARS}/${encodeURIComponent(String(a.outs.uuid))}`]);
    assert.deepEqual(
      repo().variables.map((x) => x.key),
      ["B"],
    );
  });

  it("leaves the variable alone when a stale record of it is deleted while the stack keeps it", async () => {
    const { id, outs } = await f.harness.up("PipelineVariable", { ...v(), resourceName: "kept" });
    await f.harness.newRun(); // the next run: "kept" still declares it; a stale record points at it too
    assert.equal(
      (await f.harness.plan("PipelineVariable", id, outs, { ...v(), resourceName: "kept" })).changes,
      false,
    );
    f.emulator.resetLog();
    await f.harness.delete("PipelineVariable", id, outs);
    assert.deepEqual(f.emulator.log(), [], "no DELETE sent");
    assert.equal(repo().variables.length, 1);
    await f.harness.expectStderr(
      /not deleting variable DEPLOY_TOKEN on acme\/api: "kept" holds it in this stack/,
    );
  });

  it("names the variable and its scope when a read, an update or a delete is refused", async () => {
    const ws = await f.harness.up("PipelineVariable", { workspace: "acme", key: "ORG_WIDE", value: "w" });
    await f.harness.newRun();
    f.emulator.fault({ method: "GET", path: "pipelines-config/variables", status: 403 });
    await assert.rejects(
      f.harness.read("PipelineVariable", ws.id, ws.outs),
      /^Error: read variable ORG_WIDE on workspace acme: GET \S+ failed \(403\)/,
    );
    f.emulator.fault({ method: "PUT", status: 403 });
    const news = (
      await f.harness.check("PipelineVariable", { workspace: "acme", key: "ORG_WIDE", value: "w2" })
    ).inputs;
    await assert.rejects(
      f.harness.update("PipelineVariable", ws.id, ws.outs, news),
      /^Error: update variable ORG_WIDE on workspace acme: PUT \S+ failed \(403\)/,
    );
    await f.harness.newRun(); // a destroy, in a run of its own
    f.emulator.fault({ method: "DELETE", status: 403 });
    await assert.rejects(
      f.harness.delete("PipelineVariable", ws.id, ws.outs),
      /^Error: delete variable ORG_WIDE on workspace acme: DELETE \S+ failed \(403\)/,
    );
    assert.equal(f.emulator.store.workspaces.get("acme")!.variables[0]?.value, "w");
  });

  it("sends a refused create once, without looking for it again", async () => {
    f.emulator.fault({
      method: "POST",
      status: 400,
      body: { type: "error", error: { message: "Bad request" } },
    });
    await assert.rejects(
      f.harness.up("PipelineVariable", v()),
      /^Error: create variable DEPLOY_TOKEN on acme\/api: POST \S+ failed \(400\): Bad request/,
    );
    assert.deepEqual(f.emulator.log(), [`GET ${VARS}`, `POST ${VARS}`]);
    assert.equal(repo().variables.length, 0);
  });

  it("declares a secret value unless secured is false, with its name and every input, to the PipelineVariable provider", async () => {
    const where = { workspace: "acme", repository: "api" };
    const { providers, declared } = await captureProviders(() => [
      new PipelineVariable("token", { ...where, key: "DEPLOY_TOKEN", value: "t0ps3cret-v1" }),
      new PipelineVariable("region", { ...where, key: "REGION", value: "eu-west-1", secured: false }),
    ]);
    const named = (n: string) => declared.find((d) => d.name === n);
    assert.deepEqual(
      [named("token")?.type, named("region")?.type],
      [
        "pulumi-nodejs:dynamic/bitbucket:PipelineVariable",
        "pulumi-nodejs:dynamic/bitbucket:PipelineVariable",
      ],
    );
    assert.match(String(providers.PipelineVariable), /\{type: "PipelineVariable", configure: /);
    const [token, region] = [named("token")?.inputs, named("region")?.inputs];
    assert.deepEqual(
      [token?.workspace, token?.repository, token?.key, token?.resourceName],
      ["acme", "api", "DEPLOY_TOKEN", "token"],
    );
    const secret = token?.value as Record<string, unknown>;
    assert.equal(
      secret["4dabf18193072939515e22adb298388d"],
      "1b47061264138c4ac30d75fd1eb44270",
      "marked secret",
    );
    assert.equal(secret.value, "t0ps3cret-v1");
    assert.deepEqual([region?.value, region?.secured, region?.resourceName], ["eu-west-1", false, "region"]);
  });
});
