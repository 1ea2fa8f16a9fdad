// Issue 23.3, found by the plan-and-up property (test/fuzz/plan-up.test.ts, seed 19, path "156")
// on a loaded machine: a second up replacing two secured variables (un-securing replaces) listed
// the repository's variables twice where the bill said once. Pulumi deletes both old variables at
// once, then creates each new one when its delete is done: the first create's lookup listed the
// collection, and the other DELETE was answered while that listing was still under way. The cache
// dropped the listing then (it could not tell whether the listing saw the delete), so the second
// create listed again. How many listings up made depended on when the answers came.
//
// Here the emulator makes that timing certain: one DELETE answers late, the listing later still.
// The listing, one answer, saw the delete wholly before or wholly after it, so the cache applies the
// write when the listing arrives (removes the variable, if listed) and keeps it: one listing,
// whatever the timing, as the bill says.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import type { Bill } from "../../provider/cli/bill";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { assertBilled } from "../cli/billed";
import { run, useEmulator, workdir } from "../cli/run";
import { Engine } from "../harness/deploy";
import { DEFAULT_SEED, fixture, TOKEN, type Fixture } from "../harness/fixture";

const VARIABLES = "/2.0/repositories/acme/api/pipelines_config/variables";
const LONG_MS = 10_000;

/** Both variables secured (their values from the stack's config), or both not. */
const manifest = (secured: boolean) => `version: 1
workspace: acme
pipelineVariables:
  - { repositories: [api], key: REGION, value: ${secured ? "{ fromConfig: region }" : "eu-west-1"}, secured: ${secured} }
  - { repositories: [api], key: TOKEN, value: ${secured ? "{ fromConfig: token }" : "t0ken"}, secured: ${secured} }
`;

describe("issue 23.3: a write answered while its collection is being listed does not make up list it again", function () {
  this.timeout(60_000 + LONG_MS);
  let f: Fixture;
  let restore: () => void;

  before(async () => {
    // The host waits for the slow answers below instead of timing out and asking again.
    f = await fixture(DEFAULT_SEED, { env: { BITBUCKET_TIMEOUT_MS: String(LONG_MS) } });
    restore = useEmulator(f.emulator);
    pulumi.runtime.setAllConfig(
      {
        "bitbucket:apiUrl": f.emulator.apiUrl,
        "bitbucket:token": TOKEN,
        "bitbucket-iac:region": "eu-west-1",
        "bitbucket-iac:token": "t0ken",
      },
      ["bitbucket-iac:region", "bitbucket-iac:token"],
    );
  });
  after(async () => {
    restore?.();
    pulumi.runtime.setAllConfig({}, []);
    setProviderConfig(() => undefined);
    await f?.close();
  });

  it("lists the variables once when replacing two secured ones, the second delete answered mid-listing, as the bill says", async () => {
    const dir = workdir({});
    const engine = new Engine(f.harness);
    const up = (text: string) =>
      engine.up(async () =>
        Object.values((await deployManifest(parseManifest(text, "bitbucket.yaml"))).resources),
      );
    const made = await up(manifest(true));
    assert.equal(made.error, undefined, `the first up failed: ${made.error?.message}`);
    const tokenUuid = f.emulator.store.workspaces
      .get("acme")!
      .repos.get("api")!
      .variables.find((v) => v.key === "TOKEN")!.uuid;

    fs.writeFileSync(path.join(dir, "bitbucket.yaml"), manifest(false));
    fs.writeFileSync(path.join(dir, "state.json"), engine.checkpoint());
    const p = await run(["plan", "--stats", "--state", "state.json", "--format", "json"], dir);
    assert.equal(p.code, 2, `plan: ${p.err}\n${p.out}`);
    const plan = JSON.parse(p.out) as { bill: Bill; resources: Array<{ action: string; name: string }> };
    assert.deepEqual(plan.resources.map((r) => `${r.action} ${r.name}`).sort(), [
      "replace variable/acme/api/REGION",
      "replace variable/acme/api/TOKEN",
    ]);
    assert.deepEqual(plan.bill.byMethod, { DELETE: 2, GET: 1, POST: 2 });

    // TOKEN's DELETE answers 1.2 s late, REGION's create lists meanwhile, and the listing takes
    // 3 s: that DELETE is answered while the listing is under way, even on a slow machine.
    const braceless = tokenUuid.replace(/^\{|\}$/g, "");
    const deleteMs = 1_200;
    const listMs = 3_000;
    f.emulator.fault({
      method: "DELETE",
      path: new RegExp(`/variables/%7B${braceless}%7D$`),
      delayMs: deleteMs,
    });
    f.emulator.fault({ method: "GET", path: new RegExp(`${VARIABLES}\\?`), delayMs: listMs });
    f.emulator.resetLog();
    const replaced = await up(manifest(false));
    assert.equal(replaced.error, undefined, `the second up failed: ${replaced.error?.message}`);
    const log = f.emulator.log();
    const entries = f.emulator.entries();
    const deleted = entries.find((e) => e.method === "DELETE" && e.path.includes(braceless));
    const listed = entries.find((e) => e.method === "GET" && e.path === VARIABLES);
    assert.ok(deleted && listed, `a DELETE of TOKEN and a listing:\n  ${log.join("\n  ")}`);
    const deleteAnswered = deleted.at + deleteMs;
    assert.ok(
      listed.at < deleteAnswered && deleteAnswered < listed.at + listMs,
      `the timing this test is about: the listing sent at +${listed.at - deleted.at} ms, the DELETE answered at +${deleteMs} ms, the listing at +${listed.at - deleted.at + listMs} ms`,
    );
    assertBilled(plan.bill, log, "/2.0", "the second up, a DELETE answered mid-listing");
    const vars = f.emulator.store.workspaces.get("acme")!.repos.get("api")!.variables;
    assert.deepEqual(vars.map((v) => `${v.key}=${v.value} secured: ${v.secured}`).sort(), [
      "REGION=eu-west-1 secured: false",
      "TOKEN=t0ken secured: false",
    ]);
  });
});
