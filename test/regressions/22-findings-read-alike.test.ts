// Issue 22 review: one rule broken by one hook read differently depending on who said it. validate,
// plan and the provider's check end a finding with its policy in brackets (`[policy file
// org.yaml]`) and say `warning`; audit's text and Markdown put the policy in parentheses, right
// after the policy's own message, also in parentheses (`(ask #security) (policy file org.yaml)`),
// and its text said `warn`. Now audit says a finding as validate does.

import * as assert from "node:assert/strict";
import { HOSTILE_WORKSPACE, seedHostile } from "../emulator/hostile";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";

const POLICY = `version: 1
policy:
  webhooks:
    allowedHosts: { hosts: ["*.example.test"], message: "ask #security" }
    events: { deny: [repo:fork], enforcement: warn }
`;

/** The same hook the hostile workspace holds on web, declared. */
const MANIFEST = `version: 1
workspace: ${HOSTILE_WORKSPACE}
webhooks:
  - repositories: [web]
    url: https://collector.evil.test/x
    events: [repo:fork, repo:push]
    secret: { generate: true }
`;

describe("issue 22: a finding reads the same in validate and audit", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "org.yaml": POLICY, "bitbucket.yaml": MANIFEST });
  before(async () => {
    emu = await startEmulator({ tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    seedHostile(emu.store);
    restore = useEmulator(emu);
  });
  after(async () => {
    restore();
    await emu.close();
  });

  const error =
    "error webhooks.allowedHosts: host collector.evil.test is not one of the allowed hosts (*.example.test); deliver to an allowed host, or have the policy allow this one (ask #security) [policy file org.yaml]";
  const warning = "warning webhooks.events: event repo:fork is not allowed; remove it [policy file org.yaml]";

  it("ends each finding with its policy in brackets and says warning, in validate and in audit's text", async () => {
    const validated = await run(["validate", "--policy", "org.yaml"], dir);
    assert.equal(validated.code, 1);
    assert.ok(validated.err.includes(`bitbucket.yaml:5:10 webhooks[0].url: ${error}`), validated.err);
    assert.ok(validated.err.includes(`bitbucket.yaml:6:13 webhooks[0].events: ${warning}`), validated.err);

    const audited = await run(["audit", "--workspace", HOSTILE_WORKSPACE, "--policy", "org.yaml"], dir);
    assert.equal(audited.code, 3);
    const lines = audited.out.split("\n");
    const at = lines.indexOf("x webhook https://collector.evil.test/x on hostile/web");
    assert.deepEqual(lines.slice(at + 1, at + 3), [`    ${error}`, `    ${warning}`]);
  });

  it("says it the same way in audit's Markdown, escaped", async () => {
    const r = await run(
      ["audit", "--workspace", HOSTILE_WORKSPACE, "--policy", "org.yaml", "--format", "markdown"],
      dir,
    );
    assert.ok(
      r.out.includes(
        "  - **warning** `webhooks.events`: event repo:fork is not allowed; remove it \\[policy file org.yaml\\]",
      ),
      r.out,
    );
  });
});
