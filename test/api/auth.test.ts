import * as assert from "node:assert/strict";
import {
  credentialsOf,
  loadSettings,
  refreshTime,
  setProviderConfig,
  CLOUD_API_URL,
} from "../../provider/api/auth";

describe("settings and credentials", () => {
  afterEach(() => setProviderConfig(() => undefined));

  it("defaults to Bitbucket Cloud", () => {
    const s = loadSettings({});
    assert.equal(s.apiUrl, CLOUD_API_URL);
    assert.equal(s.flavor, "cloud");
    assert.equal(s.oauthTokenUrl, "https://bitbucket.org/site/oauth2/access_token");
    assert.equal(s.retry.retries, 4);
  });

  it("lets stack config override the environment", () => {
    setProviderConfig(
      (k) => ({ "bitbucket:apiUrl": "http://127.0.0.1:1/2.0/", "bitbucket:maxRetries": "1" })[k],
    );
    const s = loadSettings({ BITBUCKET_API_URL: "https://env.example.test/2.0", BITBUCKET_TOKEN: "t" });
    assert.equal(s.apiUrl, "http://127.0.0.1:1/2.0");
    assert.equal(s.retry.retries, 1);
    assert.equal(s.token, "t");
  });

  it("picks Bearer, then Basic, then OAuth client credentials", () => {
    assert.deepEqual(
      credentialsOf(
        loadSettings({ BITBUCKET_TOKEN: "t", BITBUCKET_USERNAME: "u", BITBUCKET_API_TOKEN: "p" }),
      ),
      { kind: "bearer", token: "t" },
    );
    assert.deepEqual(credentialsOf(loadSettings({ BITBUCKET_USERNAME: "u", BITBUCKET_API_TOKEN: "p" })), {
      kind: "basic",
      username: "u",
      password: "p",
    });
    assert.equal(
      credentialsOf(loadSettings({ BITBUCKET_OAUTH_CLIENT_ID: "k", BITBUCKET_OAUTH_CLIENT_SECRET: "s" }))
        .kind,
      "oauth",
    );
  });

  it("says which credential is missing", () => {
    assert.throws(
      () => credentialsOf(loadSettings({})),
      /^Error: no Bitbucket credentials: set BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_API_TOKEN/,
    );
    assert.throws(
      () => credentialsOf(loadSettings({ BITBUCKET_USERNAME: "u" })),
      /BITBUCKET_USERNAME is set but BITBUCKET_API_TOKEN is not/,
    );
  });

  it("refuses malformed settings, naming them", () => {
    assert.throws(
      () => loadSettings({ BITBUCKET_FLAVOR: "server" }),
      /bitbucket:flavor \/ BITBUCKET_FLAVOR must be "cloud" or "datacenter", got "server"/,
    );
    assert.throws(
      () => loadSettings({ BITBUCKET_MAX_RETRIES: "-1" }),
      /bitbucket:maxRetries \/ BITBUCKET_MAX_RETRIES must be a whole number >= 0/,
    );
    assert.throws(() => loadSettings({ BITBUCKET_API_URL: "api.bitbucket.org" }), /must be an https URL/);
  });

  it("refreshes an OAuth token ahead of expiry", () => {
    assert.equal(refreshTime(0, 7200), 7200_000 - 300_000);
    assert.equal(refreshTime(0, 600), 600_000 - 60_000);
    assert.equal(refreshTime(0, 60), 30_000);
    assert.equal(refreshTime(0, 10), 0);
  });
});
