import * as assert from "node:assert/strict";
import schema from "../../schema/manifest.schema.json";

type Node = {
  description?: string;
  $ref?: string;
  properties?: Record<string, Node>;
  items?: Node;
  $defs?: Record<string, Node>;
};

/** Every property, anywhere in the schema, with its JSON pointer. */
function properties(node: Node, at: string, out: Array<[string, Node]> = []): Array<[string, Node]> {
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    out.push([`${at}/properties/${k}`, v]);
    properties(v, `${at}/properties/${k}`, out);
    if (v.items) properties(v.items, `${at}/properties/${k}/items`, out);
  }
  for (const [k, v] of Object.entries(node.$defs ?? {})) properties(v, `${at}/$defs/${k}`, out);
  return out;
}

describe("manifest schema", () => {
  it("describes every property, so editors can show help", () => {
    const defs = (schema as Node).$defs ?? {};
    const undocumented = properties(schema as Node, "#")
      .filter(([, p]) => !p.description && !(p.$ref && defs[p.$ref.split("/").pop() ?? ""]?.description))
      .map(([at]) => at);
    assert.deepEqual(undocumented, []);
  });

  it("has one definition per kind of entry", () => {
    const defs = Object.keys((schema as Node).$defs ?? {});
    for (const kind of [
      "webhook",
      "deployKey",
      "sshKey",
      "pipelineVariable",
      "pipelineSshKeyPair",
      "knownHost",
      "oauthConsumer",
      "integration",
    ]) {
      assert.ok(defs.includes(kind), kind);
    }
  });
});
