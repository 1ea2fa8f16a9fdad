// Each kind's checks run on a manifest of either flavor, as before the kinds became descriptors: a
// Data Center manifest that lists OAuth consumers (a Cloud kind) hears that, and also which ids
// are used twice, so a user who moves the file to Cloud has nothing left to find.

import * as assert from "node:assert/strict";
import { formatProblem, isManifestError, parseManifest } from "../../provider/manifest/load";

/** The problems a manifest produces, formatted as the user sees them. */
function problemsOf(text: string): string[] {
  try {
    parseManifest(text, "m.yaml");
    return [];
  } catch (e) {
    if (!isManifestError(e)) throw e;
    return e.problems.map(formatProblem);
  }
}

describe("manifest: each kind's checks on either flavor", () => {
  it("tells a Data Center manifest both that OAuth consumers are Cloud's and that an id is used twice", () => {
    const consumer = (id: string) =>
      `  - id: ${id}\n    name: CI\n    scopes: [repository]\n    key: { fromEnv: KEY }\n    secret: { fromEnv: SECRET }\n`;
    const text = `version: 1\nflavor: datacenter\nproject: PROJ\noauthConsumers:\n${consumer("ci")}${consumer("ci")}`;
    assert.deepEqual(problemsOf(text), [
      "m.yaml:4:1 oauthConsumers: oauthConsumers are Bitbucket Cloud only: Data Center's incoming OAuth applications are made by an administrator, not through this API; remove them, or keep them in a Cloud manifest (this manifest is flavor: datacenter)",
      'm.yaml:10:9 oauthConsumers[1].id: id "ci" is already used by oauthConsumers[0] (line 5)',
    ]);
  });
});
