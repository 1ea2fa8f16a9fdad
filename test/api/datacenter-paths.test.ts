// The Data Center REST paths every DC resource sends (provider/api/datacenter.ts), checked against
// shared/bitbucket-api.md §8: `/rest/{api}/latest/...` per scope (project or repository, user for
// keys and tokens), each segment percent-encoded, and the labels messages name the scope with.

import * as assert from "node:assert/strict";
import {
  dcAccessKeyPermissionPath,
  dcAccessKeysPath,
  dcHooksPath,
  dcPullRequestPath,
  dcReposPath,
  dcScopeLabel,
  dcSshKeyPath,
  dcSshKeysPath,
  dcTokensPath,
} from "../../provider/api/datacenter";

const REPO = { project: "PROJ", repository: "api" };
const PROJECT = { project: "PROJ" };

describe("Data Center paths (bitbucket-api.md §8)", () => {
  it("puts webhooks under /rest/api/latest, on a repository or on a project (§8.2)", () => {
    assert.equal(dcHooksPath(REPO), "/rest/api/latest/projects/PROJ/repos/api/webhooks");
    assert.equal(dcHooksPath(PROJECT), "/rest/api/latest/projects/PROJ/webhooks");
  });

  it("puts SSH access keys under /rest/keys/latest, and changes a permission by its own PUT path (§8.3)", () => {
    assert.equal(dcAccessKeysPath(REPO), "/rest/keys/latest/projects/PROJ/repos/api/ssh");
    assert.equal(dcAccessKeysPath(PROJECT), "/rest/keys/latest/projects/PROJ/ssh");
    assert.equal(
      dcAccessKeyPermissionPath(REPO, "12", "REPO_WRITE"),
      "/rest/keys/latest/projects/PROJ/repos/api/ssh/12/permission/REPO_WRITE",
    );
    assert.equal(
      dcAccessKeyPermissionPath(PROJECT, "12", "PROJECT_READ"),
      "/rest/keys/latest/projects/PROJ/ssh/12/permission/PROJECT_READ",
    );
  });

  it("lists the credentials' own SSH keys without a user, another user's with ?user= (§8.4)", () => {
    assert.equal(dcSshKeysPath(), "/rest/ssh/latest/keys");
    assert.equal(dcSshKeysPath("alice"), "/rest/ssh/latest/keys?user=alice");
    assert.equal(dcSshKeysPath("jane doe@corp"), "/rest/ssh/latest/keys?user=jane%20doe%40corp");
    assert.equal(dcSshKeyPath("42"), "/rest/ssh/latest/keys/42");
  });

  it("puts HTTP access tokens under /rest/access-tokens/latest for a user, a project or a repository (§8.5)", () => {
    assert.equal(dcTokensPath({ user: "alice" }), "/rest/access-tokens/latest/users/alice");
    assert.equal(dcTokensPath(PROJECT), "/rest/access-tokens/latest/projects/PROJ");
    assert.equal(dcTokensPath(REPO), "/rest/access-tokens/latest/projects/PROJ/repos/api");
  });

  it("lists a project's repositories under /rest/api/latest", () => {
    assert.equal(dcReposPath("PROJ"), "/rest/api/latest/projects/PROJ/repos");
  });

  it("puts a repository's pull request under /rest/api/latest, segments encoded (plan --comment)", () => {
    assert.equal(dcPullRequestPath(REPO, 7), "/rest/api/latest/projects/PROJ/repos/api/pull-requests/7");
    assert.equal(
      dcPullRequestPath({ project: "A B", repository: "x/y" }, 7),
      "/rest/api/latest/projects/A%20B/repos/x%2Fy/pull-requests/7",
    );
  });

  it("percent-encodes every segment, so a name cannot add or climb a path segment", () => {
    const odd = { project: "~ja ne", repository: "a/b?c#d" };
    assert.equal(dcHooksPath(odd), "/rest/api/latest/projects/~ja%20ne/repos/a%2Fb%3Fc%23d/webhooks");
    assert.equal(dcAccessKeysPath(odd), "/rest/keys/latest/projects/~ja%20ne/repos/a%2Fb%3Fc%23d/ssh");
    assert.equal(
      dcAccessKeyPermissionPath(odd, "1/2", "REPO READ"),
      "/rest/keys/latest/projects/~ja%20ne/repos/a%2Fb%3Fc%23d/ssh/1%2F2/permission/REPO%20READ",
    );
    assert.equal(dcSshKeyPath("7/../8"), "/rest/ssh/latest/keys/7%2F..%2F8");
    assert.equal(dcTokensPath({ user: "jane@corp" }), "/rest/access-tokens/latest/users/jane%40corp");
    assert.equal(dcTokensPath(odd), "/rest/access-tokens/latest/projects/~ja%20ne/repos/a%2Fb%3Fc%23d");
    assert.equal(dcReposPath("A B"), "/rest/api/latest/projects/A%20B/repos");
  });

  it("refuses an empty, . or .. segment for every scope, naming what to check", () => {
    const refused =
      /"\.\." cannot be a part of a Bitbucket API path .*check the workspace, repository, project and key names/;
    assert.throws(() => dcHooksPath({ project: ".." }), refused);
    assert.throws(() => dcHooksPath({ project: "PROJ", repository: ".." }), refused);
    assert.throws(() => dcAccessKeysPath({ project: "PROJ", repository: ".." }), refused);
    assert.throws(() => dcAccessKeyPermissionPath(REPO, "..", "REPO_READ"), refused);
    assert.throws(() => dcSshKeyPath(".."), refused);
    assert.throws(() => dcTokensPath({ user: ".." }), refused);
    assert.throws(() => dcReposPath(".."), refused);
    assert.throws(() => dcTokensPath({ project: "" }), /"" cannot be a part of a Bitbucket API path/);
  });

  it("names a repository as PROJ/api and a project as project PROJ in messages", () => {
    assert.equal(dcScopeLabel(REPO), "PROJ/api");
    assert.equal(dcScopeLabel(PROJECT), "project PROJ");
  });
});
