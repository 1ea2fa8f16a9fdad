// The manifest's schema (schema/manifest.schema.json, what editors and ajv read) and the kinds'
// descriptors (provider/kinds/) say the same about every kind: its key, the fields an entry may
// have, and which flavors have it. The schema stays one hand-written file (DECISIONS.md says
// why); this test is what keeps the two in step. Each kind's resource type is one the runtime serves.

import * as assert from "node:assert/strict";
import schema from "../../schema/manifest.schema.json";
import { DECLARATION_ORDER, KINDS } from "../../provider/kinds";
import type { KindDescriptor, Entry } from "../../provider/kinds/kind";
import { provider } from "../../provider/runtime";

interface Node {
  description?: string;
  $ref?: string;
  type?: string | string[];
  items?: Node;
  properties?: Record<string, Node>;
  $defs?: Record<string, Node>;
}

type Kind = Pick<KindDescriptor<Entry>, "key" | "schema" | "fields" | "flavors">;

/** Every way the schema and the kinds disagree, one line each, naming the kind and what to fix. */
function disagreements(s: Node, kinds: readonly Kind[]): string[] {
  const out: string[] = [];
  const lists = Object.entries(s.properties ?? {}).filter(([, p]) => p.type === "array" && p.items?.$ref);
  for (const [key] of lists)
    if (!kinds.some((k) => k.key === key))
      out.push(`${key}: a list of entries in the schema, and no kind in provider/kinds/index.ts`);
  for (const k of kinds) {
    const list = s.properties?.[k.key];
    if (list?.items?.$ref !== `#/$defs/${k.schema}`) {
      out.push(`${k.key}: the schema has no list of #/$defs/${k.schema} under ${k.key}`);
      continue;
    }
    const props = Object.keys(s.$defs?.[k.schema]?.properties ?? {});
    const missing = props.filter((f) => !k.fields.includes(f));
    const extra = k.fields.filter((f) => !props.includes(f));
    if (missing.length)
      out.push(`${k.key}: the schema allows ${missing.join(", ")}; add to the kind's fields`);
    if (extra.length)
      out.push(`${k.key}: the kind's fields ${extra.join(", ")} are not in $defs/${k.schema}`);
    const said = list.description ?? "";
    if (k.flavors.datacenter !== true && !said.includes("Bitbucket Cloud only"))
      out.push(
        `${k.key}: Data Center has none ("${k.flavors.datacenter}"); the schema must say "Bitbucket Cloud only"`,
      );
    if (k.flavors.cloud !== true && !said.startsWith("Data Center"))
      out.push(`${k.key}: Cloud has none ("${k.flavors.cloud}"); the schema must start "Data Center"`);
  }
  return out;
}

describe("architecture: the kinds and the manifest's schema", () => {
  it("agree on every kind's key, fields and flavors", () => {
    assert.deepEqual(disagreements(schema as Node, KINDS), []);
  });

  it("say which kind disagrees and how, when they do", () => {
    const doctored = structuredClone(schema) as Node;
    delete doctored.$defs!.webhook!.properties!.allowHttp;
    doctored.properties!.widgets = { type: "array", items: { $ref: "#/$defs/widget" } };
    doctored.properties!.knownHosts!.description = "Hosts Pipelines builds trust over SSH.";
    const accessTokens = KINDS.find((k) => k.key === "accessTokens")!;
    const kinds = [
      ...KINDS.filter((k) => k !== accessTokens),
      { ...accessTokens, fields: [...accessTokens.fields, "expiresAt"] },
    ];
    assert.deepEqual(disagreements(doctored, kinds), [
      "widgets: a list of entries in the schema, and no kind in provider/kinds/index.ts",
      "webhooks: the kind's fields allowHttp are not in $defs/webhook",
      `knownHosts: Data Center has none ("Data Center has no Pipelines"); the schema must say "Bitbucket Cloud only"`,
      "accessTokens: the kind's fields expiresAt are not in $defs/accessToken",
    ]);
  });

  it("declare resources the runtime serves (a component's children are served)", () => {
    const unserved = KINDS.filter((k) => !k.component && typeof provider(k.type).create !== "function");
    assert.deepEqual(unserved, []);
    assert.throws(() => provider("Integration"), /no provider for Integration/);
    assert.deepEqual(
      KINDS.filter((k) => k.component).map((k) => k.type),
      ["Integration"],
    );
  });

  it("declare OAuth consumers, then integrations, then the rest in the order plan has always listed them", () => {
    assert.deepEqual(
      DECLARATION_ORDER.map((k) => k.key),
      [
        "oauthConsumers",
        "integrations",
        "webhooks",
        "deployKeys",
        "accessTokens",
        "sshKeys",
        "pipelineVariables",
        "pipelineSshKeyPairs",
        "knownHosts",
      ],
      "consumers before the integrations that name them; an integration's objects claimed before entries; plan lists resources in this order",
    );
  });
});
