// Each example's README shows the `instructions` its integrations output, exactly: the program
// runs under mocks (a server at https://bitbucket.example.com for the Data Center example), and
// the README's block after `$ pulumi stack output --json integrations | jq -r '.["<id>"].instructions[]'`
// must be what that command would print. A preset whose steps change fails here until the README
// shows the new ones (the failure prints them).

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import { isKeyError, parsePublicKey } from "../../provider/ssh";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLES = ["platformsh", "puppet-pipelines", "shippable", "ampersand", "datacenter"];
const SECRETS = ["psh-key", "psh-secret", "amp-key", "amp-secret", "shippable-token", "dc-token-value"];

/** The command the README quotes before each block. */
const command = (id: string) =>
  `$ pulumi stack output --json integrations | jq -r '.["${id}"].instructions[]'`;

/** The block after `command(id)` in a README, up to its closing fence. */
function shown(readme: string, id: string): string[] | undefined {
  const lines = readme.split("\n");
  const at = lines.indexOf(command(id));
  if (at < 0) return undefined;
  const end = lines.indexOf("```", at);
  return lines.slice(at + 1, end);
}

const valueOf = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((ok) => o.apply((v) => (ok(v), v)));

/** Runs an example's program under mocks; returns each integration's instructions. */
async function instructionsOf(example: string): Promise<Record<string, string[]>> {
  const config: Record<string, string> = {
    "bitbucket-iac:platformshKey": "psh-key",
    "bitbucket-iac:platformshSecret": "psh-secret",
    "bitbucket-iac:ampersandClientId": "amp-key",
    "bitbucket-iac:ampersandClientSecret": "amp-secret",
    "bitbucket-iac:shippableToken": "shippable-token",
    ...(example === "datacenter" && {
      "bitbucket:flavor": "datacenter",
      "bitbucket:apiUrl": "https://bitbucket.example.com",
    }),
  };
  pulumi.runtime.setAllConfig(
    config,
    Object.keys(config).filter((k) => !k.startsWith("bitbucket:")),
  );
  await pulumi.runtime.setMocks(
    {
      newResource: async (a) => {
        const state: Record<string, unknown> = { ...a.inputs };
        if (typeof a.inputs.key === "string") {
          const k = parsePublicKey(a.inputs.key);
          if (!isKeyError(k)) state.fingerprint = k.fingerprint;
        }
        if (a.type.endsWith(":AccessToken")) state.token = "dc-token-value";
        if (a.type.endsWith(":OAuthConsumer")) state.grantedScopes = a.inputs.scopes;
        return { id: a.name, state };
      },
      call: (a) => a.inputs,
    },
    "bitbucket-iac",
    "examples",
  );
  const { outputs } = await deployManifest(
    loadManifest(path.join(ROOT, "examples", example, "bitbucket.yaml")),
    () => [{ slug: "api" }, { slug: "web" }],
  );
  const integrations = outputs.integrations as Record<string, Record<string, pulumi.Output<unknown>>>;
  const out: Record<string, string[]> = {};
  for (const [id, o] of Object.entries(integrations))
    out[id] = await valueOf(o.instructions as pulumi.Output<string[]>);
  return out;
}

describe("example READMEs show their integrations' instructions", () => {
  // The stack config set here, and the connection deployManifest copied from it into this
  // process's settings, must not reach the next file's programs.
  after(() => {
    pulumi.runtime.setAllConfig({}, []);
    setProviderConfig(() => undefined);
  });
  for (const example of EXAMPLES) {
    it(`examples/${example}/README.md: the instructions of every integration, as the stack outputs them`, async () => {
      const readme = fs.readFileSync(path.join(ROOT, "examples", example, "README.md"), "utf8");
      const all = await instructionsOf(example);
      assert.ok(Object.keys(all).length > 0, "the example has integrations");
      for (const [id, steps] of Object.entries(all)) {
        assert.ok(steps.length > 1, `${id}: more than one step`);
        for (const s of SECRETS) assert.ok(!steps.join("\n").includes(s), `${id}: a secret is inlined`);
        assert.deepEqual(
          shown(readme, id),
          steps,
          `examples/${example}/README.md should show, in a fenced block:\n${command(id)}\n${steps.join("\n")}\n`,
        );
      }
    });
  }
});
