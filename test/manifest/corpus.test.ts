// The bad-manifest corpus: every file in test/fixtures/bad is a mistake a user makes. Each ends
// with the exact problems it must produce (`# expect: file:line:col path: message`, appended so
// line numbers stay true); `# repos: a, b@PROJECT` gives the workspace's repositories for
// selectors. No file may end in anything but a ManifestError: never a stack trace.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { expand } from "../../provider/manifest/expand";
import { formatProblem, isManifestError, parseManifest } from "../../provider/manifest/load";

const DIR = path.join(__dirname, "../fixtures/bad");
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("manifest: the bad-manifest corpus", () => {
  it("holds only YAML manifests numbered from 01 without a gap, up to the latest at least", () => {
    assert.deepEqual(fs.readdirSync(DIR).sort(), files, "nothing but .yaml in the corpus");
    const numbers = files.map((f) => Number(/^(\d+)-/.exec(f)?.[1]));
    assert.deepEqual(
      numbers,
      files.map((_, i) => i + 1),
      "fixtures numbered 1, 2, 3, ... (a missing number is a lost fixture)",
    );
    assert.ok(files.includes("56-two-unparseable-keys-are-not-a-collision.yaml"), files.at(-1));
  });

  for (const f of files) {
    it(`reports ${f.replace(/^\d+-|\.yaml$/g, "").replace(/-/g, " ")} at the right line and column`, () => {
      const text = fs.readFileSync(path.join(DIR, f), "utf8");
      const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
      assert.ok(expected.length > 0, "the fixture says what it expects");
      const repos = /^# repos: (.*)$/m
        .exec(text)?.[1]
        ?.split(",")
        .map((s) => {
          const [slug = "", project] = s.trim().split("@");
          return { slug, ...(project && { project }) };
        });
      let error: unknown;
      try {
        expand(parseManifest(text, f), () => repos);
      } catch (e) {
        error = e;
      }
      assert.ok(
        isManifestError(error),
        `expected a ManifestError, got ${error instanceof Error ? error.stack : String(error)}`,
      );
      assert.deepEqual(error.problems.map(formatProblem), expected);
      assert.ok(!error.message.includes("    at "), "no stack trace in the message");
    });
  }
});
