// The read cache's rules (provider/api/cache.ts): one listing per collection per run, shared by
// concurrent callers, patched by our own successful writes (those answered while it is under way
// when it arrives, if it came in one page), dropped by failed or lost ones, never kept on failure,
// expiring after TTL_MS, separate per API and per credentials.

import * as assert from "node:assert/strict";
import { loadSettings, setProviderConfig, type Settings } from "../../provider/api/auth";
import {
  cachedList,
  cachedObject,
  forgetWritten,
  patchWritten,
  TTL_MS,
  type Paged,
} from "../../provider/api/cache";
import { request } from "../../provider/api/client";
import { listCached } from "../../provider/api/paginate";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { FAST_RETRIES } from "../harness/fixture";

const HOOKS = "/repositories/acme/api/hooks";
const settings = (token = "tok", apiUrl = "https://api.example.test/2.0"): Settings => ({
  ...loadSettings({}),
  apiUrl,
  token,
});

/** A listing function that counts its calls and answers what `items` holds then. */
function counter(items: string[] = ["a"]) {
  const c = { calls: 0, list: async () => (c.calls++, [...items]) };
  return c;
}

describe("read cache (one listing per collection per run)", () => {
  beforeEach(() => forgetWritten("https://api.example.test/2.0", "/"));

  it("lists once for concurrent and later callers, and again only after TTL_MS", async () => {
    let now = 1_000;
    const c = counter();
    const s = settings();
    const got = await Promise.all([1, 2, 3].map(() => cachedList(s, HOOKS, c.list, { now: () => now })));
    assert.equal(c.calls, 1, "three concurrent reads share one listing");
    assert.deepEqual(got, [["a"], ["a"], ["a"]]);
    now += TTL_MS - 1;
    await cachedList(s, HOOKS, c.list, { now: () => now });
    assert.equal(c.calls, 1, "kept for TTL_MS");
    now += 1;
    await cachedList(s, HOOKS, c.list, { now: () => now });
    assert.equal(c.calls, 2, "listed again once it expired");
  });

  it("lists again when asked for a fresh listing (after a write whose answer was lost)", async () => {
    const c = counter();
    await cachedList(settings(), HOOKS, c.list);
    await cachedList(settings(), HOOKS, c.list, { fresh: true });
    assert.equal(c.calls, 2);
  });

  it("does not keep a failed listing", async () => {
    let fail = true;
    let calls = 0;
    const list = async () => {
      calls++;
      if (fail) throw new Error("502");
      return ["a"];
    };
    await assert.rejects(cachedList(settings(), HOOKS, list), /502/);
    fail = false;
    assert.deepEqual(await cachedList(settings(), HOOKS, list), ["a"]);
    assert.equal(calls, 2);
  });

  it("drops a collection on a failed write to it or to one of its items, whatever the case of the slugs", async () => {
    const s = settings();
    const lists = {
      hooks: counter(),
      webHooks: counter(),
      keys: counter(),
    };
    const readAll = () =>
      Promise.all([
        cachedList(s, HOOKS, lists.hooks.list),
        cachedList(s, "/repositories/acme/web/hooks", lists.webHooks.list),
        cachedList(s, "/repositories/acme/api/deploy-keys", lists.keys.list),
      ]);
    await readAll();
    forgetWritten(s.apiUrl, "/repositories/ACME/api/hooks/%7Bu1%7D"); // PUT or DELETE of one hook
    await readAll();
    assert.deepEqual(
      [lists.hooks.calls, lists.webHooks.calls, lists.keys.calls],
      [2, 1, 1],
      "only acme/api's hooks are listed again",
    );
    forgetWritten(s.apiUrl, "/repositories/acme/api/deploy-keys"); // POST to the collection
    forgetWritten("https://other.example.test/2.0", HOOKS); // another API's write
    await readAll();
    assert.deepEqual([lists.hooks.calls, lists.webHooks.calls, lists.keys.calls], [2, 1, 2]);
  });

  it("patches a kept listing with a successful write's answer: POST adds, PUT replaces, DELETE removes", async () => {
    const s = settings();
    const c = { calls: 0, list: async () => (c.calls++, [{ uuid: "{a}", v: 1 }]) };
    const read = () => cachedList(s, HOOKS, c.list);
    await read();
    patchWritten(s.apiUrl, "POST", HOOKS, { uuid: "{b}", v: 1 });
    assert.deepEqual(await read(), [
      { uuid: "{a}", v: 1 },
      { uuid: "{b}", v: 1 },
    ]);
    patchWritten(s.apiUrl, "PUT", `${HOOKS}/%7BA%7D`, { uuid: "{a}", v: 2 });
    patchWritten(s.apiUrl, "DELETE", `${HOOKS}/%7Bb%7D`, "");
    assert.deepEqual(await read(), [{ uuid: "{a}", v: 2 }]);
    assert.equal(c.calls, 1, "no listing again");
    const keys = { calls: 0, list: async () => (keys.calls++, [{ id: 7, label: "x" }]) };
    await cachedList(s, "/repositories/acme/api/deploy-keys", keys.list);
    patchWritten(s.apiUrl, "PUT", "/repositories/acme/api/deploy-keys/7", { id: 7, label: "y" });
    assert.deepEqual(await cachedList(s, "/repositories/acme/api/deploy-keys", keys.list), [
      { id: 7, label: "y" },
    ]);
    patchWritten(s.apiUrl, "PUT", `${HOOKS}/%7Bz%7D`, { uuid: "{z}" }); // not in the listing: unknown, so dropped
    await read();
    assert.equal(c.calls, 2);
  });

  it("applies a write answered while the listing is under way when it arrives: every reader has it, none lists again", async () => {
    const s = settings();
    let release!: () => void;
    let calls = 0;
    const list = () => (calls++, new Promise<unknown[]>((r) => (release = () => r([{ uuid: "{old}" }]))));
    const first = cachedList(s, HOOKS, list);
    patchWritten(s.apiUrl, "POST", HOOKS, { uuid: "{new}" });
    const second = cachedList(s, HOOKS, list);
    release();
    const want = [{ uuid: "{old}" }, { uuid: "{new}" }];
    assert.deepEqual(await first, want, "the reader that started before the write");
    assert.deepEqual(await second, want, "the reader that came after it");
    assert.deepEqual(await cachedList(s, HOOKS, list), want, "a reader after the listing arrived");
    assert.equal(calls, 1);
  });

  it("drops a listing of several pages under way when a write lands meanwhile: it may have missed an item the write moved", async () => {
    const s = settings();
    let release!: () => void;
    let calls = 0;
    const list = () => (
      calls++,
      new Promise<Paged<string>>((r) => (release = () => r({ items: ["a", "b"], pages: 2 })))
    );
    const first = cachedList(s, HOOKS, list);
    patchWritten(s.apiUrl, "DELETE", `${HOOKS}/a`, "");
    release();
    assert.deepEqual(
      await first,
      ["a", "b"],
      "the reader that started before the write gets what was listed",
    );
    assert.deepEqual(await cachedList(s, HOOKS, async () => (calls++, ["b"])), ["b"]);
    assert.equal(calls, 2);
  });

  it("keeps a single object (a repository) through writes below it; a write to it drops it", async () => {
    const s = settings();
    let calls = 0;
    const get = async () => (calls++, { uuid: "{repo}" });
    const repo = () => cachedObject(s, "/repositories/acme/api", get);
    await Promise.all([repo(), repo()]);
    patchWritten(s.apiUrl, "POST", HOOKS, { uuid: "{h}" });
    forgetWritten(s.apiUrl, `${HOOKS}/%7Bh%7D`);
    assert.deepEqual(await repo(), { uuid: "{repo}" });
    assert.equal(calls, 1, "one GET; the hooks written below it do not change the repository");
    forgetWritten(s.apiUrl, "/repositories/acme/api");
    await repo();
    assert.equal(calls, 2);
  });

  it("keeps one listing per credentials: another token may see less", async () => {
    const c = counter();
    await cachedList(settings("tok-a"), HOOKS, c.list);
    await cachedList(settings("tok-b"), HOOKS, c.list);
    await cachedList(settings("tok-a"), HOOKS, c.list);
    assert.equal(c.calls, 2);
  });

  it("patches a Data Center user's key listing, named by its ?user= query, with a DELETE of one key", async () => {
    const s = settings();
    const alice = "/rest/ssh/latest/keys?user=alice";
    const c = { calls: 0, list: async () => (c.calls++, [{ id: 5 }, { id: 6 }]) };
    await cachedList(s, alice, c.list);
    patchWritten(s.apiUrl, "DELETE", "/rest/ssh/latest/keys/5", "");
    assert.deepEqual(await cachedList(s, alice, c.list), [{ id: 6 }]);
    assert.equal(c.calls, 1, "the deleted key is gone without listing again");
  });

  it("drops the credentials' own key listing when a write goes to the same keys under ?user=", async () => {
    const s = settings();
    const own = { calls: 0, list: async () => (own.calls++, [{ id: 5 }]) };
    await cachedList(s, "/rest/ssh/latest/keys", own.list);
    // alice may be the credentials' own user: the same collection, named another way
    patchWritten(s.apiUrl, "POST", "/rest/ssh/latest/keys?user=alice", { id: 7 });
    await cachedList(s, "/rest/ssh/latest/keys", own.list);
    assert.equal(own.calls, 2, "listed again");
    forgetWritten(s.apiUrl, "/rest/ssh/latest/keys?user=alice");
    await cachedList(s, "/rest/ssh/latest/keys", own.list);
    assert.equal(own.calls, 3, "listed again after a failed write too");
  });

  it("patches a Data Center access key listing by key.id, a permission change (a PUT below the key) too", async () => {
    const s = settings();
    const keys = "/rest/keys/latest/projects/PROJ/repos/api/ssh";
    let permission = "REPO_READ";
    const c = {
      calls: 0,
      list: async () => (
        c.calls++,
        [
          { key: { id: 12 }, permission },
          { key: { id: 13 }, permission: "REPO_READ" },
        ]
      ),
    };
    await cachedList(s, keys, c.list);
    patchWritten(s.apiUrl, "DELETE", `${keys}/13`, "");
    assert.deepEqual(await cachedList(s, keys, c.list), [{ key: { id: 12 }, permission: "REPO_READ" }]);
    assert.equal(c.calls, 1, "the revoked key is gone without listing again");
    permission = "REPO_WRITE";
    patchWritten(s.apiUrl, "PUT", `${keys}/12/permission/REPO_WRITE`, { key: { id: 12 }, permission });
    assert.deepEqual(await cachedList(s, keys, c.list), [{ key: { id: 12 }, permission: "REPO_WRITE" }]);
    assert.equal(c.calls, 1, "a write below an item answered with that item replaces it");
  });

  it("lists again after a PUT whose answer does not name the item it replaced", async () => {
    const s = settings();
    let v = 1;
    const c = { calls: 0, list: async () => (c.calls++, [{ uuid: "{a}", v }]) };
    await cachedList(s, HOOKS, c.list);
    v = 2;
    patchWritten(s.apiUrl, "PUT", `${HOOKS}/%7Ba%7D`, { v: 2 });
    assert.deepEqual(await cachedList(s, HOOKS, c.list), [{ uuid: "{a}", v: 2 }]);
    assert.equal(c.calls, 2);
  });

  it("removes an item deleted while the listing is under way, listed or not, and drops it when a PUT names an item it does not list", async () => {
    const s = settings();
    let release!: () => void;
    let calls = 0;
    const list = () => (
      calls++,
      new Promise<unknown[]>((r) => (release = () => r([{ uuid: "{a}" }, { uuid: "{b}" }])))
    );
    const first = cachedList(s, HOOKS, list);
    patchWritten(s.apiUrl, "DELETE", `${HOOKS}/%7Ba%7D`, ""); // listed: the listing came first
    patchWritten(s.apiUrl, "DELETE", `${HOOKS}/%7Bz%7D`, ""); // not listed: it came after
    release();
    assert.deepEqual(await first, [{ uuid: "{b}" }]);
    assert.deepEqual(await cachedList(s, HOOKS, list), [{ uuid: "{b}" }]);
    assert.equal(calls, 1);

    const again = cachedList(s, "/repositories/acme/web/hooks", list);
    patchWritten(s.apiUrl, "PUT", "/repositories/acme/web/hooks/%7Bz%7D", { uuid: "{z}" });
    release();
    assert.deepEqual(await again, [{ uuid: "{a}" }, { uuid: "{b}" }], "what was listed");
    await cachedList(s, "/repositories/acme/web/hooks", async () => (calls++, []));
    assert.equal(calls, 3, "a PUT to an item the listing does not have is not known: listed again");
  });

  it("keeps the newer listing when an older one, dropped by a write, fails afterwards", async () => {
    const s = settings();
    let fail!: () => void;
    const older = cachedList(
      s,
      HOOKS,
      () => new Promise<string[]>((_, reject) => (fail = () => reject(new Error("502")))),
    );
    forgetWritten(s.apiUrl, HOOKS);
    const c = counter(["newer"]);
    assert.deepEqual(await cachedList(s, HOOKS, c.list), ["newer"]);
    fail();
    await assert.rejects(older, /502/);
    assert.deepEqual(await cachedList(s, HOOKS, c.list), ["newer"]);
    assert.equal(c.calls, 1, "the newer listing is still kept");
  });

  it("adds a Data Center token create (a PUT to the collection) to the listing without listing again", async () => {
    const s = settings();
    const tokens = "/rest/access-tokens/latest/users/alice";
    const c = { calls: 0, list: async () => (c.calls++, [{ id: "1", name: "old" }]) };
    await cachedList(s, tokens, c.list);
    patchWritten(s.apiUrl, "PUT", tokens, { id: "252973515069", name: "ci" });
    assert.deepEqual(await cachedList(s, tokens, c.list), [
      { id: "1", name: "old" },
      { id: "252973515069", name: "ci" },
    ]);
    patchWritten(s.apiUrl, "POST", `${tokens}/252973515069`, { id: "252973515069", name: "ci2" });
    assert.deepEqual(
      (await cachedList<{ name: string }>(s, tokens, c.list)).map((t) => t.name),
      ["old", "ci2"],
    );
    assert.equal(c.calls, 1, "the create and the update (a POST to the token) are patched in");
  });

  describe("through the client, against the emulator", () => {
    let emu: Emulator;
    const saved = { ...process.env };
    beforeEach(async () => {
      emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { tok: { scopes: ALL_SCOPES } } });
      Object.assign(process.env, FAST_RETRIES, { BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: "tok" });
      setProviderConfig(() => undefined);
    });
    afterEach(async () => {
      process.env = { ...saved };
      await emu.close();
    });
    const body = (n: number) => ({
      body: { url: `https://h.example.test/${n}`, events: ["repo:push"], active: true },
    });
    const gets = () => emu.log().filter((l) => l === `GET /2.0${HOOKS}`).length;

    it("patches a listing with the answer as the write says its collection lists it (a token create's, less the raw token)", async () => {
      await listCached(HOOKS);
      const listed = (a: unknown) => ({ ...(a as object), secret: undefined, listedAs: "listing" });
      const { data } = await request<{ uuid: string; secret_set?: boolean }>("POST", HOOKS, {
        ...body(1),
        listed,
      });
      assert.deepEqual(await listCached(HOOKS), [listed(data)]);
      assert.equal(gets(), 1);
    });

    it("our answered writes are in the next read without listing again; a lost one makes it list again", async () => {
      assert.equal((await listCached(HOOKS)).length, 0);
      assert.equal((await listCached(HOOKS)).length, 0);
      assert.equal(gets(), 1);
      const { data } = await request<{ uuid: string }>("POST", HOOKS, body(1));
      assert.deepEqual(
        (await listCached<{ uuid: string }>(HOOKS)).map((h) => h.uuid),
        [data.uuid],
      );
      await request("PUT", `${HOOKS}/${encodeURIComponent(data.uuid)}`, {
        body: { ...body(1).body, url: "https://h.example.test/moved" },
      });
      assert.deepEqual(
        (await listCached<{ url: string }>(HOOKS)).map((h) => h.url),
        ["https://h.example.test/moved"],
      );
      assert.equal(gets(), 1, "POST and PUT answers patched the listing");
      emu.fault({ method: "POST", path: "/hooks", status: 502, commitThenFail: true });
      await assert.rejects(request("POST", HOOKS, body(2)), /502/);
      assert.equal((await listCached(HOOKS)).length, 2, "the write whose answer was lost is seen");
      assert.equal(gets(), 2);
      await request("DELETE", `${HOOKS}/${encodeURIComponent(data.uuid)}`);
      assert.equal((await listCached(HOOKS)).length, 1);
      assert.equal(gets(), 2);
    });
  });
});
