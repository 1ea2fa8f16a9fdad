import * as assert from "node:assert/strict";
import { loadSettings, setProviderConfig, tokenCache } from "../../provider/api/auth";
import { request } from "../../provider/api/client";
import { listAll } from "../../provider/api/paginate";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { FAST_RETRIES } from "../harness/fixture";

const ENV_KEYS = Object.keys(process.env).filter((k) => k.startsWith("BITBUCKET_"));

describe("API client", () => {
  let emu: Emulator;
  const saved = { ...process.env };

  beforeEach(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api"] },
      tokens: { tok: { scopes: ALL_SCOPES } },
      users: { "me@example.test:api-tok": { scopes: ["webhook", "repository"] } },
      consumers: [{ key: "ck", secret: "cs-very-secret", scopes: ["webhook", "repository"], private: true }],
    });
    for (const k of ENV_KEYS) delete process.env[k];
    Object.assign(process.env, FAST_RETRIES, { BITBUCKET_API_URL: emu.apiUrl });
    setProviderConfig(() => undefined);
    tokenCache().clear();
  });
  afterEach(async () => {
    process.env = { ...saved };
    await emu.close();
  });

  /** Credentials: the seeded consumer, through the emulator's token endpoint. */
  const useOAuth = (secret = "cs-very-secret") =>
    Object.assign(process.env, {
      BITBUCKET_OAUTH_CLIENT_ID: "ck",
      BITBUCKET_OAUTH_CLIENT_SECRET: secret,
      BITBUCKET_OAUTH_TOKEN_URL: `${emu.url}/site/oauth2/access_token`,
    });

  it("sends a Bearer token", async () => {
    process.env.BITBUCKET_TOKEN = "tok";
    const { status } = await request("GET", "/repositories/acme/api/hooks");
    assert.equal(status, 200);
  });

  it("sends Basic email + API token", async () => {
    Object.assign(process.env, { BITBUCKET_USERNAME: "me@example.test", BITBUCKET_API_TOKEN: "api-tok" });
    assert.equal((await request("GET", "/repositories/acme/api/hooks")).status, 200);
  });

  it("gets an OAuth token with client credentials once, and reuses it", async () => {
    useOAuth();
    await Promise.all([1, 2, 3].map(() => request("GET", "/repositories/acme/api/hooks")));
    await request("GET", "/repositories/acme/api/hooks");
    const grants = emu.entries().filter((e) => e.path === "/site/oauth2/access_token");
    assert.equal(grants.length, 1, "one grant for four requests, three of them concurrent");
    assert.deepEqual(grants[0]?.requestBody, "grant_type=client_credentials");
  });

  it("gets a new OAuth token before the cached one reaches its refresh time", async () => {
    useOAuth();
    await request("GET", "/repositories/acme/api/hooks");
    const [entry] = [...tokenCache().values()] as Array<{ refreshAt: number }>;
    assert.ok(
      entry && entry.refreshAt > Date.now() + 6000_000,
      "a 7200 s token is kept for at least 100 minutes",
    );
    entry.refreshAt = Date.now() - 1; // the refresh margin has been reached; the token itself is still valid
    await request("GET", "/repositories/acme/api/hooks");
    assert.deepEqual(
      emu.entries().map((e) => `${e.method} ${e.path} ${e.status}`),
      [
        "POST /site/oauth2/access_token 200",
        "GET /2.0/repositories/acme/api/hooks 200",
        "POST /site/oauth2/access_token 200",
        "GET /2.0/repositories/acme/api/hooks 200",
      ],
    );
  });

  it("gets a new OAuth token when Bitbucket says the old one expired", async () => {
    useOAuth();
    await request("GET", "/repositories/acme/api/hooks");
    for (const t of emu.store.tokens.values()) t.expiresAt = Date.now() - 1;
    assert.equal((await request("GET", "/repositories/acme/api/hooks")).status, 200);
    assert.deepEqual(
      emu.entries().map((e) => `${e.method} ${e.path} ${e.status}`),
      [
        "POST /site/oauth2/access_token 200",
        "GET /2.0/repositories/acme/api/hooks 200",
        "GET /2.0/repositories/acme/api/hooks 401",
        "POST /site/oauth2/access_token 200",
        "GET /2.0/repositories/acme/api/hooks 200",
      ],
    );
  });

  it("acts with the consumer's own scopes: an OAuth token lacking one gets Bitbucket's 403", async () => {
    emu.store.consumers.get("ck")!.scopes = ["repository"];
    useOAuth();
    await assert.rejects(
      request("GET", "/repositories/acme/api/hooks"),
      /failed \(403\): Your credentials lack one or more required privilege scopes\. - the credentials need scope\(s\) webhook but were granted repository/,
    );
  });

  it("fails on bad client credentials with Bitbucket's words and without the secret", async () => {
    useOAuth("wrong-secret-value");
    const err = await request("GET", "/repositories/acme/api/hooks").catch((e: Error) => e);
    assert.ok(err instanceof Error);
    assert.equal(
      err.message,
      "POST /site/oauth2/access_token failed (400): Invalid OAuth client credentials (unauthorized_client)",
    );
    assert.ok(!JSON.stringify(err).includes("wrong-secret-value"));
  });

  it("never puts the token or the Authorization header into an error", async () => {
    process.env.BITBUCKET_TOKEN = "tok";
    emu.fault({ status: 500, times: 10 });
    const err = await request("GET", "/repositories/acme/api/hooks").catch((e: Error) => e);
    const text = `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack}`;
    assert.match(text, /GET \/repositories\/acme\/api\/hooks failed \(500\): Something went wrong/);
    assert.ok(!text.includes('tok"') && !text.includes("Bearer") && !text.includes("Authorization"), text);
  });

  it("refuses a Cloud path on a Data Center connection and the reverse, naming the setting, before any request", async () => {
    Object.assign(process.env, { BITBUCKET_TOKEN: "tok", BITBUCKET_FLAVOR: "datacenter" });
    await assert.rejects(
      request("GET", "/repositories/acme/api/hooks"),
      /GET \/repositories\/acme\/api\/hooks: this is a Bitbucket Cloud resource, but the connection is Bitbucket Data Center \(bitbucket:flavor \/ BITBUCKET_FLAVOR is "datacenter"\)/,
    );
    process.env.BITBUCKET_FLAVOR = "cloud";
    await assert.rejects(
      request("GET", "/rest/api/latest/projects/PROJ/repos/api/webhooks"),
      /this is a Bitbucket Data Center resource, but the connection is Bitbucket Cloud \(bitbucket:flavor \/ BITBUCKET_FLAVOR is "cloud"\): set bitbucket:flavor to datacenter and bitbucket:apiUrl to the server's base URL/,
    );
    assert.deepEqual(emu.log(), []);
  });

  it("needs the server's base URL (without /rest) for Data Center", () => {
    const env = { BITBUCKET_FLAVOR: "datacenter" };
    assert.throws(
      () => loadSettings(env),
      /is "datacenter": set bitbucket:apiUrl \/ BITBUCKET_API_URL to the server's base URL/,
    );
    assert.throws(
      () => loadSettings({ ...env, BITBUCKET_API_URL: "https://bitbucket.example.test/rest/api/1.0" }),
      /give the server's base URL without \/rest/,
    );
    assert.equal(
      loadSettings({ ...env, BITBUCKET_API_URL: "https://bitbucket.example.test/" }).apiUrl,
      "https://bitbucket.example.test",
    );
  });

  it("answers 401 for a wrong token with a hint where credentials come from", async () => {
    process.env.BITBUCKET_TOKEN = "nope";
    await assert.rejects(
      request("GET", "/repositories/acme/api/hooks"),
      /failed \(401\): Token is invalid or not supported for this endpoint\. - check BITBUCKET_TOKEN/,
    );
  });

  it("follows `next` to the last page with pagelen=100 and drops nothing", async () => {
    process.env.BITBUCKET_TOKEN = "tok";
    for (let i = 0; i < 250; i++) {
      emu.store.addHook("acme", "api", { url: `https://hooks.example.test/${i}` });
    }
    const all = await listAll<{ url: string }>("/repositories/acme/api/hooks");
    assert.equal(all.length, 250);
    assert.equal(new Set(all.map((h) => h.url)).size, 250);
    assert.deepEqual(
      emu.entries().map((e) => e.query),
      ["?pagelen=100", "?pagelen=100&page=2", "?pagelen=100&page=3"],
    );
  });

  it("fails the whole listing when one page fails, rather than returning part of it", async () => {
    process.env.BITBUCKET_TOKEN = "tok";
    process.env.BITBUCKET_MAX_RETRIES = "0";
    for (let i = 0; i < 150; i++) {
      emu.store.addHook("acme", "api", { url: `https://hooks.example.test/${i}` });
    }
    emu.fault({ path: "page=2", status: 503 });
    await assert.rejects(
      listAll("/repositories/acme/api/hooks"),
      /GET \/repositories\/acme\/api\/hooks\?pagelen=100&page=2 failed \(503\)/,
    );
    assert.deepEqual(
      emu.entries().map((e) => e.status),
      [200, 503],
    );
  });
});
