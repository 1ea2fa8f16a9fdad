// OAuthConsumer inputs as `check` takes them, and a verification Bitbucket cannot answer: the
// cases a sampled mutation run of provider/resources/oauth-consumer.ts found no test for (issue 26).
import * as assert from "node:assert/strict";
import { DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import type { HostError, Props } from "../harness/engine";

const KEY = "ck-6f1d2a";
const SECRET = "cs-4b8e9c0d7f";

describe("OAuthConsumer inputs and verification", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture({
      ...DEFAULT_SEED,
      consumers: [{ key: KEY, secret: SECRET, scopes: ["webhook"], private: true }],
    });
  });
  afterEach(async () => f.close());

  const consumer = (over: Props = {}): Props => ({
    workspace: "acme", name: "CI", scopes: ["webhook"], key: KEY, secret: SECRET, ...over,
  }); // prettier-ignore

  it("keeps the callback URL and the URL, trimmed, and refuses one that is not a URL, naming it", async () => {
    const ok = await f.harness.check(
      "OAuthConsumer",
      consumer({ callbackUrl: " https://ci.example.test/oauth ", url: "https://ci.example.test " }),
    );
    assert.deepEqual(ok.failures, []);
    assert.deepEqual(
      [ok.inputs.callbackUrl, ok.inputs.url],
      ["https://ci.example.test/oauth", "https://ci.example.test"],
    );
    const bad = await f.harness.check("OAuthConsumer", consumer({ callbackUrl: "ci.example.test/oauth" }));
    assert.deepEqual(bad.failures, [
      { property: "callbackUrl", reason: '"ci.example.test/oauth" is not a valid URL' },
    ]);
  });

  it("refuses a blank key or secret and a private flag that is not true or false", async () => {
    const { failures } = await f.harness.check("OAuthConsumer", consumer({ key: "  ", private: "yes" }));
    assert.deepEqual(failures, [
      {
        property: "key",
        reason: "key is required: the consumer's Key from Bitbucket, set with `pulumi config set --secret`",
      },
      { property: "private", reason: "private must be true or false" },
    ]);
  });

  it("says which consumer it was verifying when Bitbucket's token endpoint fails", async () => {
    f.emulator.fault({ method: "POST", path: "/site/oauth2/access_token", status: 500, times: 20 });
    const err = await f.harness.up("OAuthConsumer", consumer()).then(
      () => assert.fail("verified"),
      (e: HostError) => e,
    );
    assert.match(err.message, /^verify OAuth consumer "CI": /);
    assert.ok(!err.message.includes(SECRET) && !err.message.includes(KEY), err.message);
  });
});
