// The Bitbucket Cloud 2.0 paths every Cloud resource sends (provider/api/cloud.ts), checked against
// shared/bitbucket-api.md §2-§4: one path per scope, braced UUIDs as %7B…%7D (§1.1), and the
// labels messages name the scope with.

import * as assert from "node:assert/strict";
import {
  deployKeysPath,
  environmentsPath,
  hookPath,
  hooksPath,
  ownerLabel,
  pipelinesSshPath,
  projectPath,
  repositoriesPath,
  repositoryPath,
  scopeLabel,
  sshKeysPath,
  variablesPath,
  workspacePath,
} from "../../provider/api/cloud";

describe("Cloud paths (bitbucket-api.md §2-§4)", () => {
  it("puts webhooks on a repository or a workspace, a hook by its braced uuid percent-encoded (§2.1)", () => {
    assert.equal(hooksPath({ workspace: "acme", repository: "api" }), "/repositories/acme/api/hooks");
    assert.equal(hooksPath({ workspace: "acme" }), "/workspaces/acme/hooks");
    assert.equal(hookPath({ workspace: "acme" }, "{ec96}"), "/workspaces/acme/hooks/%7Bec96%7D");
    assert.equal(
      hookPath({ workspace: "acme", repository: "api" }, "{ec96}"),
      "/repositories/acme/api/hooks/%7Bec96%7D",
    );
  });

  it("puts deploy keys on a repository or on a workspace's project (§3.1, §3.2)", () => {
    assert.equal(
      deployKeysPath({ workspace: "acme", repository: "api" }),
      "/repositories/acme/api/deploy-keys",
    );
    assert.equal(
      deployKeysPath({ workspace: "acme", project: "PROJ" }),
      "/workspaces/acme/projects/PROJ/deploy-keys",
    );
    assert.throws(() => deployKeysPath({ workspace: "acme" }), /"" cannot be a part of a Bitbucket API path/);
  });

  it("puts a user's SSH keys under /users/{user}, a braced uuid percent-encoded (§3.3)", () => {
    assert.equal(sshKeysPath("{ed08}"), "/users/%7Bed08%7D/ssh-keys");
  });

  it("puts variables on a workspace (hyphen), a repository (underscore) or an environment (§4.1)", () => {
    assert.equal(variablesPath({ workspace: "acme" }), "/workspaces/acme/pipelines-config/variables");
    assert.equal(
      variablesPath({ workspace: "acme", repository: "api" }),
      "/repositories/acme/api/pipelines_config/variables",
    );
    assert.equal(
      variablesPath({ workspace: "acme", repository: "api", environmentUuid: "{e1}" }),
      "/repositories/acme/api/deployments_config/environments/%7Be1%7D/variables",
    );
  });

  it("names environments, the pipelines key pair, a workspace, a project and repositories (§4)", () => {
    assert.equal(environmentsPath("acme", "api"), "/repositories/acme/api/environments");
    assert.equal(pipelinesSshPath("acme", "api"), "/repositories/acme/api/pipelines_config/ssh");
    assert.equal(workspacePath("{w1}"), "/workspaces/%7Bw1%7D");
    assert.equal(repositoriesPath("acme"), "/repositories/acme");
    assert.equal(repositoryPath("acme", "my repo"), "/repositories/acme/my%20repo");
    assert.equal(projectPath("acme", "PROJ"), "/workspaces/acme/projects/PROJ");
  });

  it("percent-encodes every segment and refuses one that would climb the path", () => {
    assert.equal(hooksPath({ workspace: "a/b", repository: "c?d" }), "/repositories/a%2Fb/c%3Fd/hooks");
    assert.equal(
      deployKeysPath({ workspace: "a b", project: "P/Q" }),
      "/workspaces/a%20b/projects/P%2FQ/deploy-keys",
    );
    assert.throws(() => hooksPath({ workspace: "acme", repository: ".." }), /"\.\." cannot be a part/);
    assert.throws(() => variablesPath({ workspace: "." }), /"\." cannot be a part/);
  });

  it("names the scope in messages: acme/api, workspace acme, project acme/PROJ", () => {
    assert.equal(scopeLabel({ workspace: "acme", repository: "api" }), "acme/api");
    assert.equal(scopeLabel({ workspace: "acme" }), "workspace acme");
    assert.equal(ownerLabel({ workspace: "acme", repository: "api" }), "acme/api");
    assert.equal(ownerLabel({ workspace: "acme", project: "PROJ" }), "project acme/PROJ");
  });
});
