// Issue 10: large stacks under Bitbucket's rate limit. Through the program engine (mocks -> the
// real dynamic-provider host -> the emulator), as `pulumi up` / `refresh` / `destroy` run them:
// every resource at once (the engine's default parallelism is unbounded).

import * as assert from "node:assert/strict";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { fixture, SCALE_MANIFEST, scaleSeed, TOKEN, type Fixture } from "../harness/fixture";

const REPOS = 6;
const SEED = scaleSeed(REPOS);

describe("issue 10: scale under the rate limit", function () {
  // CPU-bound: each test starts three or four provider hosts (about a second of CPU each) and
  // drives 24 resources through them; beside other test files on 2 cores it needs more than 20 s.
  this.timeout(60_000);
  let f: Fixture;
  let engine: Engine;
  const saved = { ...process.env };
  const start = async (env: Record<string, string> = {}) => {
    f = await fixture(SEED, { env });
    engine = new Engine(f.harness);
    // The program lists the workspace's repositories from this process.
    Object.assign(process.env, { BITBUCKET_API_URL: f.emulator.apiUrl, BITBUCKET_TOKEN: TOKEN });
  };
  afterEach(async () => {
    process.env = { ...saved };
    await f?.close();
  });
  const program = async () =>
    Object.values((await deployManifest(parseManifest(SCALE_MANIFEST, "bitbucket.yaml"))).resources);
  /** "METHOD /path" counts, item ids and repository names replaced so requests group by kind. */
  const tally = () => {
    const out: Record<string, number> = {};
    for (const line of f.emulator.log()) {
      const kind = line
        .replace(/\/svc-\d+\//, "/{repo}/")
        .replace(/\/%7B[^/]+%7D$/i, "/{id}")
        .replace(/\?.*$/, "");
      out[kind] = (out[kind] ?? 0) + 1;
    }
    return out;
  };
  const everything = () => {
    const repos = [...f.emulator.store.workspaces.get("acme")!.repos.values()];
    return {
      hooks: repos.flatMap((r) => r.hooks.map((h) => `${r.slug} ${h.url}`)),
      variables: repos.flatMap((r) => r.variables.map((v) => `${r.slug} ${v.key}`)),
    };
  };

  it("lists each repository's hooks and variables once per run: create is a write per object, refresh no GET per object", async () => {
    await start();
    const up = await engine.up(program);
    assert.equal(up.error, undefined, up.error?.message);
    assert.deepEqual(tally(), {
      "GET /2.0/repositories/acme": 1,
      "GET /2.0/repositories/acme/{repo}/hooks": REPOS,
      "POST /2.0/repositories/acme/{repo}/hooks": 2 * REPOS,
      "GET /2.0/repositories/acme/{repo}/pipelines_config/variables": REPOS,
      "POST /2.0/repositories/acme/{repo}/pipelines_config/variables": 2 * REPOS,
    });
    f.emulator.resetLog();
    const refreshed = await engine.refresh(Infinity);
    assert.equal(refreshed.filter((r) => r.gone).length, 0);
    assert.deepEqual(tally(), {
      "GET /2.0/repositories/acme/{repo}/hooks": REPOS,
      "GET /2.0/repositories/acme/{repo}/pipelines_config/variables": REPOS,
    });
    // Drift made by hand between runs is seen by the next refresh (a new run: fresh listings).
    const svc0 = f.emulator.store.workspaces.get("acme")!.repos.get("svc-0")!;
    svc0.hooks.splice(0, 1);
    svc0.variables[0]!.value = "changed by hand";
    const again = await engine.refresh(Infinity);
    assert.equal(again.filter((r) => r.gone).length, 1, "the hook deleted by hand is gone");
    assert.ok(again.some((r) => r.props.value === "changed by hand"));
  });

  for (const retryAfter of [true, false]) {
    it(`finishes up, refresh and destroy under a rolling-window limit ${retryAfter ? "with" : "without"} Retry-After: nothing failed, duplicated or left`, async () => {
      await start();
      f.emulator.limitRate({ requests: 15, windowMs: 1000, retryAfter });
      const up = await engine.up(program);
      assert.equal(up.error, undefined, up.error?.message);
      assert.equal(up.steps.filter((s) => s.op === "create").length, 4 * REPOS);
      const made = everything();
      assert.equal(made.hooks.length, 2 * REPOS);
      assert.equal(new Set(made.hooks).size, made.hooks.length, "no duplicate hook");
      assert.equal(new Set(made.variables).size, 2 * REPOS, "every variable, once");
      assert.ok(f.emulator.refusedByLimit() > 0, "the run crossed the window");
      assert.equal((await engine.refresh(Infinity)).filter((r) => r.gone).length, 0);
      await engine.destroy(Infinity);
      assert.deepEqual(everything(), { hooks: [], variables: [] });
      await f.harness.expectStderr(
        retryAfter
          ? /bitbucket-iac: rate limited by Bitbucket \(429 on \w+ \/repositories\/acme\/svc-\d+\/[\w/]+\): waiting \d+(\.\d)? s as its Retry-After asks, then \d request\(s\) at a time/
          : /bitbucket-iac: rate limited by Bitbucket \(429 on \w+ \/repositories\/acme\/svc-\d+\/[\w/%{}-]+\): waiting \d+ ms \(no Retry-After: backing off\)/,
      );
    });
  }
});
