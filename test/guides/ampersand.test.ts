// Ampersand's Bitbucket provider guide, walked as a checklist against the `ampersand` preset (Cloud
// only): the objects it reads and writes (the options, each with the scope its endpoint needs),
// the consumer it registers (the exact callback URL, public or private), and the Dashboard steps.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { Integration, OAuthConsumer } from "../../provider";
import { AMPERSAND_OBJECTS, presetFor } from "../../provider/presets";
import { checkboxOf } from "../../provider/scopes";
import {
  assertSecretsReferenced,
  quotedInComments,
  reveal,
  secretValue,
  walk,
  walkManifest,
  walkSteps,
  type Step,
} from "./walk";

// ---- the guide, quoted -------------------------------------------------------------------------
// shared/guides/ampersand.md (docs.withampersand.com, provider guide "Bitbucket")

/** "### Supported Objects": "supports reading from the following objects", each with its API link's anchor. */
const READ_OBJECTS: Record<string, string> = {
  "addon/linkers": "api-addon-linkers-get",
  "pipelines-config/variables": "api-workspaces-workspace-pipelines-config-variables-get",
  repositories: "api-repositories-workspace-get",
  "user/emails": "api-user-emails-get",
  hook_events: "api-hook-events-get",
  hooks: "api-workspaces-workspace-hooks-get",
  members: "api-workspaces-workspace-members-get",
  projects: "api-workspaces-workspace-projects-get",
};
/** "supports writing to the following objects". */
const WRITE_OBJECTS: Record<string, string> = {
  "pipelines-config/variables": "api-workspaces-workspace-pipelines-config-variables-post",
  projects: "api-workspaces-workspace-projects-post",
  snippets: "api-snippets-post",
  hooks: "api-workspaces-workspace-hooks-post",
};

/** "### Register a Bitbucket OAuth App", step 4.3. */
const CALLBACK =
  "**Callback URL**: Enter the Ampersand redirect URL: `https://api.withampersand.com/callbacks/v1/oauth`.";
const CALLBACK_URL = /`(https:[^`]+)`/.exec(CALLBACK)![1]!;
/** Step 5: the permissions are the operator's choice (they follow from the objects). */
const PERMISSIONS = "Select the permissions you want to grant to your app.";

/** "## Add Your Bitbucket App Info to Ampersand": the steps, in order. */
const DASHBOARD_STEPS = [
  "Log in to your [Ampersand Dashboard](https://dashboard.withampersand.com).",
  "Select the project where you want to create a Bitbucket integration.",
  "Select **Provider Apps**.",
  "Select **Bitbucket** from the **Provider** list.",
  "Enter the previously obtained **Client ID** in the **Client ID** field and the **Client Secret** in the **Client Secret** field.",
  "Click **Save Changes**.",
];

/**
 * The scope each object's endpoint asks for (the first oauth2 `security` requirement of its GET or
 * POST in Atlassian's Cloud spec; test/contract/preset-scopes.test.ts checks the preset against
 * the spec itself). None: the endpoint takes no scope (hook_events), or is gone from the spec
 * (addon/linkers, removed by Bitbucket in May 2026; Connect apps read it with their own JWT).
 */
const READ_SCOPE: Record<string, string | null> = {
  "addon/linkers": null,
  "pipelines-config/variables": "pipeline",
  repositories: "repository",
  "user/emails": "email",
  hook_events: null,
  hooks: "webhook",
  members: "account",
  projects: "project",
};
const WRITE_SCOPE: Record<string, string> = {
  "pipelines-config/variables": "pipeline:variable",
  projects: "project:admin",
  snippets: "snippet:write",
  hooks: "webhook",
};

// ---- the setup under test ----------------------------------------------------------------------

const KEY = "amp-client-id-1";
const SECRET = "amp-client-secret-2";

const consumer = (over: Record<string, unknown> = {}) =>
  new OAuthConsumer("ampersand-consumer", {
    workspace: "acme",
    name: "Ampersand",
    callbackUrl: CALLBACK_URL,
    scopes: ["repository", "webhook", "pipeline", "pipeline:variable"],
    key: KEY,
    secret: SECRET,
    ...over,
  });

const ampersand = (
  options: Record<string, unknown> = {
    read: ["repositories", "hooks"],
    write: ["pipelines-config/variables"],
  },
  consumerOver: Record<string, unknown> = {},
) =>
  walk(
    () =>
      new Integration("ampersand", {
        preset: "ampersand",
        workspace: "acme",
        consumer: consumer(consumerOver),
        options,
        reveal: reveal("ampersand"),
      }),
  );

/** The anchor of an endpoint in Atlassian's API reference: /workspaces/{workspace}/hook_events GET -> api-workspaces-workspace-hook-events-get. */
const anchorOf = (p: string, method: string) =>
  `api${p.replace(/[{}]/g, "").replace(/[/_]/g, "-")}-${method}`;

const bold = (step: string) => [...step.matchAll(/\*\*(.+?)\*\*/g)].map((m) => m[1]!);

const steps = (id: string, permissions: string[]): Step[] => [
  {
    guide: `Register a Bitbucket OAuth App: ${CALLBACK} ${PERMISSIONS}`,
    words: [
      "Register a Bitbucket OAuth app",
      '"Ampersand"',
      "Callback URL",
      CALLBACK_URL,
      ...permissions.map(checkboxOf),
    ],
  },
  { guide: DASHBOARD_STEPS[0]!, words: ["Ampersand Dashboard", "https://dashboard.withampersand.com"] },
  {
    guide: DASHBOARD_STEPS[1]!,
    words: ["Select the project where you want to create a Bitbucket integration"],
  },
  { guide: DASHBOARD_STEPS[2]!, words: bold(DASHBOARD_STEPS[2]!) },
  { guide: DASHBOARD_STEPS[3]!, words: [...bold(DASHBOARD_STEPS[3]!), "list"] },
  { guide: DASHBOARD_STEPS[4]!, words: ["Client ID", reveal(id)("clientId"), "Client ID field"] },
  { guide: DASHBOARD_STEPS[4]!, words: ["Client Secret", reveal(id)("clientSecret"), "Client Secret field"] },
  { guide: DASHBOARD_STEPS[5]!, words: bold(DASHBOARD_STEPS[5]!) },
];

const SEED = Number(process.env.FUZZ_SEED ?? 25);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

const accepts = (options: Record<string, unknown>) => presetFor("ampersand", "cloud")!.validate(options);

describe("guide: Ampersand on Bitbucket Cloud", () => {
  it("walks the guide's steps in order: the OAuth app, then the Dashboard's Provider Apps, Bitbucket, Client ID, Client Secret, Save Changes", async () => {
    const w = await ampersand();
    walkSteps(w.outputs.instructions, steps("ampersand", ["pipeline:variable", "repository", "webhook"]));
  });

  /** The object names a preset option could be given: the guide's, the preset's, and earlier versions'. */
  const candidates = () =>
    new Set([
      ...Object.keys(READ_OBJECTS),
      ...Object.keys(WRITE_OBJECTS),
      ...Object.keys(AMPERSAND_OBJECTS ?? {}),
      ...["account", "repository", "project", "pipeline", "snippet", "webhook", "issue", "pullrequest"],
    ]);

  it("reads exactly the objects the guide says it reads from", () => {
    const readable = [...candidates()].filter((x) => accepts({ read: [x] }).length === 0).sort();
    assert.deepEqual(readable, Object.keys(READ_OBJECTS).sort());
  });

  it("writes exactly the objects the guide says it writes to", () => {
    const writable = [...candidates()].filter((x) => accepts({ write: [x] }).length === 0).sort();
    assert.deepEqual(writable, Object.keys(WRITE_OBJECTS).sort());
  });

  it("reads and writes each object through the endpoint the guide links to", () => {
    for (const [name, anchor] of Object.entries(READ_OBJECTS))
      assert.equal(anchorOf(AMPERSAND_OBJECTS[name]!.path, "get"), anchor, `read ${name}`);
    for (const [name, anchor] of Object.entries(WRITE_OBJECTS))
      assert.equal(anchorOf(AMPERSAND_OBJECTS[name]!.path, "post"), anchor, `write ${name}`);
  });

  it("outputs the client id and secret as secrets the instructions reveal, and the exact callback URL", async () => {
    const w = await ampersand();
    assert.equal(w.outputs.clientId, KEY);
    assert.equal(w.outputs.clientSecret, SECRET);
    assert.equal(w.outputs.callbackUrl, CALLBACK_URL);
    assert.deepEqual(assertSecretsReferenced(w, "ampersand", [KEY, SECRET]), ["clientId", "clientSecret"]);
  });

  describe("least privilege: each object's own scope, no more", () => {
    it("requires for each object read exactly the scope its endpoint asks for, and a consumer with only that scope passes", async () => {
      for (const [name, scope] of Object.entries(READ_SCOPE)) {
        const scopes = scope ? [scope] : [];
        const w = await ampersand({ read: [name] }, { scopes });
        assert.deepEqual(w.integration!.requiredScopes, scopes, `read ${name}`);
      }
    });

    it("requires for each object written exactly the scope its endpoint asks for: pipelines-config/variables needs pipeline:variable, not pipeline:write", async () => {
      for (const [name, scope] of Object.entries(WRITE_SCOPE)) {
        const w = await ampersand({ write: [name] }, { scopes: [scope] });
        assert.deepEqual(w.integration!.requiredScopes, [scope], `write ${name}`);
      }
    });

    it("requires, for any objects of the guide's lists, exactly their scopes together", () => {
      const preset = presetFor("ampersand", "cloud")!;
      fc.assert(
        fc.property(
          fc.subarray(Object.keys(READ_OBJECTS)),
          fc.subarray(Object.keys(WRITE_OBJECTS)),
          (read, write) => {
            fc.pre(read.length + write.length > 0);
            const expected = new Set([
              ...read.flatMap((x) => READ_SCOPE[x] ?? []),
              ...write.map((x) => WRITE_SCOPE[x]!),
            ]);
            assert.deepEqual(
              [...new Set(preset.requiredScopes({ read, write }))].sort(),
              [...expected].sort(),
            );
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it("refuses a consumer that lacks an object's scope, naming the checkbox", async () => {
      await assert.rejects(
        ampersand({ write: ["pipelines-config/variables"] }, { scopes: ["pipeline", "pipeline:write"] }),
        /does not declare pipeline:variable; add them to its scopes and tick "Pipelines: Edit variables"/,
      );
    });
  });

  describe("the consumer the guide registers", () => {
    it(`requires the callback URL exactly: ${CALLBACK_URL}`, async () => {
      for (const callbackUrl of [
        undefined,
        "https://api.withampersand.com/callbacks/v1/oauth/",
        "http://localhost",
      ]) {
        await assert.rejects(
          ampersand(undefined, { callbackUrl }),
          (e: Error) => e.message.includes(`Ampersand requires callbackUrl: ${CALLBACK_URL}`),
          String(callbackUrl),
        );
      }
    });

    it("accepts a public consumer (the guide does not ask for a private one), and says to check its permissions in Bitbucket", async () => {
      const w = await ampersand(undefined, { private: false });
      walkSteps(w.outputs.instructions, steps("ampersand", ["pipeline:variable", "repository", "webhook"]));
      assert.match(
        (w.outputs.instructions as string[])[0]!,
        /a public consumer, whose permissions Bitbucket does not show to this stack: check them in its settings/,
      );
      assert.doesNotMatch(
        ((await ampersand()).outputs.instructions as string[]).join("\n"),
        /a public consumer/,
      );
    });

    it("creates nothing in Bitbucket beside the consumer", async () => {
      const w = await ampersand();
      assert.deepEqual(
        w.declared.map((d) => d.type),
        ["OAuthConsumer"],
      );
    });
  });

  it("follows the guide through the manifest: examples/ampersand (a public consumer)", async () => {
    const file = path.resolve(__dirname, "../../examples/ampersand/bitbucket.yaml");
    const w = await walkManifest(file, "ampersand");
    walkSteps(
      w.outputs.instructions,
      steps("ampersand", ["pipeline:variable", "project", "repository", "webhook"]),
    );
    const key = secretValue({ fromConfig: "ampersandClientId" });
    const secret = secretValue({ fromConfig: "ampersandClientSecret" });
    assert.deepEqual(assertSecretsReferenced(w, "ampersand", [key, secret]), ["clientId", "clientSecret"]);
  });

  it("the example quotes only the guide's own words", () => {
    const guide = ["Supported Objects", CALLBACK, PERMISSIONS, ...DASHBOARD_STEPS].join("\n");
    const text = fs.readFileSync(path.resolve(__dirname, "../../examples/ampersand/bitbucket.yaml"), "utf8");
    for (const q of quotedInComments(text))
      assert.ok(guide.includes(q), `the example quotes words the guide does not say: "${q}"`);
  });
});
