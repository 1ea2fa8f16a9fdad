// Issue 22 regression, found by the one-verdict property (test/fuzz/policy-verdicts.test.ts): a
// manifest's `policy:` never reached its OAuth consumers. deployManifest declared every other kind
// with the options that carry the policy transformation, but not OAuthConsumer, so `validate` and
// `plan` reported a consumer's scopes beyond `oauthConsumers.maxScopes` as an error while the
// provider's check at `pulumi up` let the consumer through, and a rule at level warn said nothing.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { DEFAULT_SEED, fixture, TOKEN, type Fixture } from "../harness/fixture";
import { ALL_SCOPES } from "../emulator/store";

const consumer = (level: "error" | "warn") =>
  parseManifest(
    `version: 1
workspace: acme
policy:
  oauthConsumers:
    maxScopes: { enforcement: ${level}, scopes: [repository], message: "ask #security" }
oauthConsumers:
  - id: ci
    name: CI
    scopes: [repository, webhook]
    key: { fromConfig: consumerKey }
    secret: { fromConfig: consumerSecret }
`,
    "bitbucket.yaml",
  );

describe("issue 22 regression: a manifest's policy holds its OAuth consumers at pulumi up", function () {
  let f: Fixture;
  before(async () => {
    f = await fixture({
      ...DEFAULT_SEED,
      consumers: [{ key: "ck-22", secret: "cs-22", scopes: ALL_SCOPES, private: true }],
    });
    pulumi.runtime.setAllConfig(
      {
        "bitbucket-iac:consumerKey": "ck-22",
        "bitbucket-iac:consumerSecret": "cs-22",
        "bitbucket:apiUrl": f.emulator.apiUrl,
        "bitbucket:token": TOKEN,
      },
      ["bitbucket-iac:consumerKey", "bitbucket-iac:consumerSecret"],
    );
  });
  after(async () => {
    pulumi.runtime.setAllConfig({}, []);
    await f.close();
  });

  it("fails the check of a consumer with scopes beyond oauthConsumers.maxScopes at level error, at scopes", async () => {
    const engine = new Engine(f.harness);
    const { steps, error } = await engine.up(async () =>
      Object.values((await deployManifest(consumer("error"), () => [])).resources),
    );
    // The policy's source ends the reason; which words name it is not this regression's concern.
    assert.match(
      String(error?.message),
      /^OAuthConsumer oauth-consumer\/ci: scopes: oauthConsumers\.maxScopes: scope webhook is beyond what the policy allows \(repository\); untick it \(ask #security\) \[[^\]]+\]$/,
    );
    assert.deepEqual(steps, [], "the consumer is not recorded");
  });

  it("says a consumer's warn-level violation once, on the consumer, and goes on", async () => {
    const said: Array<{ message: string; name: string }> = [];
    const engine = new Engine(f.harness);
    const { error } = await engine.up(async () =>
      Object.values(
        (
          await deployManifest(consumer("warn"), () => [], {
            warn: (message, resource) => said.push({ message, name: pulumi.resourceName(resource) }),
          })
        ).resources,
      ),
    );
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(
      said.map((x) => x.name),
      ["oauth-consumer/ci"],
    );
    assert.match(
      said[0]!.message,
      /^policy oauthConsumers\.maxScopes: scope webhook is beyond what the policy allows \(repository\); untick it \(ask #security\) \[[^\]]+\]$/,
    );
  });
});
