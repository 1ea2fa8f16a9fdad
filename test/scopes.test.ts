import * as assert from "node:assert/strict";
import {
  checkboxOf,
  closure,
  covers,
  extra,
  IMPLIES,
  missing,
  parseScopes,
  RESOURCE_SCOPES,
  SCOPES,
} from "../provider/scopes";

describe("scope calculus", () => {
  // Every implication the Cloud narrative documents: [granted, implied].
  const DOCUMENTED: Array<[string, string]> = [
    ["project", "repository"],
    ["repository:write", "repository"],
    ["pullrequest", "repository"],
    ["pullrequest:write", "pullrequest"],
    ["pullrequest:write", "repository:write"],
    ["pullrequest:write", "repository"],
    ["issue:write", "issue"],
    ["snippet:write", "snippet"],
  ];

  for (const [granted, implied] of DOCUMENTED) {
    it(`${granted} satisfies ${implied}, and ${implied} does not satisfy ${granted}`, () => {
      assert.equal(covers([granted], [implied]), true);
      assert.deepEqual(missing([implied], [granted]), [granted]);
    });
  }

  it("has no implication the documentation does not state", () => {
    const table = Object.entries(IMPLIES)
      .flatMap(([g, is]) => is.map((i) => `${g}>${i}`))
      .sort();
    assert.deepEqual(table, [
      "issue:write>issue",
      "project>repository",
      "pullrequest:write>pullrequest",
      "pullrequest:write>repository:write",
      "pullrequest>repository",
      "repository:write>repository",
      "snippet:write>snippet",
    ]);
  });

  it("gives repository:admin and project:admin nothing else, as Atlassian stresses", () => {
    assert.deepEqual([...closure(["repository:admin"])], ["repository:admin"]);
    assert.deepEqual(missing(["repository:admin"], ["repository", "repository:write"]), [
      "repository",
      "repository:write",
    ]);
    assert.deepEqual(missing(["project:admin"], ["project", "repository"]), ["project", "repository"]);
  });

  it("assumes nothing for write scopes whose implications are undocumented", () => {
    for (const s of ["account:write", "pipeline:write", "pipeline:variable", "runner:write", "webhook"]) {
      assert.deepEqual([...closure([s])], [s], s);
    }
  });

  it("follows implications transitively", () => {
    assert.deepEqual([...closure(["pullrequest:write"])].sort(), [
      "pullrequest",
      "pullrequest:write",
      "repository",
      "repository:write",
    ]);
  });

  it("reports extra scopes beyond the declared ones, implications counted", () => {
    assert.deepEqual(extra(["pullrequest:write", "repository", "wiki"], ["pullrequest:write"]), ["wiki"]);
    assert.deepEqual(extra(["repository"], ["project"]), []);
  });

  it("reads Bitbucket's space-separated scopes string", () => {
    assert.deepEqual(parseScopes("pipeline runner pullrequest team project account issue snippet"), [
      "account", "issue", "pipeline", "project", "pullrequest", "runner", "snippet", "team",
    ]); // prettier-ignore
    assert.deepEqual(parseScopes(" webhook  webhook "), ["webhook"]);
    assert.deepEqual(parseScopes(undefined), []);
  });

  it("names the consumer form's checkbox for a scope", () => {
    assert.equal(checkboxOf("repository:admin"), "Repositories: Admin");
    assert.equal(checkboxOf("pullrequest"), "Pull requests: Read");
    assert.equal(checkboxOf("pipeline:variable"), "Pipelines: Edit variables");
    assert.equal(checkboxOf("webhook"), "Webhooks");
    for (const s of SCOPES) assert.doesNotMatch(checkboxOf(s), /undefined/);
  });

  it("computes the scopes our own resources need", () => {
    assert.deepEqual(
      RESOURCE_SCOPES.Webhook({ events: ["repo:push", "pullrequest:created", "issue:created"] }),
      ["webhook", "repository", "pullrequest", "issue"],
    );
    assert.deepEqual(RESOURCE_SCOPES.DeployKey({}), ["repository", "repository:admin"]);
    assert.deepEqual(RESOURCE_SCOPES.DeployKey({ project: "P" }), ["project", "project:admin"]);
    assert.deepEqual(RESOURCE_SCOPES.PipelineVariable(), ["pipeline", "pipeline:variable"]);
  });
});
