import * as assert from "node:assert/strict";
import { expand, type RepoInfo } from "../../provider/manifest/expand";
import { parseManifest } from "../../provider/manifest/load";

const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: { project: SVC }
    url: https://ci.example.com/hook
    events: [repo:push]
pipelineVariables:
  - repositories: "acme/svc-*"
    key: REGION
    value: eu
    secured: false
  - workspace: other
    key: ORG
    value: x
    secured: false
`;

const names = (repos: RepoInfo[]) =>
  expand(parseManifest(MANIFEST, "m.yaml"), () => repos).map((s) => s.name);

describe("manifest: expansion", () => {
  it("names every resource after its natural key", () => {
    assert.deepEqual(names([{ slug: "svc-a", project: "SVC" }, { slug: "api" }]), [
      "webhook/acme/svc-a/ci.example.com/hook",
      "variable/acme/svc-a/REGION",
      "variable/other/*/ORG",
    ]);
  });

  it("never renames existing resources when a repository is added", () => {
    const before = names([
      { slug: "svc-b", project: "SVC" },
      { slug: "svc-d", project: "SVC" },
    ]);
    const after = names([
      { slug: "svc-a", project: "SVC" },
      { slug: "svc-b", project: "SVC" },
      { slug: "svc-c", project: "SVC" },
      { slug: "svc-d", project: "SVC" },
    ]);
    for (const n of before) assert.ok(after.includes(n), n);
    assert.equal(after.length, before.length + 4);
  });

  it("matches a glob against workspace/slug, and a project key case-insensitively", () => {
    const specs = expand(parseManifest(MANIFEST, "m.yaml"), () => [
      { slug: "svc-a", project: "svc" },
      { slug: "svc-b" },
      { slug: "lib-svc-c" },
    ]);
    assert.deepEqual(
      specs.map((s) => `${s.type} ${s.repository ?? "-"}`),
      ["Webhook svc-a", "PipelineVariable svc-a", "PipelineVariable svc-b", "PipelineVariable -"],
    );
  });

  it("leaves selectors alone offline, and still checks explicit lists", () => {
    assert.deepEqual(
      expand(parseManifest(MANIFEST, "m.yaml"), () => undefined).map((s) => s.name),
      ["variable/other/*/ORG"],
    );
  });
});
