// Issue 22: every exchange of `bitbucket-iac audit` against Atlassian's specs, on both flavors:
// what it reads of a workspace (repositories, hooks, deploy keys of repositories and projects,
// variables of repositories, environments and the workspace, key pairs, the account's SSH keys)
// and of Data Center projects (webhooks, access keys, access tokens of repositories, projects and
// the user, the user search that finds the credentials' user, SSH keys). The hostile seed makes
// every answer non-empty.

import * as assert from "node:assert/strict";
import { HOSTILE_PROJECT, HOSTILE_WORKSPACE, seedHostile } from "../emulator/hostile";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";
import { CLOUD_SPEC, Contract, DC_SPEC, dataCenterContract, requireSpec } from "./openapi";

const seen = (contract: Contract, emu: Emulator) =>
  new Set(emu.entries().map((e) => `${e.method} ${contract.template(e.path)} ${e.status}`));

describe("contract: audit's exchanges against the Cloud and Data Center specs", function () {
  this.timeout(60_000);
  let emu: Emulator;

  before(async function () {
    requireSpec(this, CLOUD_SPEC);
    requireSpec(this, DC_SPEC);
    emu = await startEmulator({ tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    seedHostile(emu.store);
  });
  after(async () => emu?.close());

  it("validates every request audit sends to Cloud and every response the emulator gives", async () => {
    const contract = new Contract();
    const restore = useEmulator(emu);
    try {
      emu.resetLog();
      const r = await run(["audit", "--workspace", HOSTILE_WORKSPACE], workdir({}));
      assert.equal(r.code, 3, r.err);
      const exchanges = seen(contract, emu);
      for (const must of [
        "GET /repositories/{workspace} 200",
        "GET /repositories/{workspace}/{repo_slug}/hooks 200",
        "GET /repositories/{workspace}/{repo_slug}/deploy-keys 200",
        "GET /workspaces/{workspace}/projects/{project_key}/deploy-keys 200",
        "GET /repositories/{workspace}/{repo_slug}/pipelines_config/variables 200",
        "GET /repositories/{workspace}/{repo_slug}/environments 200",
        "GET /repositories/{workspace}/{repo_slug}/deployments_config/environments/{environment_uuid}/variables 200",
        "GET /repositories/{workspace}/{repo_slug}/pipelines_config/ssh/key_pair 200",
        "GET /repositories/{workspace}/{repo_slug}/pipelines_config/ssh/key_pair 404",
        "GET /workspaces/{workspace}/hooks 200",
        "GET /workspaces/{workspace}/pipelines-config/variables 200",
        "GET /user 200",
        "GET /users/{selected_user}/ssh-keys 200",
      ])
        assert.ok(
          exchanges.has(must),
          `exchange not exercised: ${must} (seen: ${[...exchanges].join("; ")})`,
        );
      assert.deepEqual(
        emu.entries().flatMap((e) => contract.check(e)),
        [],
      );
    } finally {
      restore();
    }
  });

  it("validates every request audit sends to Data Center and every response the emulator gives", async () => {
    const contract = dataCenterContract();
    const restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    try {
      emu.resetLog();
      const r = await run(["audit", "--project", HOSTILE_PROJECT], workdir({}));
      assert.equal(r.code, 3, r.err);
      const exchanges = seen(contract, emu);
      for (const must of [
        "GET /api/latest/projects/{projectKey}/repos 200",
        "GET /api/latest/projects/{projectKey}/repos/{repositorySlug}/webhooks 200",
        "GET /api/latest/projects/{projectKey}/webhooks 200",
        "GET /keys/latest/projects/{projectKey}/repos/{repositorySlug}/ssh 200",
        "GET /keys/latest/projects/{projectKey}/ssh 200",
        "GET /access-tokens/latest/projects/{projectKey}/repos/{repositorySlug} 200",
        "GET /access-tokens/latest/projects/{projectKey} 200",
        "GET /access-tokens/latest/users/{userSlug} 200",
        "GET /api/latest/projects/{projectKey} 200",
        "GET /api/latest/users 200",
        "GET /ssh/latest/keys 200",
      ])
        assert.ok(
          exchanges.has(must),
          `exchange not exercised: ${must} (seen: ${[...exchanges].join("; ")})`,
        );
      assert.deepEqual(
        emu.entries().flatMap((e) => contract.check(e)),
        [],
      );
    } finally {
      restore();
    }
  });
});
