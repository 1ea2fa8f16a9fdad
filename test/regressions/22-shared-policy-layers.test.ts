// Issue 22 (review): a repository's stack config replaced, or blanked, the organisation's policy
// file. Settings read stack config before the environment, so `bitbucket:policy` (even "") hid
// BITBUCKET_POLICY, and `--policy` hid it on the command line. Now every file named applies, each
// as a layer of its own: a team can add a policy, never remove the organisation's.

import * as assert from "node:assert/strict";
import * as path from "path";
import { policySettings, setProviderConfig } from "../../provider/api/auth";
import { policyFailures } from "../../provider/manifest/enforce";
import { run, workdir } from "../cli/run";

const ORG = "version: 1\npolicy:\n  webhooks:\n    secretRequired: { message: org }\n";
const TEAM =
  "version: 1\npolicy:\n  webhooks:\n    allowedHosts: { hosts: [ci.example.com], message: team }\n";
const HOOK = {
  workspace: "acme",
  repository: "api",
  url: "https://other.example.com/h",
  events: ["repo:push"],
};

/** Runs `fn` with BITBUCKET_POLICY and stack config `bitbucket:policy` as given, then restores both. */
async function withPolicy<T>(env: string | undefined, config: string | undefined, fn: () => Promise<T> | T) {
  const saved = process.env.BITBUCKET_POLICY;
  if (env === undefined) delete process.env.BITBUCKET_POLICY;
  else process.env.BITBUCKET_POLICY = env;
  setProviderConfig((k) => (k === "bitbucket:policy" ? config : undefined));
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.BITBUCKET_POLICY;
    else process.env.BITBUCKET_POLICY = saved;
    setProviderConfig(() => undefined);
  }
}

describe("issue 22: every policy file named applies, none replaces another", () => {
  it("names both files when stack config and the environment each name one, and the environment's when config is empty", async () => {
    assert.deepEqual(await withPolicy("org.yaml", "team.yaml", () => policySettings()), [
      "team.yaml",
      "org.yaml",
    ]);
    assert.deepEqual(await withPolicy("org.yaml", "", () => policySettings()), ["org.yaml"]);
    assert.deepEqual(await withPolicy("org.yaml", "org.yaml", () => policySettings()), ["org.yaml"]);
    assert.deepEqual(await withPolicy(undefined, undefined, () => policySettings()), []);
  });

  it("fails the provider's check on the environment's file even when stack config names another, or none", async () => {
    const dir = workdir({ "org.yaml": ORG, "team.yaml": TEAM });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const org = path.join(dir, "org.yaml");
      const team = path.join(dir, "team.yaml");
      const reasons = async (config: string | undefined) =>
        (await withPolicy(org, config, () => policyFailures("Webhook", HOOK, undefined))).map(
          (f) => f.reason,
        );
      const blanked = await reasons("");
      assert.equal(blanked.length, 1, blanked.join("\n"));
      assert.match(
        blanked[0]!,
        /^webhooks\.secretRequired: the hook has no secret.* \(org\) \[policy file \S*org\.yaml\]$/,
      );
      assert.deepEqual(
        (await reasons(team)).map((r) => r.split(":")[0]),
        ["webhooks.allowedHosts", "webhooks.secretRequired"],
      );
    } finally {
      process.chdir(cwd);
    }
  });

  it("applies --policy beside BITBUCKET_POLICY on the command line", async () => {
    const dir = workdir({
      "bitbucket.yaml":
        "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://other.example.com/h\n    events: [repo:push]\n",
      "org.yaml": ORG,
      "team.yaml": TEAM,
    });
    const r = await withPolicy("org.yaml", undefined, () => run(["validate", "--policy", "team.yaml"], dir));
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.err
        .split("\n")
        .map((l) => /error (\S+):.*\[(.*)\]$/.exec(l)?.slice(1).join(" "))
        .filter(Boolean),
      ["webhooks.secretRequired policy file org.yaml", "webhooks.allowedHosts policy file team.yaml"],
    );
  });
});
