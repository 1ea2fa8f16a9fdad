import * as assert from "node:assert/strict";
import { dcFixture, fixture, type Fixture } from "../../harness/fixture";
import type { Props } from "../../harness/engine";

const TOKENS = "/rest/access-tokens/latest/projects/PROJ/repos/api";

describe("AccessToken (Data Center HTTP access tokens)", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const tok = (over: Props = {}): Props => ({
    project: "PROJ",
    repository: "api",
    name: "platform.sh",
    permissions: ["REPO_ADMIN"],
    ...over,
  });
  const tokens = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.tokens;

  it("creates with one listing and one PUT (200), keeps the token it returns once, and it authenticates", async () => {
    const { id, outs } = await f.harness.up("AccessToken", tok({ expiryDays: 90 }));
    assert.deepEqual(f.emulator.log(), [`GET ${TOKENS}`, `PUT ${TOKENS}`]);
    assert.deepEqual(f.emulator.entries()[1]?.requestBody, {
      name: "platform.sh",
      permissions: ["REPO_ADMIN"],
      expiryDays: 90,
    });
    const [stored] = tokens();
    assert.equal(id, `PROJ/api/${stored?.id}`);
    assert.match(String(outs.tokenId), /^\d+$/);
    assert.ok(typeof outs.token === "string" && outs.token.length > 20);
    assert.ok(f.emulator.store.tokens.has(String(outs.token)), "the token is a working credential");
    assert.match(String(outs.expiresAt), /^\d{4}-/);
    f.emulator.resetLog();
    const same = await f.harness.plan("AccessToken", id, outs, tok({ expiryDays: 90 }));
    assert.deepEqual([same.changes, f.emulator.log()], [false, []]);
  });

  it("updates name and permissions in place with a POST, keeping the token; expiry and rotate replace it", async () => {
    const { id, outs } = await f.harness.up("AccessToken", tok());
    const d = await f.harness.plan(
      "AccessToken",
      id,
      outs,
      tok({ name: "psh", permissions: ["REPO_WRITE", "REPO_READ"] }),
    );
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    f.emulator.resetLog();
    const u = await f.harness.update("AccessToken", id, outs, d.inputs);
    assert.deepEqual(f.emulator.log(), [`POST ${TOKENS}/${outs.tokenId}`]);
    assert.deepEqual([tokens()[0]?.name, tokens()[0]?.permissions], ["psh", ["REPO_READ", "REPO_WRITE"]]);
    assert.equal(u.outs.token, outs.token, "the token value is kept");
    assert.deepEqual(
      (
        await f.harness.plan(
          "AccessToken",
          id,
          u.outs,
          tok({ name: "psh", permissions: ["REPO_READ", "REPO_WRITE"], expiryDays: 30 }),
        )
      ).replaces,
      ["expiryDays"],
    );
    assert.deepEqual(
      (
        await f.harness.plan(
          "AccessToken",
          id,
          u.outs,
          tok({ name: "psh", permissions: ["REPO_READ", "REPO_WRITE"], rotate: "2026-12" }),
        )
      ).replaces,
      ["rotate"],
    );
  });

  it("sees permissions changed by hand on refresh and a revoked token as gone; delete is 204, again 404 and fine", async () => {
    const { id, outs } = await f.harness.up("AccessToken", tok());
    tokens()[0]!.permissions = ["REPO_READ"];
    await f.harness.newRun();
    const read = await f.harness.read("AccessToken", id, outs);
    assert.deepEqual(read.props.permissions, ["REPO_READ"]);
    assert.equal(read.props.token, outs.token, "the value is carried over from state");
    await f.harness.delete("AccessToken", id, read.props);
    assert.equal(tokens().length, 0);
    assert.equal((await f.harness.read("AccessToken", id, read.props)).id, "");
    await f.harness.delete("AccessToken", id, read.props);
  });

  it("refuses a token of the same name (its value cannot be read) unless adopt: true, which revokes it and makes a new one", async () => {
    f.emulator.store.dc.projects
      .get("PROJ")!
      .repos.get("api")!
      .tokens.push({ id: "42", name: "platform.sh", permissions: ["REPO_READ"], createdDate: 0 });
    await assert.rejects(
      f.harness.up("AccessToken", tok()),
      /create access token "platform\.sh" of PROJ\/api: it already exists in Bitbucket and differs from this declaration \(token: set in Bitbucket, write-only, cannot be compared\)\. Nothing was changed/,
    );
    assert.deepEqual(
      tokens().map((t) => t.id),
      ["42"],
    );
    const taken = await f.harness.up("AccessToken", tok({ adopt: true }));
    assert.equal(taken.outs.adopted, true);
    assert.deepEqual(
      tokens().map((t) => t.id),
      [taken.outs.tokenId],
    );
    assert.notEqual(taken.outs.tokenId, "42");
  });

  it("never repeats the PUT: a lost answer is found by name, revoked and made again, leaving one token whose value is known", async () => {
    f.emulator.fault({ method: "PUT", path: TOKENS, commitThenFail: true, status: 502 });
    const { outs } = await f.harness.up("AccessToken", tok());
    assert.equal(tokens().length, 1);
    assert.equal(tokens()[0]?.id, outs.tokenId);
    assert.ok(f.emulator.store.tokens.has(String(outs.token)));
    assert.deepEqual(
      f.emulator
        .entries()
        .filter((e) => e.method !== "GET")
        .map((e) => `${e.method} ${e.status}`),
      ["PUT 502", "DELETE 204", "PUT 200"],
    );
  });

  it("makes project and user tokens, and checks the owner and permissions offline", async () => {
    const project = await f.harness.up("AccessToken", {
      project: "PROJ",
      name: "p",
      permissions: ["PROJECT_READ", "REPO_ADMIN"],
    });
    assert.equal(project.id, `PROJ/${project.outs.tokenId}`);
    const user = await f.harness.up("AccessToken", { user: "ci-bot", name: "u", permissions: ["REPO_READ"] });
    assert.equal(user.id, `users/ci-bot/${user.outs.tokenId}`);
    const bad = await f.harness.check("AccessToken", {
      project: "PROJ",
      repository: "api",
      user: "me",
      name: "",
      permissions: ["PROJECT_READ"],
    });
    assert.deepEqual(
      bad.failures.map((x) => `${x.property}: ${x.reason}`),
      [
        "project: give project (a project token, or with repository a repository token) or user (a personal token), not both",
        "name: name is required: the token's name, shown in Bitbucket",
        'permissions[0]: "PROJECT_READ" is not a permission a repository token can have; use REPO_READ, REPO_WRITE, REPO_ADMIN',
      ],
    );
  });

  it("is refused on Bitbucket Cloud, saying why", async () => {
    const cloud = await fixture();
    try {
      const r = await cloud.harness.check("AccessToken", tok());
      assert.match(
        r.failures.map((x) => x.reason).join("\n"),
        /AccessToken is for Bitbucket Data Center \(HTTP access tokens\); Bitbucket Cloud has no API that creates access tokens/,
      );
    } finally {
      await cloud.close();
    }
  });
});
