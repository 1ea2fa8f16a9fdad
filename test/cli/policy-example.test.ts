// examples/policy: the organisation policy validates as a policy file, and its pipeline runs the
// commands the README names, with gates that keep the audit's artifacts and fail on an error.

import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { loadPolicyFile } from "../../provider/manifest/load";
import { RULES } from "../../provider/policy/rules";
import { tempDir } from "../hooks";
import { ALL_SCOPES } from "../emulator/store";
import { HOSTILE_WORKSPACE, seedHostile } from "../emulator/hostile";
import { startEmulator, type Emulator } from "../emulator/server";
import { TOKEN } from "../harness/fixture";
import { checkSarif } from "./audit-sarif";
import { run, useEmulator } from "./run";

const DIR = path.resolve(__dirname, "../../examples/policy");

interface Step {
  step: { name: string; script: string[]; artifacts?: string[] };
}
const pipelines = parse(fs.readFileSync(path.join(DIR, "bitbucket-pipelines.yml"), "utf8")) as {
  pipelines: { "pull-requests": Record<string, Step[]>; custom: Record<string, Step[]> };
};

/**
 * Runs a step's script lines as Pipelines does, in `dir`: one bash script under `set -e`, so the
 * first command that fails ends the step, even one followed by `; other` on its line (Atlassian:
 * "Why does Bitbucket Pipelines pass build steps despite previous command failure?"). False when
 * the step fails.
 */
function runs(lines: string[], dir: string): boolean {
  try {
    execFileSync("bash", ["-c", ["set -e", ...lines].join("\n")], { cwd: dir, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("examples/policy", () => {
  it("has an organisation policy that loads as a policy file and sets every rule", () => {
    const layer = loadPolicyFile(path.join(DIR, "org-policy.yaml"), { relativeTo: DIR });
    assert.equal(layer.source, "policy file org-policy.yaml");
    const set = Object.entries(layer.policy).flatMap(([section, rules]) =>
      Object.keys(rules as object).map((r) => `${section}.${r}`),
    );
    assert.deepEqual(set.sort(), Object.keys(RULES).sort());
  });

  it("validates as a policy file with bitbucket-iac validate", async () => {
    const r = await run(["validate", "org-policy.yaml"], DIR);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `org-policy.yaml: a valid policy file (${Object.keys(RULES).length} rules)`);
  });

  it("validates every pull request's manifest against the policy", () => {
    const steps = pipelines.pipelines["pull-requests"]["**"]!;
    assert.deepEqual(
      steps.flatMap((s) => s.step.script),
      ["npm ci", "npx bitbucket-iac validate bitbucket.yaml --policy org-policy.yaml"],
    );
  });

  it("audits on a schedule, keeps the findings as artifacts and fails only the last step on an error", () => {
    const [audit, gate] = pipelines.pipelines.custom["audit-workspace"]!;
    assert.deepEqual(audit!.step.artifacts, ["audit.md", "audit.sarif", "audit.exit"]);
    const command = audit!.step.script.find((l) => l.startsWith("npx bitbucket-iac audit"));
    assert.match(
      command ?? "",
      /^npx bitbucket-iac audit --policy org-policy\.yaml --workspace "\$BITBUCKET_WORKSPACE" --format markdown --out audit\.sarif > audit\.md \|\| echo \$\? > audit\.exit$/,
    );
    // The audit's exit status decides: 0 passes both steps, 3 keeps the artifacts and fails the
    // last step, anything else fails the audit step itself.
    const outcome = (code: number) => {
      const dir = tempDir("bbiac-pipeline-");
      const lines = audit!.step.script
        .filter((l) => l !== "npm ci")
        .map((l) => l.replace(/^npx bitbucket-iac audit .*? >/, `(exit ${code}) >`));
      const first = runs(lines, dir);
      return [first, first && runs(gate!.step.script, dir)];
    };
    assert.deepEqual(outcome(0), [true, true]);
    assert.deepEqual(outcome(3), [true, false]);
    assert.deepEqual(outcome(1), [false, false]);
  });

  describe("its audit step, run as written against the emulator's hostile workspace", () => {
    let emu: Emulator;
    let restore: () => void;
    before(async () => {
      emu = await startEmulator({ tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
      seedHostile(emu.store);
      restore = useEmulator(emu, { BITBUCKET_WORKSPACE: HOSTILE_WORKSPACE });
    });
    after(async () => {
      restore();
      await emu.close();
    });

    it("finds the hostile objects, writes valid SARIF and Markdown, and exits 3", async () => {
      const [audit] = pipelines.pipelines.custom["audit-workspace"]!;
      const line = audit!.step.script.find((l) => l.startsWith("npx bitbucket-iac audit"))!;
      // The command's arguments as the shell would pass them, up to the redirection.
      const args = line
        .replace(/^npx bitbucket-iac /, "")
        .replace(/ > audit\.md.*$/, "")
        .replace('"$BITBUCKET_WORKSPACE"', HOSTILE_WORKSPACE)
        .split(" ");
      const dir = tempDir("bbiac-audit-step-");
      fs.copyFileSync(path.join(DIR, "org-policy.yaml"), path.join(dir, "org-policy.yaml"));
      const r = await run(args, dir);
      assert.equal(r.code, 3, r.err);
      assert.match(r.out, /^### /m, "Markdown on standard output");
      const pairs = checkSarif(fs.readFileSync(path.join(dir, "audit.sarif"), "utf8"));
      // Every rule of the organisation's policy that a hostile object breaks on Cloud is found (its
      // key types allow the account's ECDSA key).
      assert.deepEqual([...new Set(pairs.map((p) => p.split(" ")[0]))].sort(), [
        "keys.minRsaBits",
        "pipelineVariables.securedWhenKeyMatches",
        "webhooks.allowedHosts",
        "webhooks.events",
        "webhooks.forbidSkipCertVerification",
        "webhooks.https",
        "webhooks.secretRequired",
      ]);
    });
  });
});
