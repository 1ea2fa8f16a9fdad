// Issue 8.7: credentials only ever go to the configured API origin (and token URL), never in
// clear text across a network.

import * as assert from "node:assert/strict";
import * as http from "http";
import type { AddressInfo } from "net";
import { loadSettings, setProviderConfig, tokenCache } from "../../provider/api/auth";
import { hookPath, seg } from "../../provider/api/cloud";
import { listAll } from "../../provider/api/paginate";
import { FAST_RETRIES } from "../harness/fixture";

interface Seen {
  url: string;
  authorization?: string;
}

/** A loopback server answering every request with `answer(url)`; records what it received. */
async function server(answer: (url: string, origin: string) => unknown) {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(answer(req.url ?? "", origin)));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return { seen, origin, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

describe("issue 8.7: credentials stay on the configured hosts", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    setProviderConfig(() => undefined);
  });

  it("refuses a pagination link to another origin without sending it the token", async () => {
    const elsewhere = await server(() => ({ values: [{ uuid: "stolen" }] }));
    const api = await server(() => ({ values: [{ uuid: "{a}" }], next: `${elsewhere.origin}/2.0/page2` }));
    try {
      Object.assign(process.env, FAST_RETRIES, {
        BITBUCKET_API_URL: `${api.origin}/2.0`,
        BITBUCKET_TOKEN: "tok-must-stay-home",
      });
      tokenCache().clear();
      await assert.rejects(
        listAll("/repositories/acme/api/hooks"),
        (e: Error) =>
          /refused to follow a pagination link away from the API origin http:\/\/127\.0\.0\.1:\d+/.test(
            e.message,
          ) && !e.message.includes("tok-must-stay-home"),
      );
      assert.equal(api.seen.length, 1);
      assert.equal(api.seen[0]?.authorization, "Bearer tok-must-stay-home");
      assert.deepEqual(elsewhere.seen, [], "the other host received nothing");
    } finally {
      await api.close();
      await elsewhere.close();
    }
  });

  it("refuses plain-http API and token URLs except to this machine", () => {
    assert.throws(
      () => loadSettings({ BITBUCKET_API_URL: "http://bitbucket.internal.example/2.0" }),
      /bitbucket:apiUrl \/ BITBUCKET_API_URL is plain http to bitbucket\.internal\.example: credentials would travel in clear text; use https/,
    );
    assert.throws(
      () => loadSettings({ BITBUCKET_OAUTH_TOKEN_URL: "http://bitbucket.org/site/oauth2/access_token" }),
      /bitbucket:oauthTokenUrl \/ BITBUCKET_OAUTH_TOKEN_URL is plain http to bitbucket\.org/,
    );
    assert.throws(() => loadSettings({ BITBUCKET_API_URL: "ftp://x.example/2.0" }), /must be an https URL/);
    for (const host of ["127.0.0.1:8080", "localhost", "[::1]:9"]) {
      assert.equal(loadSettings({ BITBUCKET_API_URL: `http://${host}/2.0` }).apiUrl, `http://${host}/2.0`);
    }
  });

  it("refuses empty, '.' and '..' path segments wherever a path is built", () => {
    for (const bad of ["", ".", ".."]) {
      assert.throws(() => seg(bad), /cannot be a part of a Bitbucket API path/);
      assert.throws(() => hookPath({ workspace: "acme", repository: bad || "." }, "{u}"));
    }
    assert.equal(seg("{0b6d}"), "%7B0b6d%7D");
    assert.equal(seg("a/b"), "a%2Fb");
  });
});
