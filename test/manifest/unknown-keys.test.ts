// An unknown key lists the keys of the manifest's flavor only, and its "did you mean" picks among
// them; a preset's unknown option says "did you mean" in the same words.

import * as assert from "node:assert/strict";
import { expand, PLACEHOLDERS } from "../../provider/manifest/expand";
import { formatProblem, isManifestError, parseManifest } from "../../provider/manifest/load";

/** The problems of a manifest, as validate prints them (loader's, then expand's). */
function problems(name: string, text: string): string[] {
  try {
    expand(parseManifest(text, name), PLACEHOLDERS);
  } catch (e) {
    if (isManifestError(e)) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

describe("manifest: unknown keys by flavor", () => {
  it("lists a Cloud manifest's top-level keys without Data Center's project and access tokens", () => {
    assert.deepEqual(problems("cloud.yaml", "version: 1\nworkspace: acme\nprojet: PROJ\n"), [
      'cloud.yaml:3:1 projet: unknown key "projet" (keys here: $schema, version, workspace, flavor, policy, webhooks, deployKeys, sshKeys, pipelineVariables, pipelineSshKeyPairs, knownHosts, oauthConsumers, integrations)',
    ]);
  });

  it("lists a Data Center manifest's top-level keys without Cloud's workspace and kinds, and suggests project", () => {
    assert.deepEqual(problems("dc.yaml", "version: 1\nflavor: datacenter\nprojet: PROJ\n"), [
      'dc.yaml:3:1 projet: unknown key "projet"; did you mean "project"? (keys here: $schema, version, flavor, project, policy, webhooks, deployKeys, sshKeys, accessTokens, integrations)',
    ]);
  });

  it("lists an entry's keys for its flavor: a Cloud webhook has no projects, a Data Center one no workspace", () => {
    assert.deepEqual(
      problems(
        "cloud.yaml",
        "version: 1\nworkspace: acme\nwebhooks:\n  - url: https://hooks.example.test/a\n    events: [repo:push]\n    projcts: [A]\n",
      ),
      [
        'cloud.yaml:6:5 webhooks[0].projcts: unknown key "projcts" (keys here: workspace, repositories, name, url, events, description, active, secret, skipCertVerification, allowHttp, adopt, retainOnDelete)',
      ],
    );
    assert.deepEqual(
      problems(
        "dc.yaml",
        "version: 1\nflavor: datacenter\nproject: P\nwebhooks:\n  - url: https://hooks.example.test/a\n    events: [repo:refs_changed]\n    workspce: acme\n",
      ),
      [
        'dc.yaml:7:5 webhooks[0].workspce: unknown key "workspce" (keys here: project, projects, repositories, name, url, events, description, active, secret, skipCertVerification, allowHttp, adopt, retainOnDelete)',
      ],
    );
  });

  it("suggests an integration's consumer on Cloud, and neither lists nor suggests it on Data Center", () => {
    assert.deepEqual(
      problems(
        "cloud.yaml",
        "version: 1\nworkspace: acme\nintegrations:\n  - id: g\n    preset: generic\n    consumr: x\n",
      ),
      [
        'cloud.yaml:6:5 integrations[0].consumr: unknown key "consumr"; did you mean "consumer"? (keys here: id, preset, workspace, consumer, repositories, options, adopt, retainOnDelete)',
      ],
    );
    assert.deepEqual(
      problems(
        "dc.yaml",
        "version: 1\nflavor: datacenter\nproject: P\nintegrations:\n  - id: g\n    preset: platformsh\n    consumr: x\n",
      ),
      [
        'dc.yaml:7:5 integrations[0].consumr: unknown key "consumr" (keys here: id, preset, project, repositories, options, adopt, retainOnDelete)',
      ],
    );
  });
});

describe("manifest: a preset's unknown option", () => {
  it("says did you mean, quoted, as an unknown key does, and not also that the option it means is missing", () => {
    assert.deepEqual(
      problems(
        "preset.yaml",
        "version: 1\nworkspace: acme\nintegrations:\n  - id: s\n    preset: platformsh\n    repositories: [api]\n    options: { projct: abcdefgh1234 }\n",
      ),
      [
        "preset.yaml:4:5 integrations[0]: Platform.sh needs an OAuth consumer: declare one under oauthConsumers and name its id in consumer",
        'preset.yaml:7:24 integrations[0].options.projct: Platform.sh: projct: not an option of this preset; did you mean "project"? (options: project, fetchBranches, pruneBranches, buildPullRequests, buildPullRequestsPostMerge)',
      ],
    );
  });

  it("says no did you mean for an option nothing is close to", () => {
    assert.deepEqual(
      problems(
        "preset.yaml",
        "version: 1\nworkspace: acme\nintegrations:\n  - id: a\n    preset: shippable\n    options: { integrationName: ci, token: { fromConfig: t }, colour: blue }\n",
      ),
      [
        "preset.yaml:6:71 integrations[0].options.colour: Shippable: colour: not an option of this preset (options: integrationName, token, resources)",
      ],
    );
  });

  it("still says a required option is missing when the unknown one is not close to it", () => {
    assert.deepEqual(
      problems(
        "preset.yaml",
        "version: 1\nworkspace: acme\nintegrations:\n  - id: s\n    preset: platformsh\n    repositories: [api]\n    options: { colour: blue }\n",
      ).filter((p) => p.includes("options")),
      [
        "preset.yaml:7:14 integrations[0].options: Platform.sh: project: required",
        "preset.yaml:7:24 integrations[0].options.colour: Platform.sh: colour: not an option of this preset (options: project, fetchBranches, pruneBranches, buildPullRequests, buildPullRequestsPostMerge)",
      ],
    );
  });
});
