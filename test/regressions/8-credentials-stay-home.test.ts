// Issue 8.7: credentials only ever go to the configured API origin (and token URL), never in
// clear text across a network.

import * as assert from "node:assert/strict";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import type { AddressInfo } from "net";
import { loadSettings, setProviderConfig, tokenCache } from "../../provider/api/auth";
import { hookPath, seg } from "../../provider/api/cloud";
import { listAll } from "../../provider/api/paginate";
import { FAST_RETRIES } from "../harness/fixture";
import { selfSigned } from "../keys";

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

/**
 * One loopback port speaking both https and plain http (told apart by the first byte: 0x16 opens
 * a TLS handshake), so that `https://127.0.0.1:P` and `http://127.0.0.1:P` share host and port
 * and differ only in scheme. Records what each side received.
 */
async function dualServer(answer: (url: string, port: number) => unknown) {
  const seen = { https: [] as Seen[], http: [] as Seen[] };
  const handler = (side: Seen[]) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    side.push({ url: req.url ?? "", authorization: req.headers.authorization });
    res.setHeader("Content-Type", "application/json");
    res.setHeader("Connection", "close");
    res.end(JSON.stringify(answer(req.url ?? "", port)));
  };
  const tls = https.createServer(selfSigned(), handler(seen.https));
  const plain = http.createServer(handler(seen.http));
  const front = net.createServer((socket) => {
    socket.setTimeout(5000, () => socket.destroy());
    socket.once("readable", () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return void socket.destroy();
      socket.unshift(first);
      (first[0] === 0x16 ? tls : plain).emit("connection", socket);
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const port = (front.address() as AddressInfo).port;
  return { seen, port, close: () => new Promise<void>((r) => front.close(() => r())) };
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

  it("refuses a pagination link that drops to plain http on the API's own host and port, and that port's plain http receives nothing", async function () {
    this.timeout(30_000);
    const api = await dualServer((_url, port) => ({
      values: [{ uuid: "{a}" }],
      next: `http://127.0.0.1:${port}/2.0/page2`,
    }));
    const trust = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    try {
      Object.assign(process.env, FAST_RETRIES, {
        BITBUCKET_API_URL: `https://127.0.0.1:${api.port}/2.0`,
        BITBUCKET_TOKEN: "tok-must-stay-encrypted",
        NODE_TLS_REJECT_UNAUTHORIZED: "0", // the certificate is self-signed; read at each connect
      });
      tokenCache().clear();
      const outcome = await listAll("/repositories/acme/api/hooks").then(
        () => "followed",
        (e: Error) => e.message,
      );
      assert.deepEqual(api.seen.http, [], "the plain-http side of the same host and port received nothing");
      assert.deepEqual(
        api.seen.https.map((s) => s.authorization),
        ["Bearer tok-must-stay-encrypted"],
        "only the first page, over https, carried the token",
      );
      assert.ok(!outcome.includes("tok-must-stay-encrypted"), outcome);
      assert.match(
        outcome,
        /refused to follow a pagination link away from the API origin https:\/\/127\.0\.0\.1:\d+/,
      );
    } finally {
      if (trust === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = trust;
      await api.close();
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
