// `bitbucket-iac validate` reports every problem of a manifest in one run, in file order: the
// schema's, the flavor's and the references' (load.ts), the malformed keys, presets' options and
// collisions (expand.ts) on the entries the schema does not refuse, and the policy's errors on the
// entries without a problem. A problem that follows only from another one is not said.

import * as assert from "node:assert/strict";
import { MAX_SHOWN_PROBLEMS } from "../../provider/manifest/load";
import { ed25519 } from "../keys";
import { run, workdir } from "../cli/run";

/** `validate name` on the manifest `text`: its exit code and the lines it printed on stderr. */
async function validate(name: string, text: string): Promise<{ code: number; lines: string[] }> {
  const r = await run(["validate", name], workdir({ [name]: text }));
  return { code: r.code, lines: r.err.split("\n") };
}

const KEY = ed25519().publicLine;
const OTHER_KEY = ed25519().publicLine;

describe("validate: every problem at once", () => {
  it("reports a bad event, a wrong type, a malformed key, an unknown consumer and a misspelt preset option in one run", async () => {
    const r = await validate(
      "mixed.yaml",
      `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://ci.example.test/hook
    events: [repo:psuh]
  - repositories: [web]
    url: https://hooks.example.test/build
    events: [repo:push]
    active: "yes"
deployKeys:
  - repositories: [api]
    key: ssh-ed25519 AAAAnot-a-key
    label: ci
oauthConsumers:
  - id: platformsh
    name: Platform.sh
    callbackUrl: http://localhost
    scopes: [account, email, repository:write, pullrequest, webhook]
    key: { fromConfig: platformshKey }
    secret: { fromConfig: platformshSecret }
integrations:
  - id: psh
    preset: platformsh
    consumer: platfromsh
    repositories: [api]
    options:
      project: abcdefgh1234
      fetchBranchs: false
`,
    );
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      'mixed.yaml:6:14 webhooks[0].events[0]: "repo:psuh" is not allowed here; did you mean "repo:push", "repo:fork", "repo:updated"?',
      'mixed.yaml:10:13 webhooks[1].active: must be true or false, not "yes"',
      "mixed.yaml:13:10 deployKeys[0].key: key has a ssh-ed25519 key whose base64 part is malformed (truncated or wrapped?)",
      'mixed.yaml:25:15 integrations[0].consumer: no OAuth consumer with id "platfromsh"; did you mean "platformsh"? (declare it under oauthConsumers; ids: platformsh)',
      'mixed.yaml:29:21 integrations[0].options.fetchBranchs: Platform.sh: fetchBranchs: not an option of this preset; did you mean "fetchBranches"? (options: project, fetchBranches, pruneBranches, buildPullRequests, buildPullRequestsPostMerge)',
      "5 problems",
    ]);
  });

  it("checks the keys and collisions of entries without a workspace, beside saying each has none", async () => {
    const r = await validate(
      "no-workspace.yaml",
      `version: 1
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/a
    events: [repo:push]
  - repositories: [api, web]
    url: https://hooks.example.test/a
    events: [repo:push]
deployKeys:
  - repositories: [api]
    key: ${KEY}
  - repositories: [web]
    key: ssh-rsa AAAA
  - repositories: [api]
    key: ${KEY}
  - repositories: [api]
    key: ${OTHER_KEY}
    permision: read
sshKeys:
  - key: not a key
`,
    );
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      "no-workspace.yaml:3:5 webhooks[0]: no workspace: set `workspace:` at the top of the manifest or on this entry",
      "no-workspace.yaml:6:5 webhooks[1]: no workspace: set `workspace:` at the top of the manifest or on this entry",
      "no-workspace.yaml:6:5 webhooks[1]: webhook https://hooks.example.test/a on (no workspace)/api is already declared at webhooks[0] (no-workspace.yaml:3:5): both would manage one Bitbucket object; keep one",
      "no-workspace.yaml:10:5 deployKeys[0]: no workspace: set `workspace:` at the top of the manifest or on this entry",
      "no-workspace.yaml:12:5 deployKeys[1]: no workspace: set `workspace:` at the top of the manifest or on this entry",
      "no-workspace.yaml:13:10 deployKeys[1].key: key says ssh-rsa but its base64 part is not a ssh-rsa key (damaged, or the wrong prefix)",
      "no-workspace.yaml:14:5 deployKeys[2]: no workspace: set `workspace:` at the top of the manifest or on this entry",
      "no-workspace.yaml:14:5 deployKeys[2]: this key on (no workspace)/api is already declared at deployKeys[0] (no-workspace.yaml:10:5): both would manage one Bitbucket object; keep one",
      "no-workspace.yaml:16:5 deployKeys[3]: no workspace: set `workspace:` at the top of the manifest or on this entry",
      // A Cloud deploy key has no permission (Data Center's): the list leaves it out, and no "did you mean".
      'no-workspace.yaml:18:5 deployKeys[3].permision: unknown key "permision" (keys here: workspace, repositories, project, key, label, adopt, retainOnDelete)',
      'no-workspace.yaml:20:10 sshKeys[0].key: key must start with a key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...), not "not"',
      "11 problems",
    ]);
  });

  it("reports a Data Center manifest's flavor, placement, key, collision and unknown-key problems together", async () => {
    const r = await validate(
      "dc.yaml",
      `version: 1
flavor: datacenter
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/a
    events: [repo:refs_changed]
    workspace: acme
deployKeys:
  - project: PROJ
    key: ssh-ed25519 AAAA
  - projects: [PROJ]
    key: ${KEY}
  - project: PROJ
    key: ${KEY}
  - project: PROJ
    key: ${OTHER_KEY}
    permision: PROJECT_READ
pipelineVariables:
  - key: X
    value: y
    secured: false
`,
    );
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      "dc.yaml:4:5 webhooks[0]: no project: set `project:` at the top of the manifest or on this entry (Data Center keeps hooks and keys in projects)",
      "dc.yaml:7:5 webhooks[0].workspace: workspace is Bitbucket Cloud's; give `project: KEY` (this manifest is flavor: datacenter)",
      "dc.yaml:10:10 deployKeys[0].key: key says ssh-ed25519 but its base64 part is not a ssh-ed25519 key (damaged, or the wrong prefix)",
      "dc.yaml:13:5 deployKeys[2]: this key on project PROJ is already declared at deployKeys[1] (dc.yaml:11:5): both would manage one Bitbucket object; keep one",
      // Data Center's deploy keys have a permission and no workspace.
      'dc.yaml:17:5 deployKeys[3].permision: unknown key "permision"; did you mean "permission"? (keys here: repositories, project, projects, key, label, permission, adopt, retainOnDelete)',
      "dc.yaml:18:1 pipelineVariables: pipelineVariables are Bitbucket Cloud only: Data Center has no Pipelines; remove them, or keep them in a Cloud manifest (this manifest is flavor: datacenter)",
      "6 problems",
    ]);
  });

  it("reports the policy's errors on well-formed entries beside the other entries' problems", async () => {
    const r = await validate(
      "policy.yaml",
      `version: 1
workspace: acme
policy:
  webhooks:
    secretRequired: {}
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/a
    events: [repo:push]
  - repositories: [api]
    url: https://hooks.example.test/b
    events: [repo:psuh]
deployKeys:
  - repositories: [api]
    key: ssh-ed25519 AAAA
`,
    );
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      "policy.yaml:7:5 webhooks[0]: error webhooks.secretRequired: the hook has no secret: deliveries are not signed and the receiver cannot tell them from forgeries; give it a secret (secret: { generate: true }, or a reference) [policy of policy.yaml]",
      'policy.yaml:12:14 webhooks[1].events[0]: "repo:psuh" is not allowed here; did you mean "repo:push", "repo:fork", "repo:updated"?',
      "policy.yaml:15:10 deployKeys[0].key: key says ssh-ed25519 but its base64 part is not a ssh-ed25519 key (damaged, or the wrong prefix)",
      "3 problems",
    ]);
  });

  it(`shows the first ${MAX_SHOWN_PROBLEMS} problems of every kind in file order, then how many more`, async () => {
    // 40 malformed keys (expand's), then 40 bad events (the schema's): 80 in all, keys first.
    const n = 40;
    const keys = Array.from(
      { length: n },
      (_, i) => `  - repositories: [r${i}]\n    key: ssh-ed25519 AAAA\n`,
    );
    const hooks = Array.from(
      { length: n },
      (_, i) =>
        `  - repositories: [r${i}]\n    url: https://hooks.example.test/${i}\n    events: [repo:psuh]\n`,
    );
    const r = await validate(
      "many.yaml",
      `version: 1\nworkspace: acme\ndeployKeys:\n${keys.join("")}webhooks:\n${hooks.join("")}`,
    );
    assert.equal(r.code, 1);
    const key = (i: number) =>
      `many.yaml:${5 + 2 * i}:10 deployKeys[${i}].key: key says ssh-ed25519 but its base64 part is not a ssh-ed25519 key (damaged, or the wrong prefix)`;
    const event = (i: number) =>
      `many.yaml:${7 + 2 * n + 3 * i}:14 webhooks[${i}].events[0]: "repo:psuh" is not allowed here; did you mean "repo:push", "repo:fork", "repo:updated"?`;
    const all = [...keys.map((_, i) => key(i)), ...hooks.map((_, i) => event(i))];
    assert.deepEqual(r.lines, [
      ...all.slice(0, MAX_SHOWN_PROBLEMS),
      `... and ${2 * n - MAX_SHOWN_PROBLEMS} more problems (fix these first)`,
      `${2 * n} problems`,
    ]);
  });
});

describe("validate: no problem that follows only from another", () => {
  it("says an id used twice once, not also that the second entry gets the first's resource name", async () => {
    const r = await validate(
      "twice.yaml",
      `version: 1
workspace: acme
integrations:
  - id: ci
    preset: generic
    repositories: [api]
  - id: ci
    preset: generic
    repositories: [web]
`,
    );
    assert.deepEqual(r.lines, [
      'twice.yaml:7:9 integrations[1].id: id "ci" is already used by integrations[0] (line 4)',
      "1 problem",
    ]);
  });

  it("checks nothing more of an entry the schema refuses: a key of the wrong type is not also malformed", async () => {
    const r = await validate(
      "refused.yaml",
      `version: 1
workspace: acme
deployKeys:
  - repositories: [api]
    key: 42
sshKeys:
  - key: [ssh-ed25519]
`,
    );
    assert.deepEqual(r.lines, [
      "refused.yaml:5:10 deployKeys[0].key: must be text, not 42: put it in quotes, as written, to keep it as text",
      'refused.yaml:7:10 sshKeys[0].key: must be text, not ["ssh-ed25519"]',
      "2 problems",
    ]);
  });

  it("judges no integration whose OAuth consumer the schema refuses, and does not say it lacks one", async () => {
    const r = await validate(
      "consumer.yaml",
      `version: 1
workspace: acme
oauthConsumers:
  - id: psh
    name: Platform.sh
    callbackUrl: http://localhost
    scopes: [account, email, repository:write, pullrequest, webhok]
    key: { fromConfig: pshKey }
    secret: { fromConfig: pshSecret }
integrations:
  - id: psh
    preset: platformsh
    consumer: psh
    repositories: [api]
    options: { project: abcdefgh1234 }
`,
    );
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      'consumer.yaml:7:61 oauthConsumers[0].scopes[4]: "webhok" is not allowed here; did you mean "webhook"?',
      "1 problem",
    ]);
  });

  it("says a consumer on Data Center is Cloud's once, not also that the preset takes none", async () => {
    const r = await validate(
      "dc-consumer.yaml",
      `version: 1
flavor: datacenter
project: PROJ
integrations:
  - id: psh
    preset: platformsh
    consumer: ci
    repositories: [api]
    options: { project: abcdefgh1234, username: ci-bot, url: "https://bitbucket.example.test" }
`,
    );
    assert.deepEqual(r.lines, [
      "dc-consumer.yaml:7:5 integrations[0].consumer: consumer is Bitbucket Cloud's (OAuth consumers); remove it (this manifest is flavor: datacenter)",
      "1 problem",
    ]);
  });

  it("judges nothing by the default policy when the manifest's own policy has a problem", async () => {
    // Its policy turns the default's warning for credential-looking variables off (misspelt): the
    // default's warning would be a problem of the misspelling, not of the variable.
    const r = await validate(
      "own-policy.yaml",
      `version: 1
workspace: acme
policy:
  pipelineVariables:
    securedWhenKeyMatches: { enforcment: off }
pipelineVariables:
  - repositories: [api]
    key: API_TOKEN
    value: not-a-secret
    secured: false
`,
    );
    assert.deepEqual(r.lines, [
      'own-policy.yaml:5:30 policy.pipelineVariables.securedWhenKeyMatches.enforcment: unknown key "enforcment"; did you mean "enforcement"? (keys here: enforcement, message, patterns)',
      "1 problem",
    ]);
  });
});
