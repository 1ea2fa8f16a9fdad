// Least privilege, checked against Atlassian's own Cloud spec: the scope a preset asks for each
// object a platform reads or writes is the one that object's endpoint requires (the first oauth2
// `security` requirement of its GET, or of its POST for a write), no more and no other.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import { AMPERSAND_OBJECTS } from "../../provider/presets";
import { CLOUD_SPEC, requireSpec } from "./openapi";

interface Operation {
  security?: Array<Record<string, string[]>>;
}
type Spec = { paths: Record<string, Record<string, Operation>> };

/** The scopes of an operation's first oauth2 security requirement (none: the operation takes no scope). */
const oauth2Scopes = (op: Operation) => op.security?.find((r) => "oauth2" in r)?.oauth2 ?? [];

describe("contract: preset scopes against the Cloud OpenAPI spec", function () {
  let spec: Spec;

  before(function () {
    requireSpec(this, CLOUD_SPEC);
    spec = JSON.parse(fs.readFileSync(CLOUD_SPEC, "utf8")) as Spec;
  });

  it("gives each object Ampersand reads the scope its endpoint's GET requires", () => {
    const read = Object.entries(AMPERSAND_OBJECTS).filter(([, o]) => o.read !== undefined);
    assert.deepEqual(
      read.map(([name]) => name).sort(),
      [
        "addon/linkers",
        "hook_events",
        "hooks",
        "members",
        "pipelines-config/variables",
        "projects",
        "repositories",
        "user/emails",
      ],
      "the objects Ampersand reads, each checked below",
    );
    for (const [name, o] of read) {
      if (name === "addon/linkers") continue; // gone from the spec: the next test
      const get = spec.paths[o.path]?.get;
      assert.ok(get, `${name}: the spec has GET ${o.path}`);
      assert.deepEqual(o.read === null ? [] : [o.read], oauth2Scopes(get), `read ${name} (GET ${o.path})`);
    }
  });

  it("gives each object Ampersand writes the scope its endpoint's POST requires (pipelines-config/variables: pipeline:variable)", () => {
    const written = Object.entries(AMPERSAND_OBJECTS).filter(([, o]) => o.write !== undefined);
    assert.deepEqual(
      written.map(([name]) => name).sort(),
      ["hooks", "pipelines-config/variables", "projects", "snippets"],
      "the objects Ampersand writes, each checked below",
    );
    for (const [name, o] of written) {
      const post = spec.paths[o.path]?.post;
      assert.ok(post, `${name}: the spec has POST ${o.path}`);
      assert.deepEqual([o.write], oauth2Scopes(post), `write ${name} (POST ${o.path})`);
    }
  });

  it("gives addon/linkers no scope: Bitbucket removed its endpoints (May 2026), the spec has none", () => {
    const linkers = AMPERSAND_OBJECTS["addon/linkers"];
    assert.ok(linkers, "the guide lists addon/linkers");
    assert.deepEqual(
      Object.keys(spec.paths).filter((p) => p.startsWith("/addon/linkers")),
      [],
      "the spec has no /addon/linkers endpoint",
    );
    assert.equal(linkers.read, null);
    assert.equal(linkers.write, undefined);
  });
});
