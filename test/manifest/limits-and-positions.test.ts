// The manifest loader's limits at their exact boundary, entries that are null, and collisions
// between the objects two integrations' presets create: each problem at its place, in words.

import * as assert from "node:assert/strict";
import { expand } from "../../provider/manifest/expand";
import {
  formatProblem,
  isManifestError,
  MAX_ANCHORS,
  MAX_DEPTH,
  parseManifest,
} from "../../provider/manifest/load";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci@example";

/** The problems a manifest produces, formatted as the user sees them ([] when it expands). */
function problemsOf(text: string): string[] {
  try {
    expand(parseManifest(text, "m.yaml"), () => [{ slug: "api" }]);
    return [];
  } catch (e) {
    if (!isManifestError(e)) throw e;
    return e.problems.map(formatProblem);
  }
}

/** A manifest whose `webhooks` value is lists nested so that the document has `levels` levels. */
const nested = (levels: number) =>
  `version: 1\nworkspace: acme\nwebhooks: ${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}\n`;

describe("manifest: limits at their boundary, null entries, collisions between presets", () => {
  it("accepts nesting exactly MAX_DEPTH levels deep and refuses one level more", () => {
    assert.equal(MAX_DEPTH, 64);
    assert.ok(
      problemsOf(nested(MAX_DEPTH)).every((p) => !p.includes("levels deep")),
      problemsOf(nested(MAX_DEPTH)).join("\n"),
    );
    assert.deepEqual(problemsOf(nested(MAX_DEPTH + 1)), [
      "m.yaml:3:74 (top level): YAML: nested more than 64 levels deep; a manifest needs a few",
    ]);
  });

  it("refuses more than MAX_ANCHORS anchors, at the first one past the limit", () => {
    const entries = (n: number) =>
      Array.from({ length: n }, (_, i) => `  - &a${i} {url: https://ci.example.com/${i}}\n`).join("");
    const text = (n: number) => `version: 1\nworkspace: acme\nwebhooks:\n${entries(n)}`;
    assert.ok(
      problemsOf(text(MAX_ANCHORS)).every((p) => !p.includes("anchors")),
      "exactly MAX_ANCHORS anchors are allowed",
    );
    const over = problemsOf(text(MAX_ANCHORS + 1)).filter((p) => p.includes("anchors"));
    assert.deepEqual(over, [
      `m.yaml:${4 + MAX_ANCHORS}:12 (top level): YAML: more than 1000 anchors and aliases; write the entries out instead`,
    ]);
  });

  it("reports a null entry in any list as not a mapping, never with a stack trace", () => {
    assert.deepEqual(
      problemsOf("version: 1\nworkspace: acme\noauthConsumers: [~]\nintegrations: [~]\ndeployKeys: [~]\n"),
      [
        "m.yaml:3:18 oauthConsumers[0]: must be a mapping (key: value lines), not null",
        "m.yaml:4:16 integrations[0]: must be a mapping (key: value lines), not null",
        "m.yaml:5:14 deployKeys[0]: must be a mapping (key: value lines), not null",
      ],
    );
  });

  it("reports a null deploy key entry on Data Center as not a mapping, never with a stack trace", () => {
    assert.deepEqual(problemsOf("version: 1\nflavor: datacenter\nproject: PROJ\ndeployKeys: [~]\n"), [
      "m.yaml:4:14 deployKeys[0]: must be a mapping (key: value lines), not null",
    ]);
  });

  it("reports two integrations that create the same deploy key or webhook as a collision, naming the kind", () => {
    const generic = (id: string) =>
      `  - id: ${id}\n    preset: generic\n    repositories: [api]\n    options:\n      deployKeys: [{ key: "${KEY}" }]\n      webhooks: [{ url: https://ci.example.com/hook, events: [repo:push] }]\n`;
    assert.deepEqual(
      problemsOf(`version: 1\nworkspace: acme\nintegrations:\n${generic("g1")}${generic("g2")}`),
      [
        "m.yaml:14:20 integrations[1].options.deployKeys[0]: generic integration g2's deploy key on acme/api is already declared at integrations[0].options.deployKeys[0] (m.yaml:8:20): both would manage one Bitbucket object; keep one",
        "m.yaml:15:18 integrations[1].options.webhooks[0]: generic integration g2's webhook on acme/api is already declared at integrations[0].options.webhooks[0] (m.yaml:9:18): both would manage one Bitbucket object; keep one",
      ],
    );
  });

  it("does not call two integrations' unparseable deploy keys a collision", () => {
    const generic = (id: string) =>
      `  - id: ${id}\n    preset: generic\n    repositories: [api]\n    options:\n      deployKeys: [{ key: not-a-key }]\n`;
    assert.deepEqual(
      problemsOf(`version: 1\nworkspace: acme\nintegrations:\n${generic("g1")}${generic("g2")}`),
      [],
    );
  });

  it("reports two key pairs on one repository as a collision", () => {
    const pair = (env: string) =>
      `  - repositories: [api]\n    privateKey: {fromEnv: ${env}}\n    publicKey: "${KEY}"\n`;
    assert.deepEqual(
      problemsOf(`version: 1\nworkspace: acme\npipelineSshKeyPairs:\n${pair("A")}${pair("B")}`),
      [
        "m.yaml:7:5 pipelineSshKeyPairs[1]: the key pair of acme/api is already declared at pipelineSshKeyPairs[0] (m.yaml:4:5): both would manage one Bitbucket object; keep one",
      ],
    );
  });

  it("names the reference of two webhooks whose URL comes from the same environment variable", () => {
    const hook = (name: string) =>
      `  - repositories: [api]\n    name: ${name}\n    url: {fromEnv: HOOK}\n    events: [repo:push]\n`;
    assert.deepEqual(problemsOf(`version: 1\nworkspace: acme\nwebhooks:\n${hook("a")}${hook("b")}`), [
      "m.yaml:8:5 webhooks[1]: webhook (url from environment variable HOOK) on acme/api is already declared at webhooks[0] (m.yaml:4:5): both would manage one Bitbucket object; keep one",
    ]);
  });

  it("reports the scopes a consumer has beyond what its integrations need, saying what to untick", () => {
    assert.deepEqual(
      problemsOf(
        "version: 1\nworkspace: acme\noauthConsumers:\n  - id: c\n    name: C\n    key: {fromEnv: K}\n    secret: {fromEnv: S}\n    scopes: [repository, pullrequest, webhook]\nintegrations:\n  - id: g\n    preset: generic\n    consumer: c\n    repositories: [api]\n    options: { scopes: [repository] }\n",
      ),
      [
        'm.yaml:8:13 oauthConsumers[0].scopes: pullrequest, webhook: more than Generic (integration g) needs; untick "Pull requests: Read", "Webhooks" in Bitbucket and remove them here (the platform gets every permission the consumer has)',
      ],
    );
  });

  it("tells a preset that needs an OAuth consumer to declare one", () => {
    assert.deepEqual(
      problemsOf(
        "version: 1\nworkspace: acme\nintegrations:\n  - id: a\n    preset: ampersand\n    repositories: [api]\n",
      ),
      [
        "m.yaml:4:5 integrations[0]: Ampersand: read: list the objects Ampersand reads (and write: those it writes), e.g. read: [repositories, hooks]",
        "m.yaml:4:5 integrations[0]: Ampersand needs an OAuth consumer: declare one under oauthConsumers and name its id in consumer",
        "m.yaml:6:19 integrations[0].repositories: Ampersand works on the consumer alone; remove repositories",
      ],
    );
  });

  it("says an empty text that must not be empty is empty", () => {
    assert.deepEqual(
      problemsOf(
        'version: 1\nworkspace: acme\noauthConsumers:\n  - id: c\n    name: ""\n    key: {fromEnv: K}\n    secret: {fromEnv: S}\n    scopes: [repository]\n',
      ),
      ["m.yaml:5:11 oauthConsumers[0].name: must not be empty"],
    );
  });

  it("tells an empty secret reference to give one of its sources", () => {
    assert.deepEqual(
      problemsOf(
        "version: 1\nworkspace: acme\npipelineVariables:\n  - repositories: [api]\n    key: TOKEN\n    value: {}\n",
      ),
      ["m.yaml:6:12 pipelineVariables[0].value: give exactly one of fromConfig, fromEnv"],
    );
  });

  it("tells apart variables of two integrations by name: different names are no collision, one name is", () => {
    const generic = (id: string, key: string) =>
      `  - id: ${id}\n    preset: generic\n    repositories: [api]\n    options:\n      variables: [{ key: ${key}, value: x, secured: false }]\n`;
    const text = (...entries: string[]) => `version: 1\nworkspace: acme\nintegrations:\n${entries.join("")}`;
    assert.deepEqual(problemsOf(text(generic("g1", "REGION"), generic("g2", "ZONE"))), []);
    assert.deepEqual(problemsOf(text(generic("g1", "REGION"), generic("g2", "REGION"))), [
      "m.yaml:13:19 integrations[1].options.variables[0]: generic integration g2's variable on acme/api is already declared at integrations[0].options.variables[0] (m.yaml:8:19): both would manage one Bitbucket object; keep one",
    ]);
  });
});
