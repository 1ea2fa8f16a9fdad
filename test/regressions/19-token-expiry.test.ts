// Issue 19, case 6: a Data Center HTTP access token with `expiryDays: 30` was, 31 days after its
// creation, kept by refresh; diff said no changes and nothing was printed, so the platform holding
// it silently lost access. Now a token past its expiry, or within `bitbucket:tokenRenewDays` of it,
// is reported by refresh, replaced by diff (on `expiresAt`) and renewed by `pulumi up`.
//
// The clock moves on both sides: the emulator's `store.now`, and the host's BITBUCKET_IAC_NOW
// (a new run of the host per day, as each day's `pulumi up` is, started with the day's clock).

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { DC_SEED, dcFixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";
import { run, useEmulator, workdir } from "../cli/run";

const DAY = 86_400_000;
const T0 = Date.parse("2026-03-02T09:00:00.000Z");
const iso = (day: number) => new Date(T0 + day * DAY).toISOString();
const clockAt = (day: number) => ({ BITBUCKET_IAC_NOW: iso(day) });

describe("issue 19 case 6: a Data Center access token near or past its expiry is renewed", function () {
  this.timeout(60_000);
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  const tok = (over: Props = {}): Props => ({
    project: "PROJ",
    repository: "api",
    name: "platform.sh",
    permissions: ["REPO_ADMIN"],
    expiryDays: 30,
    ...over,
  });
  const forever = (): Props => {
    const { expiryDays: _, ...rest } = tok();
    return rest;
  };

  /** An emulator and a host on day 0; `opts` as dcFixture takes them. */
  async function start(opts: { env?: Record<string, string>; config?: Record<string, string> } = {}) {
    const fx = await dcFixture(DC_SEED, { ...opts, env: { ...clockAt(0), ...opts.env } });
    fx.emulator.store.now = () => T0;
    f = fx;
    return fx;
  }

  /** Day `day` for the emulator and a new run of the host (the next `pulumi up`), which has printed nothing yet. */
  async function moveTo(fx: Fixture, day: number) {
    fx.emulator.store.now = () => T0 + day * DAY;
    await fx.harness.newRun(clockAt(day));
    fx.harness.stderr = "";
  }

  const tokens = (fx: Fixture) => fx.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.tokens;

  /** The status Data Center gives a request authenticated with `token`. */
  const statusWith = async (fx: Fixture, token: unknown) =>
    (
      await fetch(`${fx.emulator.dcUrl}/rest/api/latest/projects/PROJ/repos/api`, {
        headers: { Authorization: `Bearer ${String(token)}` },
      })
    ).status;

  /** What the engine does with a replacement: check and diff, create the new one, delete the old. */
  async function replace(fx: Fixture, id: string, olds: Props, raw: Props, reason: string) {
    const d = await fx.harness.plan("AccessToken", id, olds, raw);
    assert.deepEqual([d.changes, d.replaces, d.deleteBeforeReplace], [true, [reason], false]);
    const made = await fx.harness.create("AccessToken", d.inputs);
    await fx.harness.delete("AccessToken", id, olds);
    return made;
  }

  it("keeps a 30-day token at day 10: refresh and diff show no change, and nothing is printed", async () => {
    const fx = await start();
    const made = await fx.harness.up("AccessToken", tok());
    assert.equal(made.outs.expiresAt, iso(30));
    await moveTo(fx, 10);
    const read = await fx.harness.read("AccessToken", made.id, made.outs);
    assert.deepEqual(read.props, made.outs);
    const d = await fx.harness.plan("AccessToken", made.id, read.props, tok());
    assert.deepEqual([d.changes, d.replaces], [false, []]);
    assert.doesNotMatch(fx.harness.stderr, /bitbucket-iac:/);
  });

  it("at day 24, within the 7-day margin, refresh says when it expires; diff replaces it on expiresAt; up makes a new token that works and revokes the old", async () => {
    const fx = await start();
    const made = await fx.harness.up("AccessToken", tok());
    await moveTo(fx, 24);
    const read = await fx.harness.read("AccessToken", made.id, made.outs);
    assert.equal(read.id, made.id);
    assert.equal(read.props.renewDue, true);
    assert.equal(read.props.expiresAt, iso(30));
    await fx.harness.expectStderr(
      /bitbucket-iac: access token "platform\.sh" of PROJ\/api expires on 2026-04-01T09:00:00\.000Z \(in 6 days, within bitbucket:tokenRenewDays = 7\): the next pulumi up replaces it with a new token/,
    );
    assert.doesNotMatch(fx.harness.stderr, new RegExp(String(made.outs.token)), "no token in a notice");

    const renewed = await replace(fx, made.id, read.props, tok(), "expiresAt");
    await fx.harness.expectStderr(
      /bitbucket-iac: access token "platform\.sh" of PROJ\/api expires on 2026-04-01T09:00:00\.000Z \(in 6 days, within bitbucket:tokenRenewDays = 7\): pulumi up replaces it: a new token is made, then the old one revoked \(kept if the resource is retainOnDelete or protected: revoke it by hand\); give its holders the new token output/,
    );
    await fx.harness.expectStderr(
      new RegExp(
        `bitbucket-iac: access token "platform\\.sh" of PROJ/api: made token ${String(renewed.outs.tokenId)} to replace token ${String(made.outs.tokenId)} \\(expires on 2026-04-01T09:00:00\\.000Z \\(in 6 days, within bitbucket:tokenRenewDays = 7\\)\\); the engine revokes the old one next, unless the resource is retainOnDelete`,
      ),
    );
    assert.notEqual(renewed.outs.token, made.outs.token);
    assert.notEqual(renewed.outs.tokenId, made.outs.tokenId);
    assert.equal(renewed.outs.expiresAt, iso(54));
    assert.equal(renewed.outs.renewDue, undefined);
    assert.deepEqual(
      tokens(fx).map((t) => t.id),
      [renewed.outs.tokenId],
    );
    assert.equal(await statusWith(fx, renewed.outs.token), 200, "the new token authenticates");
    assert.equal(await statusWith(fx, made.outs.token), 401, "the old token is revoked");

    // The next day, the new token is not due: no replacement at every run.
    await moveTo(fx, 25);
    const next = await fx.harness.plan("AccessToken", renewed.id, renewed.outs, tok());
    assert.deepEqual([next.changes, next.replaces], [false, []]);
  });

  it("at day 31, expired: the emulator refuses it, refresh says when it expired, and diff from state alone replaces it", async () => {
    const fx = await start();
    const made = await fx.harness.up("AccessToken", tok());
    await moveTo(fx, 31);
    assert.equal(await statusWith(fx, made.outs.token), 401, "Data Center refuses an expired token");
    const read = await fx.harness.read("AccessToken", made.id, made.outs);
    assert.equal(read.props.renewDue, true);
    await fx.harness.expectStderr(
      /bitbucket-iac: access token "platform\.sh" of PROJ\/api expired on 2026-04-01T09:00:00\.000Z \(1 day ago\): the next pulumi up replaces it with a new token/,
    );
    // `pulumi up` without --refresh: the diff sees the state's expiresAt.
    const renewed = await replace(fx, made.id, made.outs, tok(), "expiresAt");
    await fx.harness.expectStderr(
      /expired on 2026-04-01T09:00:00\.000Z \(1 day ago\): pulumi up replaces it: a new token is made, then the old one revoked/,
    );
    assert.equal(await statusWith(fx, renewed.outs.token), 200);
    assert.equal(renewed.outs.expiresAt, iso(61));
    assert.deepEqual(
      tokens(fx).map((t) => t.id),
      [renewed.outs.tokenId],
    );
  });

  it("with bitbucket:tokenRenewDays 0, renews only once expired", async () => {
    const fx = await start({ config: { "bitbucket:tokenRenewDays": "0" } });
    const made = await fx.harness.up("AccessToken", tok());
    await moveTo(fx, 29);
    const read = await fx.harness.read("AccessToken", made.id, made.outs);
    assert.equal(read.props.renewDue, undefined);
    const d = await fx.harness.plan("AccessToken", made.id, read.props, tok());
    assert.deepEqual([d.changes, d.replaces], [false, []]);
    assert.doesNotMatch(fx.harness.stderr, /bitbucket-iac:/);
    await moveTo(fx, 31);
    const renewed = await replace(fx, made.id, made.outs, tok(), "expiresAt");
    assert.equal(await statusWith(fx, renewed.outs.token), 200);
  });

  it("never renews a token without expiryDays, ten years on", async () => {
    const fx = await start();
    const made = await fx.harness.up("AccessToken", forever());
    assert.equal(made.outs.expiresAt, undefined);
    await moveTo(fx, 3650);
    const read = await fx.harness.read("AccessToken", made.id, made.outs);
    assert.deepEqual(read.props, made.outs);
    const d = await fx.harness.plan("AccessToken", made.id, read.props, forever());
    assert.deepEqual([d.changes, d.replaces], [false, []]);
    assert.doesNotMatch(fx.harness.stderr, /bitbucket-iac:/);
    assert.equal(await statusWith(fx, made.outs.token), 200);
  });

  it("reads a token the server already removed as gone, and the next up makes a new one", async () => {
    const fx = await start();
    const made = await fx.harness.up("AccessToken", tok());
    await moveTo(fx, 40);
    tokens(fx).splice(0); // Data Center removed it (or someone revoked it)
    assert.equal((await fx.harness.read("AccessToken", made.id, made.outs)).id, "");
    const again = await fx.harness.up("AccessToken", tok());
    assert.equal(again.outs.expiresAt, iso(70));
    assert.equal(await statusWith(fx, again.outs.token), 200);
  });

  it("replaces a token whose rotate changed alongside the old one, which the replacement no longer takes for a stranger", async () => {
    const fx = await start();
    const made = await fx.harness.up("AccessToken", tok());
    const renewed = await replace(fx, made.id, made.outs, tok({ rotate: "2026-03" }), "rotate");
    assert.notEqual(renewed.outs.token, made.outs.token);
    assert.deepEqual(
      tokens(fx).map((t) => t.id),
      [renewed.outs.tokenId],
    );
    assert.equal(await statusWith(fx, renewed.outs.token), 200);
  });

  it("fails diff on a malformed bitbucket:tokenRenewDays, naming the setting", async () => {
    const fx = await start({ env: { BITBUCKET_TOKEN_RENEW_DAYS: "soon" } });
    const made = await fx.harness.up("AccessToken", tok());
    await assert.rejects(
      fx.harness.plan("AccessToken", made.id, made.outs, tok()),
      /bitbucket:tokenRenewDays \/ BITBUCKET_TOKEN_RENEW_DAYS must be a whole number >= 0, got "soon"/,
    );
  });

  it("shows an expired token the stack manages as replaced in `bitbucket-iac plan --state`", async () => {
    const fx = await start();
    tokens(fx).push({
      id: "42",
      name: "release-job",
      permissions: ["REPO_READ"],
      expiryDays: 30,
      createdDate: T0,
    });
    const dir = workdir({
      "bitbucket.yaml": `version: 1
flavor: datacenter
project: PROJ
accessTokens:
  - name: release-job
    repositories: [api]
    permissions: [REPO_READ]
    expiryDays: 30
`,
    });
    fs.writeFileSync(
      path.join(dir, "state.json"),
      JSON.stringify({
        version: 3,
        deployment: {
          resources: [
            {
              urn: "urn:pulumi:dev::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:AccessToken::access-token/PROJ/api/release-job",
              type: "pulumi-nodejs:dynamic/bitbucket:AccessToken",
              id: "PROJ/api/42",
              custom: true,
            },
          ],
        },
      }),
    );
    const restore = useEmulator(fx.emulator, {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: fx.emulator.dcUrl,
      ...clockAt(10),
    });
    try {
      const calm = await run(["plan", "--state", "state.json"], dir);
      assert.equal(calm.code, 0, calm.out + calm.err);
      process.env.BITBUCKET_IAC_NOW = iso(31);
      const due = await run(["plan", "--state", "state.json"], dir);
      assert.equal(due.code, 2, due.out + due.err);
      assert.match(
        due.out,
        /~ update {3}access token "release-job" of PROJ\/api\n.*\n {4}expiresAt: "2026-04-01T09:00:00\.000Z \(expired\)" -> "a new token: pulumi up replaces it"\n/,
      );
    } finally {
      restore();
    }
  });
});
