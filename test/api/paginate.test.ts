// Whole-collection reads (paginate.ts) as the server sees them: which pages are asked for, with
// which query, when the listing stops, and what the caller gets: every item, undefined for an
// object not listed or a collection gone, and an error (never a partial list) otherwise.

import * as assert from "node:assert/strict";
import { setProviderConfig, tokenCache } from "../../provider/api/auth";
import { setReadOnly } from "../../provider/api/client";
import { findIn, listAll, readListed, MAX_PAGES } from "../../provider/api/paginate";
import { freshProcess, useSettings, wireServer, type Answer, type Received, type WireServer } from "./wire";

const HOOKS = "/repositories/acme/api/hooks";
const DC_HOOKS = "/rest/api/latest/projects/PROJ/repos/api/webhooks";

describe("listing a whole collection", () => {
  const saved = { ...process.env };
  let srv: WireServer | undefined;

  /** A Cloud connection (`/2.0`) or a Data Center one (the server's base URL) to a scripted server. */
  async function serve(
    answer: (r: Received, n: number) => Answer,
    flavor: "cloud" | "datacenter" = "cloud",
  ): Promise<WireServer> {
    srv = await wireServer(answer);
    useSettings({
      BITBUCKET_API_URL: flavor === "cloud" ? `${srv.origin}/2.0` : srv.origin,
      BITBUCKET_FLAVOR: flavor,
      BITBUCKET_TOKEN: "tok",
      BITBUCKET_MAX_RETRIES: "0",
    });
    return srv;
  }

  beforeEach(() => {
    setProviderConfig(() => undefined);
    tokenCache().clear();
    freshProcess();
  });
  afterEach(async () => {
    setReadOnly(false);
    process.env = { ...saved };
    await srv?.close();
    srv = undefined;
  });

  describe("Bitbucket Cloud", () => {
    it("asks for pagelen=100 with the query given, then follows each `next` link as given, to the last page", async () => {
      const s = await serve((r) => {
        const page = Number(new URL(r.url, "http://x").searchParams.get("page") ?? 1);
        return {
          body: {
            values: [`item-${page}a`, `item-${page}b`],
            ...(page < 3 && {
              next: `${srv!.origin}/2.0${HOOKS}?q=active%3Dtrue&pagelen=100&page=${page + 1}`,
            }),
          },
        };
      });
      const all = await listAll<string>(HOOKS, { q: "active=true" });
      assert.deepEqual(all, ["item-1a", "item-1b", "item-2a", "item-2b", "item-3a", "item-3b"]);
      assert.deepEqual(s.lines(), [
        `GET /2.0${HOOKS}?pagelen=100&q=active%3Dtrue`,
        `GET /2.0${HOOKS}?q=active%3Dtrue&pagelen=100&page=2`,
        `GET /2.0${HOOKS}?q=active%3Dtrue&pagelen=100&page=3`,
      ]);
    });

    it("stops at a page without values even when it has a `next` (Pipelines past the end), and a page without `values` lists nothing", async () => {
      const s = await serve((_r, n) =>
        n === 0
          ? { body: { values: ["a"], next: `${srv!.origin}/2.0${HOOKS}?page=2` } }
          : n === 1
            ? { body: { values: [], pagelen: 0, next: `${srv!.origin}/2.0${HOOKS}?page=3` } }
            : { body: { pagelen: 10 } },
      );
      assert.deepEqual(await listAll(HOOKS), ["a"]);
      assert.equal(s.received.length, 2);
      assert.deepEqual(await listAll(HOOKS), [], "the third answer has no `values`");
    });

    it(`stops a \`next\` chain that never ends after ${MAX_PAGES} pages, saying so`, async function () {
      this.timeout(60_000);
      const s = await serve((_r, n) => ({
        body: { values: [n], next: `${srv!.origin}/2.0${HOOKS}?page=${n + 2}` },
      }));
      await assert.rejects(listAll(HOOKS), (e: Error) => {
        assert.equal(e.message, `GET ${HOOKS}: more than 1000 pages; stopping`);
        return true;
      });
      assert.equal(s.received.length, 1000);
    });
  });

  describe("Bitbucket Data Center", () => {
    /** Pages of `size` items over `total`, starting where `start` says; `nextPageStart` skips ids (not contiguous). */
    const dcPages =
      (total: number, size: number) =>
      (r: Received): Answer => {
        const q = new URL(r.url, "http://x").searchParams;
        const start = Number(q.get("start"));
        const values = Array.from({ length: Math.min(size, total - start / 2) }, (_, i) => start / 2 + i);
        const last = start / 2 + values.length >= total;
        return {
          body: {
            values,
            start,
            size: values.length,
            isLastPage: last,
            ...(!last && { nextPageStart: start + 2 * size }),
          },
        };
      };

    it("asks from start=0 with limit=1000 and the query given, goes on from each nextPageStart until isLastPage, even while read-only", async () => {
      const s = await serve(dcPages(5, 2), "datacenter");
      setReadOnly(true); // plan and export list with writes refused
      assert.deepEqual(await listAll(DC_HOOKS, { event: "repo:refs_changed" }), [0, 1, 2, 3, 4]);
      assert.deepEqual(s.lines(), [
        `GET ${DC_HOOKS}?event=repo:refs_changed&start=0&limit=1000`,
        `GET ${DC_HOOKS}?event=repo:refs_changed&start=4&limit=1000`,
        `GET ${DC_HOOKS}?event=repo:refs_changed&start=8&limit=1000`,
      ]);
    });

    it("takes a page that does not say isLastPage as the last, and a page without `values` as empty", async () => {
      const s = await serve(() => ({ body: { size: 0 } }), "datacenter");
      assert.deepEqual(await listAll(DC_HOOKS), []);
      assert.equal(s.received.length, 1);
    });

    it("fails rather than return part of the list when a page says more follow without a usable nextPageStart", async () => {
      for (const nextPageStart of [undefined, 0, "25"]) {
        const s = await serve(
          () => ({
            body: { values: [1], isLastPage: false, ...(nextPageStart !== undefined && { nextPageStart }) },
          }),
          "datacenter",
        );
        await assert.rejects(listAll(DC_HOOKS), (e: Error) => {
          assert.equal(
            e.message,
            `GET ${DC_HOOKS}: page at start=0 says more pages follow but gives no usable nextPageStart (${String(nextPageStart)}); stopping rather than returning a partial list`,
          );
          return true;
        });
        assert.equal(s.received.length, 1);
        await s.close();
        srv = undefined;
      }
    });

    it("fails when a later page's nextPageStart goes back, rather than list pages again", async () => {
      const s = await serve(
        (_r, n) => ({ body: { values: [n], isLastPage: false, nextPageStart: n === 0 ? 10 : 5 } }),
        "datacenter",
      );
      await assert.rejects(
        listAll(DC_HOOKS),
        /page at start=10 says more pages follow but gives no usable nextPageStart \(5\)/,
      );
      assert.equal(s.received.length, 2);
    });

    it(`stops after ${MAX_PAGES} pages, saying so`, async function () {
      this.timeout(60_000);
      const s = await serve((r) => {
        const start = Number(new URL(r.url, "http://x").searchParams.get("start"));
        return { body: { values: [start], isLastPage: false, nextPageStart: start + 1 } };
      }, "datacenter");
      await assert.rejects(listAll(DC_HOOKS), (e: Error) => {
        assert.equal(e.message, `GET ${DC_HOOKS}: more than 1000 pages; stopping`);
        return true;
      });
      assert.equal(s.received.length, 1000);
    });
  });

  describe("finding one object in its collection", () => {
    const hooks = {
      values: [
        { uuid: "{a}", url: "https://hooks.example.test/a" },
        { uuid: "{b}", url: "https://hooks.example.test/b" },
        { uuid: "{c}", url: "https://hooks.example.test/b" },
      ],
    };

    it("findIn gives the first match from one listing per run, and lists again when asked for a fresh one", async () => {
      const s = await serve(() => ({ body: hooks }));
      const byUrl = (h: { url: string }) => h.url === "https://hooks.example.test/b";
      assert.deepEqual(await findIn(HOOKS, byUrl), hooks.values[1]);
      assert.equal(await findIn(HOOKS, (h: { uuid: string }) => h.uuid === "{z}"), undefined);
      assert.equal(s.received.length, 1);
      await findIn(HOOKS, byUrl, { fresh: true });
      assert.equal(s.received.length, 2);
    });

    it("readListed gives the listed object, undefined when it is not listed or the collection is gone (404), and fails on any other error", async () => {
      const byUuid = (uuid: string) => (h: { uuid: string }) => h.uuid === uuid;
      await serve((r) =>
        r.url.includes("/gone/")
          ? { status: 404 }
          : r.url.includes("/denied/")
            ? { status: 403 }
            : { body: hooks },
      );
      assert.deepEqual(await readListed(HOOKS, byUuid("{c}")), hooks.values[2]);
      assert.equal(await readListed(HOOKS, byUuid("{z}")), undefined);
      assert.equal(await readListed("/repositories/acme/gone/hooks", byUuid("{a}")), undefined);
      await assert.rejects(
        readListed("/repositories/acme/denied/hooks", byUuid("{a}")),
        /^BitbucketApiError: GET \/repositories\/acme\/denied\/hooks failed \(403\)/,
      );
    });
  });
});
