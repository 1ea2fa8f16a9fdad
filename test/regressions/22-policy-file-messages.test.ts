// Issue 22 review: two messages that sent a user the wrong way. A policy file that cannot be read
// was "cannot read the manifest" (validate, plan and audit --policy, and the provider's check for
// bitbucket:policy); audit's missing --manifest said "give its path: bitbucket-iac audit
// path/to/bitbucket.yaml", a command audit refuses (it takes no file argument).

import * as assert from "node:assert/strict";
import { run, workdir } from "../cli/run";

describe("issue 22: a file the policy commands cannot read is named for what it is", () => {
  const dir = workdir({ "bitbucket.yaml": "version: 1\nworkspace: acme\n" });

  it("says validate --policy cannot read the policy file", async () => {
    const r = await run(["validate", "bitbucket.yaml", "--policy", "org-policy.yaml"], dir);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "org-policy.yaml:1:1 (file): cannot read the policy file: no such file (give the policy file's path)\n1 problem",
    );
  });

  it("tells audit's user to give the manifest with --manifest", async () => {
    const r = await run(["audit", "--workspace", "acme", "--manifest", "missing.yaml"], dir);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "missing.yaml:1:1 (file): cannot read the manifest: no such file (give its path: bitbucket-iac audit --manifest path/to/bitbucket.yaml)\n1 problem",
    );
  });
});
