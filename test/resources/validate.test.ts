// The input checks every resource shares (provider/resources/validate.ts), called directly: each
// failure names the property and says what to write. Written for the survivors of a sampled
// mutation run of the resources/shared module (issue 26).
import * as assert from "node:assert/strict";
import type { CheckFailure } from "../../provider/resources/common";
import {
  checkFlavor,
  checkOwner,
  checkProjectKey,
  checkSlug,
  checkText,
} from "../../provider/resources/validate";

const failuresOf = (check: (failures: CheckFailure[]) => unknown) => {
  const failures: CheckFailure[] = [];
  const value = check(failures);
  return { value, failures };
};

describe("the shared input checks (provider/resources/validate.ts)", () => {
  it("tells a Data Center resource given a workspace to give a project instead", () => {
    const { value, failures } = failuresOf((f) =>
      checkFlavor({ flavor: "datacenter", workspace: "acme", name: "" }, f, {
        cloudOnly: ["workspace", "name"],
      }),
    );
    assert.equal(value, "datacenter");
    assert.deepEqual(failures, [
      {
        property: "workspace",
        reason:
          "workspace is for Bitbucket Cloud; this resource is on Bitbucket Data Center (flavor: datacenter): Data Center has projects, give project: <KEY>",
      },
    ]);
  });

  it("requires a slug that is missing, blank or null, and refuses one that is not text", () => {
    for (const missing of [{}, { workspace: "   " }, { workspace: null }]) {
      const { value, failures } = failuresOf((f) =>
        checkSlug(missing, "workspace", f, { required: "the workspace slug" }),
      );
      assert.equal(value, undefined);
      assert.deepEqual(
        failures,
        [{ property: "workspace", reason: "workspace is required: the workspace slug" }],
        JSON.stringify(missing),
      );
    }
    assert.deepEqual(
      failuresOf((f) => checkSlug({ repository: "  " }, "repository", f)).failures,
      [],
      "optional: blank is absent",
    );
    assert.deepEqual(failuresOf((f) => checkSlug({ workspace: 42 }, "workspace", f)).failures, [
      { property: "workspace", reason: "workspace must be text" },
    ]);
    assert.deepEqual(
      failuresOf((f) => checkSlug({ workspace: " acme " }, "workspace", f)),
      { value: "acme", failures: [] },
    );
  });

  it("requires a project key when asked to, saying what one looks like", () => {
    assert.deepEqual(failuresOf((f) => checkProjectKey({}, f, { required: true })).failures, [
      { property: "project", reason: "project is required: the project key, e.g. PROJ" },
    ]);
    assert.deepEqual(failuresOf((f) => checkProjectKey({}, f)).failures, []);
    assert.deepEqual(
      failuresOf((f) => checkProjectKey({ project: "~alice" }, f)),
      { value: "~alice", failures: [] },
    );
  });

  it("takes a deploy key's owner as a repository or a project of a workspace, never both, never neither", () => {
    assert.deepEqual(
      failuresOf((f) => checkOwner({ workspace: "acme", repository: "api" }, f)),
      {
        value: { workspace: "acme", repository: "api" },
        failures: [],
      },
    );
    assert.deepEqual(
      failuresOf((f) => checkOwner({ workspace: "acme", project: "PROJ" }, f)),
      {
        value: { workspace: "acme", project: "PROJ" },
        failures: [],
      },
    );
    assert.deepEqual(
      failuresOf((f) => checkOwner({ workspace: "acme", repository: "api", project: "PROJ" }, f)).failures,
      [
        {
          property: "project",
          reason: "give repository (a repository deploy key) or project (a project deploy key), not both",
        },
      ],
    );
    assert.deepEqual(failuresOf((f) => checkOwner({ repository: "api" }, f)).failures, [
      { property: "workspace", reason: "workspace is required: the workspace slug, e.g. acme" },
    ]);
  });

  it("reads an optional text as empty when absent, and refuses one that is not text", () => {
    assert.deepEqual(
      failuresOf((f) => checkText({}, "label", f)),
      { value: "", failures: [] },
    );
    assert.deepEqual(
      failuresOf((f) => checkText({ label: null }, "label", f)),
      { value: "", failures: [] },
    );
    assert.deepEqual(
      failuresOf((f) => checkText({ label: 7 }, "label", f)),
      {
        value: "",
        failures: [{ property: "label", reason: "label must be text" }],
      },
    );
  });
});
