// Issue 19, found by the fault fuzz suite (test/fuzz/faults.test.ts, FUZZ_SEED=7, Cloud
// PipelineSshKeyPair): the PUT that sets a repository's Pipelines key pair committed each time but
// every answer was lost (5xx after the write, retried until the retries ran out). The create failed
// without an id, so state held nothing while the pair was set: an orphan, and the next `pulumi up`
// refused it ("exists and differs: privateKey write-only, cannot be compared; set adopt: true").

import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import type { HostError } from "../harness/engine";
import { ed25519 } from "../keys";

const PAIR = "/2.0/repositories/acme/api/pipelines_config/ssh/key_pair";

describe("issue 19: a Pipelines key pair set by a PUT whose answers were all lost", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  const key = ed25519("pipelines");
  const pair = {
    workspace: "acme",
    repository: "api",
    privateKey: key.privateOpenssh,
    publicKey: key.publicLine,
  };

  it("fails with the pair's id, so the engine records it and the next run updates it instead of refusing it", async () => {
    f.emulator.fault({ method: "PUT", path: PAIR, status: 500, commitThenFail: true, times: 5 });
    const { inputs } = await f.harness.check("PipelineSshKeyPair", pair);
    const err = await f.harness.create("PipelineSshKeyPair", inputs).then(
      () => assert.fail("expected the create to fail"),
      (e: HostError) => e,
    );
    assert.equal(
      f.emulator.store.workspaces.get("acme")!.repos.get("api")!.keyPair?.public_key,
      key.normalized,
    );
    assert.equal(err.id, "acme/api", "the engine is told the id: nothing is orphaned");
    assert.equal(err.properties?.publicKey, key.normalized);
    assert.match(
      err.message,
      /answer was lost.*PUT \/repositories\/acme\/api\/pipelines_config\/ssh\/key_pair failed \(500\)/,
    );
    // The next `pulumi up` updates a resource recorded this way.
    const diff = await f.harness.diff("PipelineSshKeyPair", err.id, err.properties!, inputs);
    assert.deepEqual(diff.replaces, []);
    const { outs } = await f.harness.update("PipelineSshKeyPair", err.id, err.properties!, inputs);
    assert.equal(outs.publicKey, key.normalized);
    assert.ok(!JSON.stringify(err.properties).includes(key.privateOpenssh!.split("\n")[1]!.slice(0, 20)));
  });
});
