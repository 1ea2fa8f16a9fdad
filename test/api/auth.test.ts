import * as assert from "node:assert/strict";
import {
  credentialsOf,
  flavorSetting,
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

  it("builds the settings once while nothing changes, and anew when a value changes or was wrong", () => {
    const env = { BITBUCKET_TOKEN: "t1", BITBUCKET_API_URL: "https://bitbucket.example.test/2.0" };
    const first = loadSettings(env);
    assert.equal(loadSettings({ ...env }), first, "the same values give the same object");
    assert.ok(
      Object.isFrozen(first) && Object.isFrozen(first.retry),
      "no caller can change what others share",
    );
    const rotated = loadSettings({ ...env, BITBUCKET_TOKEN: "t2" });
    assert.notEqual(rotated, first);
    assert.equal(rotated.token, "t2");
    setProviderConfig((k) => (k === "bitbucket:token" ? "from-config" : undefined));
    assert.equal(loadSettings(env).token, "from-config", "stack config set later is seen");
    setProviderConfig(() => undefined);
    assert.throws(
      () => loadSettings({ ...env, BITBUCKET_MAX_RETRIES: "x" }),
      /BITBUCKET_MAX_RETRIES must be a whole number/,
    );
    assert.throws(
      () => loadSettings({ ...env, BITBUCKET_MAX_RETRIES: "x" }),
      /BITBUCKET_MAX_RETRIES/,
      "a bad value fails every time",
    );
    assert.equal(loadSettings(env).token, "t1");
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
  it("falls back to the environment when a stack config value is empty, and trims what it reads", () => {
    setProviderConfig((k) => ({ "bitbucket:token": "", "bitbucket:flavor": "  " })[k]);
    const s = loadSettings({ BITBUCKET_TOKEN: " t ", BITBUCKET_API_URL: " https://api.example.test/2.0 " });
    assert.equal(s.token, "t");
    assert.equal(s.flavor, "cloud", "a blank flavor is the default");
    assert.equal(s.apiUrl, "https://api.example.test/2.0");
  });

  it("reads the configured flavor on its own: datacenter when it says so, cloud otherwise", () => {
    assert.equal(flavorSetting({ BITBUCKET_FLAVOR: "datacenter" }), "datacenter");
    assert.equal(flavorSetting({}), "cloud");
    assert.equal(flavorSetting({ BITBUCKET_FLAVOR: "server" }), "cloud");
    setProviderConfig((k) => ({ "bitbucket:flavor": "datacenter" })[k]);
    assert.equal(flavorSetting({}), "datacenter");
  });

  it("accepts plain http only to this machine, and no other scheme", () => {
    for (const url of [
      "http://localhost:8080",
      "http://127.0.0.100:1/2.0",
      "http://[::1]:1",
      "http://LOCALHOST",
    ])
      assert.equal(loadSettings({ BITBUCKET_API_URL: url }).apiUrl, url, url);
    for (const host of ["evil-localhost", "localhost.evil.test", "127.0.0.1.evil.test"])
      assert.throws(
        () => loadSettings({ BITBUCKET_API_URL: `http://${host}/2.0` }),
        {
          message: `bitbucket:apiUrl / BITBUCKET_API_URL is plain http to ${host}: credentials would travel in clear text; use https (http is accepted only for localhost)`,
        },
        host,
      );
    assert.throws(() => loadSettings({ BITBUCKET_API_URL: "ftp://localhost/2.0" }), {
      message: 'bitbucket:apiUrl / BITBUCKET_API_URL must be an https URL, got "ftp://localhost/2.0"',
    });
  });

  it("refuses a Data Center URL that ends in /rest, saying to give the base URL", () => {
    assert.throws(
      () =>
        loadSettings({
          BITBUCKET_FLAVOR: "datacenter",
          BITBUCKET_API_URL: "https://bitbucket.example.test/rest/",
        }),
      {
        message:
          'bitbucket:apiUrl / BITBUCKET_API_URL is "https://bitbucket.example.test/rest": with flavor datacenter give the server\'s base URL without /rest, "https://bitbucket.example.test"; the provider adds /rest/api/latest/... itself',
      },
    );
    assert.equal(
      loadSettings({
        BITBUCKET_FLAVOR: "datacenter",
        BITBUCKET_API_URL: "https://bitbucket.example.test/restful",
      }).apiUrl,
      "https://bitbucket.example.test/restful",
    );
  });

  it("says all the ways to give credentials, and which half of an OAuth consumer is missing", () => {
    assert.throws(() => credentialsOf(loadSettings({})), {
      message:
        "no Bitbucket credentials: set BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_API_TOKEN, or BITBUCKET_OAUTH_CLIENT_ID and BITBUCKET_OAUTH_CLIENT_SECRET (or the bitbucket:token, ... stack config, set with --secret)",
    });
    assert.throws(() => credentialsOf(loadSettings({ BITBUCKET_OAUTH_CLIENT_ID: "k" })), {
      message:
        "no Bitbucket credentials (BITBUCKET_OAUTH_CLIENT_ID is set but BITBUCKET_OAUTH_CLIENT_SECRET is not): set BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_API_TOKEN, or BITBUCKET_OAUTH_CLIENT_ID and BITBUCKET_OAUTH_CLIENT_SECRET (or the bitbucket:token, ... stack config, set with --secret)",
    });
    assert.throws(() => credentialsOf(loadSettings({ BITBUCKET_OAUTH_CLIENT_SECRET: "s" })), {
      message: /^no Bitbucket credentials: set BITBUCKET_TOKEN/,
    });
  });
});
