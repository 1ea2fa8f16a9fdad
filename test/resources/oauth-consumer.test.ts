import * as assert from "node:assert/strict";
import { DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";

const KEY = "ck-6f1d2a";
const SECRET = "cs-4b8e9c0d7f";

describe("OAuthConsumer", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture({
      ...DEFAULT_SEED,
      consumers: [
        { key: KEY, secret: SECRET, scopes: ["pullrequest:write", "webhook", "account"], private: true },
      ],
    });
  });
  afterEach(async () => f.close());

  const consumer = (over: Props = {}): Props => ({
    workspace: "acme", name: "CI", scopes: ["pullrequest:write", "repository", "webhook"], key: KEY, secret: SECRET, ...over,
  }); // prettier-ignore
  const grants = () => f.emulator.log().filter((l) => l === "POST /site/oauth2/access_token").length;

  it("verifies a private consumer with one client_credentials grant and reports its scopes", async () => {
    const { id, outs } = await f.harness.up("OAuthConsumer", consumer());
    assert.equal(id, "acme/CI");
    assert.equal(grants(), 1);
    assert.deepEqual(f.emulator.entries()[0]?.requestBody, "grant_type=client_credentials");
    assert.deepEqual(outs.grantedScopes, ["account", "pullrequest:write", "webhook"]);
    assert.deepEqual(outs.missingScopes, [], "repository is implied by pullrequest:write");
    assert.deepEqual(outs.extraScopes, ["account"]);
    assert.match(String(outs.verifiedAt), /^\d{4}-\d\d-\d\dT/);
    assert.equal(outs.settingsUrl, "https://bitbucket.org/acme/workspace/settings/api");
  });

  it("reports no change on a second pass, without calling Bitbucket", async () => {
    const { id, outs } = await f.harness.up("OAuthConsumer", consumer());
    f.emulator.resetLog();
    const d = await f.harness.plan(
      "OAuthConsumer",
      id,
      outs,
      consumer({ scopes: ["webhook", "pullrequest:write", "repository"] }),
    );
    assert.equal(d.changes, false);
    assert.deepEqual(f.emulator.log(), []);
  });

  it("fails on missing scopes, naming them and the checkboxes to tick", async () => {
    await assert.rejects(
      f.harness.up(
        "OAuthConsumer",
        consumer({ scopes: ["repository:admin", "webhook", "pipeline:variable"] }),
      ),
      /OAuth consumer "CI" of workspace acme lacks pipeline:variable, repository:admin: tick "Pipelines: Edit variables", "Repositories: Admin" in Workspace settings > OAuth consumers > CI > Edit \(https:\/\/bitbucket.org\/acme\/workspace\/settings\/api\); it has account, pullrequest:write, webhook/,
    );
  });

  it("fails on a public consumer declared private, saying what to tick", async () => {
    f.emulator.store.consumers.get(KEY)!.private = false;
    await assert.rejects(
      f.harness.up("OAuthConsumer", consumer()),
      /OAuth consumer "CI" of workspace acme is public: tick "This is a private consumer"/,
    );
    const declaredPublic = await f.harness.up("OAuthConsumer", consumer({ private: false }));
    assert.deepEqual(declaredPublic.outs.grantedScopes, [], "a public consumer's scopes cannot be read");
    assert.equal(declaredPublic.outs.problem, undefined);
  });

  it("fails on wrong credentials without echoing them", async () => {
    const err = await f.harness
      .up("OAuthConsumer", consumer({ secret: "wrong-secret-1234" }))
      .catch((e: Error) => e);
    assert.ok(err instanceof Error);
    assert.match(
      err.message,
      /Bitbucket rejected its key and secret \(Invalid OAuth client credentials \(unauthorized_client\)\)/,
    );
    assert.ok(!err.message.includes("wrong-secret-1234") && !err.message.includes(KEY), err.message);
    assert.ok(!f.harness.stderr.includes("wrong-secret-1234"));
  });

  it("reports scope drift on refresh, and the next update says what to tick again", async () => {
    const { id, outs } = await f.harness.up("OAuthConsumer", consumer());
    f.emulator.store.consumers.get(KEY)!.scopes = ["pullrequest", "account"]; // webhook and write unticked by hand
    const read = await f.harness.read("OAuthConsumer", id, outs);
    assert.deepEqual(read.props.missingScopes, ["pullrequest:write", "webhook"]);
    assert.equal(read.inputs?.key, undefined, "refreshed inputs leave the key and secret to config");
    assert.equal(read.inputs?.secret, undefined);
    const d = await f.harness.plan("OAuthConsumer", id, read.props, consumer());
    assert.equal(d.changes, true);
    await assert.rejects(
      f.harness.update("OAuthConsumer", id, read.props, d.inputs),
      /lacks pullrequest:write, webhook: tick "Pull requests: Write", "Webhooks"/,
    );
  });

  it("reports revoked credentials on refresh instead of pretending the consumer is gone", async () => {
    const { id, outs } = await f.harness.up("OAuthConsumer", consumer());
    f.emulator.store.consumers.get(KEY)!.secret = "rotated";
    const read = await f.harness.read("OAuthConsumer", id, outs);
    assert.equal(read.id, id);
    assert.match(String(read.props.problem), /rejected its key and secret/);
  });

  it("deletes without calling Bitbucket, saying the consumer stays in workspace settings", async () => {
    const { id, outs } = await f.harness.up("OAuthConsumer", consumer());
    f.emulator.resetLog();
    await f.harness.delete("OAuthConsumer", id, outs);
    assert.deepEqual(f.emulator.log(), []);
    await f.harness.expectStderr(
      /OAuth consumer "CI" is no longer managed, but it still exists: delete it in Workspace settings > OAuth consumers \(https:\/\/bitbucket.org\/acme\/workspace\/settings\/api\)/,
    );
    assert.equal(f.emulator.store.consumers.has(KEY), true);
  });

  it("refuses unknown scopes with close matches, and missing credentials", async () => {
    const { failures } = await f.harness.check("OAuthConsumer", {
      workspace: "acme",
      name: "CI",
      scopes: ["pullrequests", "repo:write"],
    });
    assert.deepEqual(failures, [
      { property: "scopes[0]", reason: 'unknown scope "pullrequests"; did you mean pullrequest?' },
      {
        property: "scopes[1]",
        reason: 'unknown scope "repo:write"; did you mean repository:write, team:write?',
      },
      {
        property: "key",
        reason: "key is required: the consumer's Key from Bitbucket, set with `pulumi config set --secret`",
      },
      {
        property: "secret",
        reason:
          "secret is required: the consumer's Secret from Bitbucket, set with `pulumi config set --secret`",
      },
    ]);
  });
});
