// Issue 19, found by the fault fuzz suite (test/fuzz/faults.test.ts, seed 19, Data Center
// AccessToken): the answer to a token's create (a PUT) is lost, the provider finds the token,
// revokes it (its value was never seen) and makes another; when that answer is lost too, the
// second token stayed, unknown to state: an orphan whose value nobody has, and the next run refused
// to take it over ("exists and differs: token set in Bitbucket, write-only").

import * as assert from "node:assert/strict";
import { dcFixture, type Fixture } from "../harness/fixture";

const TOKENS = "/rest/access-tokens/latest/projects/PROJ/repos/api";
const token = { project: "PROJ", repository: "api", name: "release", permissions: ["REPO_READ"] };

describe("issue 19: a Data Center token whose create answer is lost twice", () => {
  let f: Fixture;
  beforeEach(async () => (f = await dcFixture()));
  afterEach(async () => f.close());

  const tokens = () => f.emulator.store.dc.projects.get("PROJ")!.repos.get("api")!.tokens;

  it("revokes the token the lost second PUT made, fails saying so, and the next run makes exactly one", async () => {
    f.emulator.fault({ method: "PUT", path: TOKENS, status: 500, commitThenFail: true, times: 2 });
    const err = await f.harness.up("AccessToken", token).then(
      () => assert.fail("expected the create to fail"),
      (e: Error & { id?: string }) => e,
    );
    assert.deepEqual(tokens(), [], "no token left behind");
    assert.equal(err.id, undefined, "nothing to record: nothing is left");
    assert.match(
      err.message,
      /^create access token "release" of PROJ\/api \(replacing existing token \d+; the token that PUT made was revoked: run again\): PUT \/rest\/access-tokens\/latest\/projects\/PROJ\/repos\/api failed \(500\): Something went wrong$/,
    );
    const { id, outs } = await f.harness.up("AccessToken", token);
    assert.equal(tokens().length, 1);
    assert.equal(id, `PROJ/api/${tokens()[0]!.id}`);
    assert.ok(f.emulator.store.tokens.has(String(outs.token)), "state holds the token that works");
  });
});
