// Issue 23: a write finds the kept listings it touches through an index (the keys at each path and
// below it), no longer by scanning everything kept, which made a large run's write-through
// quadratic. The property: over generated listings and writes, what is kept, patched and dropped
// is what the scan decides (kept here as the reference, with the patch rules written out on their
// own: a POST or PUT to the collection adds or replaces, a PUT or POST at or below an item answered
// with that item replaces it, a DELETE of an item removes it; ids without a uuid's braces). Fixed seed; FUZZ_SEED and FUZZ_RUNS change it.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { loadSettings, type Settings } from "../../provider/api/auth";
import { cachedList, cachedObject, clearCache, forgetWritten, patchWritten } from "../../provider/api/cache";

const SEED = Number(process.env.FUZZ_SEED ?? 23);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const API = "https://api.example.test/2.0";
const OTHER_API = "https://other.example.test/2.0";

interface Kept {
  api: string;
  token: string;
  path: string;
  single: boolean;
  items: Array<{ uuid: string }>;
}

interface Write {
  api: string;
  how: "POST" | "PUT" | "DELETE" | "lost";
  path: string;
  answer: { uuid: string };
}

const segment = fc.constantFrom(
  "repositories",
  "acme",
  "API",
  "api",
  "hooks",
  "variables",
  "{u1}",
  "%7Bu2%7D",
  "u3",
);
const pathArb = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom("", "/", "?user=a", "?user=B"))
  .map(([segs, tail]) => `/${segs.join("/")}${tail}`);
const keptArb: fc.Arbitrary<Kept> = fc.record({
  api: fc.constantFrom(API, OTHER_API),
  token: fc.constantFrom("t1", "t2"),
  path: pathArb,
  single: fc.boolean(),
  items: fc.array(
    fc.constantFrom("{u1}", "{u2}", "u3", "{U1}").map((uuid) => ({ uuid })),
    { maxLength: 3 },
  ),
});
const writeArb: fc.Arbitrary<Write> = fc.record({
  api: fc.constantFrom(API, API, OTHER_API),
  how: fc.constantFrom("POST", "PUT", "DELETE", "lost"),
  path: pathArb,
  // "": an answer without an id (not known to be one item).
  answer: fc.constantFrom("{u1}", "{u2}", "u3", "u9", "").map((uuid) => ({ uuid })),
});

/**
 * Writes near what is kept, as a run's writes are: to a kept collection itself, to one of its
 * items (by its id, braces percent-encoded or not), or below an item (an access key's permission).
 */
const writeNear = (kept: Kept[]): fc.Arbitrary<Write> =>
  kept.length === 0
    ? writeArb
    : fc.oneof(
        { arbitrary: writeArb, weight: 1 },
        {
          weight: 3,
          arbitrary: fc
            .record({
              w: writeArb,
              k: fc.constantFrom(...kept),
              item: fc.constantFrom("{u1}", "u1", "%7Bu2%7D", "u3", "U3"),
              tail: fc.constantFrom("", "/", "/item", "/item/", "/item/permission/REPO_READ"),
            })
            .map(({ w, k, item, tail }) => ({
              ...w,
              api: k.api,
              path: `${k.path.replace(/\?.*$/, "").replace(/\/+$/, "")}${tail.replace("item", item)}`,
            })),
        },
      );

// The reference: the scan over every kept key, as cache.ts did before the index.
const normalize = (path: string) => {
  const [p = "", q] = path.replace(/#.*$/, "").split("?", 2);
  const base = p.replace(/\/+$/, "").toLowerCase();
  return q ? `${base}?${q.toLowerCase()}` : base;
};
const pathOf = (key: string) => key.replace(/\?.*$/, "");
/** Ids compare case-folded and without a uuid's braces. */
const itemId = (id: string) => id.toLowerCase().replace(/^\{(.*)\}$/, "$1");
const idOf = (o: { uuid: string }) => itemId(o.uuid);

/** What each kept entry (by index) holds after the write: its items, or "dropped". */
function reference(kept: Kept[], w: Write): Array<string[] | "dropped"> {
  const written = pathOf(normalize(w.path));
  return kept.map((k) => {
    const items = k.items;
    if (k.api !== w.api) return items.map(idOf);
    const named = normalize(k.path);
    const collection = pathOf(named);
    let t: { exact: boolean; item?: string; below?: boolean } | undefined;
    if (named === normalize(w.path)) t = { exact: true };
    else if (collection === written) t = k.single ? undefined : { exact: false };
    else if (k.single) t = undefined;
    else if (written.startsWith(`${collection}/`)) {
      const [item = "", ...more] = written.slice(collection.length + 1).split("/");
      t = { exact: false, item: itemId(decodeURIComponent(item)), below: more.length > 0 };
    } else if (collection.startsWith(`${written}/`)) t = { exact: false };
    if (!t) return items.map(idOf);
    if (w.how === "lost") return "dropped";
    if (k.single) return "dropped"; // a single object is never patched
    const answer = idOf(w.answer);
    const listed = (id: string) => id !== "" && items.some((i) => idOf(i) === id);
    const replace = (id: string) => items.map((i) => (idOf(i) === id ? w.answer : i));
    let next: Array<{ uuid: string }> | undefined;
    if (t.exact && (w.how === "POST" || w.how === "PUT")) {
      // The collection itself: an answer with an item's id replaces it, else it is added (a PUT
      // answered without an id is not known to be one item: dropped).
      if (listed(answer)) next = replace(answer);
      else if (answer !== "" || w.how === "POST") next = [...items, w.answer];
    } else if (t.item !== undefined && t.item !== "" && w.how === "DELETE" && !t.below) {
      // An item's DELETE removes it (a listing without it stays as it is).
      next = items.filter((i) => idOf(i) !== t.item);
    } else if (t.item !== undefined && listed(t.item) && w.how !== "DELETE" && answer === t.item) {
      // A write to a listed item (or a path below it) answered with that item replaces it.
      next = replace(t.item);
    }
    return next ? next.map(idOf) : "dropped";
  });
}

const settingsFor = (api: string, token: string): Settings => ({ ...loadSettings({}), apiUrl: api, token });

/** What each kept entry holds after the write, read back through the cache: re-listing means dropped. */
async function actual(kept: Kept[], w: Write): Promise<Array<string[] | "dropped">> {
  clearCache();
  for (const k of kept) {
    const s = settingsFor(k.api, k.token);
    if (k.single) await cachedObject(s, k.path, async () => k.items);
    else await cachedList(s, k.path, async () => k.items);
  }
  if (w.how === "lost") forgetWritten(w.api, w.path);
  else patchWritten(w.api, w.how, w.path, w.answer);
  const out: Array<string[] | "dropped"> = [];
  for (const k of kept) {
    const s = settingsFor(k.api, k.token);
    let listed = false;
    const relist = async () => ((listed = true), [] as Array<{ uuid: string }>);
    const got = k.single ? await cachedObject(s, k.path, relist) : await cachedList(s, k.path, relist);
    out.push(listed ? "dropped" : (got as Array<{ uuid: string }>).map(idOf));
  }
  return out;
}

describe("issue 23: the read cache finds what a write touches through its index", () => {
  after(() => clearCache());

  it(`keeps, patches and drops exactly what the scan over every listing did (seed ${SEED}, ${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .uniqueArray(keptArb, {
            maxLength: 12,
            selector: (k) => `${k.api} ${k.token} ${normalize(k.path)}`,
          })
          .chain((kept) => fc.tuple(fc.constant(kept), writeNear(kept))),
        async ([kept, w]) => {
          assert.deepEqual(await actual(kept, w), reference(kept, w));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("drops a repository's listings when the repository itself is deleted, and no other repository's", async () => {
    clearCache();
    const s = settingsFor(API, "t1");
    for (const repo of ["api", "web"])
      await cachedList(s, `/repositories/acme/${repo}/hooks`, async () => [{ uuid: "{h}" }]);
    forgetWritten(API, "/repositories/acme/API");
    let relisted: string[] = [];
    for (const repo of ["api", "web"])
      await cachedList(
        s,
        `/repositories/acme/${repo}/hooks`,
        async () => ((relisted = [...relisted, repo]), []),
      );
    assert.deepEqual(relisted, ["api"]);
  });
});
