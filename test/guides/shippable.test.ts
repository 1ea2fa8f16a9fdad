// Shippable's two Bitbucket pages, walked as a checklist against the `shippable` preset (Cloud
// only: Shippable documents no Bitbucket Server setup): the account integration's form (a friendly
// name and a Token), the Resources that name it, and the variables their jobs receive.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Integration, OAuthConsumer } from "../../provider";
import { checkboxOf, closure } from "../../provider/scopes";
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

// ---- the guides, quoted ------------------------------------------------------------------------

/** shared/guides/shippable-reference.md, "##Adding a Bitbucket integration": the steps, in order. */
const ADD_STEPS = {
  integrations:
    "Click on Integrations in the left sidebar menu followed by the '+' icon in the **Account Integrations** panel.",
  family: "Select **scm** as the Integration family.",
  type: "Choose **Bitbucket** from the list of integration types.",
  name: "Add a friendly name for your integration",
  token: "Create a **Bitbucket API token** with the right settings and paste it in the **Token** textbox",
  save: "Click on **Save**.",
};

/** shared/guides/shippable-integration.md, "## Resources that use this Integration". */
const RESOURCE_TYPES = ["gitRepo", "ciRepo", "syncRepo"];
/** "## Default Environment Variables". */
const NAME_IS = "`<NAME>` is the the friendly name of the Resource";
const VARIABLES = ["<NAME>_INTEGRATION_URL", "<NAME>_INTEGRATION_TOKEN"];
/** "...manually add this to your account integrations. This takes in Bitbucket APO `Token` value as input". */
const TOKEN_ONLY =
  "This takes in Bitbucket APO `Token` value as input and gives you whatever level of access as the token has";

/**
 * The token's permissions: the guide says only "with the right settings". What the Resources
 * above do with it: clone and read the repository (Repositories: Read), build its pull requests
 * (Pull requests: Read) and set Shippable's own webhook on it (Webhooks: Read and write).
 */
const TOKEN_NEEDS = ["repository", "pullrequest", "webhook"];

// ---- the setup under test ----------------------------------------------------------------------

const NAME = "bitbucket_cloud";
const TOKEN = "shp-T0ken/Value=";

const shippable = (options: Record<string, unknown> = {}, more: Record<string, unknown> = {}) =>
  walk(
    () =>
      new Integration("shippable", {
        preset: "shippable",
        workspace: "acme",
        options: { integrationName: NAME, token: TOKEN, ...options },
        reveal: reveal("shippable"),
        ...more,
      }),
  );

/**
 * The guide's steps. The token is made first: the guide's one step "Create ... and paste it" has
 * the operator leave the form for Bitbucket, so the instructions make it before the form opens.
 */
const steps = (id: string, name: string, variables: string[]): Step[] => [
  {
    guide: ADD_STEPS.token,
    words: ["Create a Bitbucket API token with the right settings", ...TOKEN_NEEDS.map(checkboxOf)],
  },
  {
    guide: ADD_STEPS.integrations,
    words: ["Integrations in the left sidebar menu", "'+' icon", "Account Integrations"],
  },
  { guide: ADD_STEPS.family, words: ["scm", "Integration family"] },
  { guide: ADD_STEPS.type, words: ["Bitbucket", "list of integration types"] },
  { guide: ADD_STEPS.name, words: ["name for your integration", name] },
  { guide: ADD_STEPS.token, words: ["Token", reveal(id)("token"), "Token textbox"] },
  { guide: ADD_STEPS.save, words: ["Save"] },
  {
    guide: `shippable-integration.md: ${RESOURCE_TYPES.join(", ")}; ${NAME_IS}`,
    words: [`(${RESOURCE_TYPES.join(", ")})`, `integration: ${name}`, ...variables],
  },
];

/** The variables a Resource's jobs receive: <NAME> its name in capitals (Shippable's variables are upper case), other characters as _. */
const variablesOf = (resource: string) =>
  VARIABLES.map((v) => v.replace("<NAME>", resource.toUpperCase().replace(/[^A-Z0-9]+/g, "_")));

describe("guide: Shippable on Bitbucket Cloud", () => {
  it("walks the guide's steps in order: the token, Integrations and the '+' icon, scm, Bitbucket, the friendly name, Token, Save", async () => {
    const w = await shippable({ resources: ["app_repo"] });
    walkSteps(w.outputs.instructions, steps("shippable", NAME, variablesOf("app_repo")));
  });

  it("names the jobs' variables after the Resources, not after the integration", async () => {
    const w = await shippable({ resources: ["app_repo", "web-ci"] });
    assert.deepEqual(w.outputs.environmentNames, [
      "APP_REPO_INTEGRATION_URL",
      "APP_REPO_INTEGRATION_TOKEN",
      "WEB_CI_INTEGRATION_URL",
      "WEB_CI_INTEGRATION_TOKEN",
    ]);
    assert.deepEqual(w.outputs.environmentNames, [...variablesOf("app_repo"), ...variablesOf("web-ci")]);
    assert.ok(
      !(w.outputs.environmentNames as string[]).some((n) => n.startsWith(NAME.toUpperCase())),
      "no variable is named after the integration",
    );
    assert.equal(w.outputs.integrationName, NAME);
  });

  it("without Resources, says what <NAME> is instead of guessing it", async () => {
    const w = await shippable();
    assert.deepEqual(w.outputs.environmentNames, []);
    const last = (w.outputs.instructions as string[]).at(-1)!;
    for (const v of VARIABLES) assert.ok(last.includes(v), `${v} in: ${last}`);
    assert.match(last, /<NAME> being the Resource's name/);
  });

  it("never inlines the token: it is a secret output the instructions reveal", async () => {
    const w = await shippable();
    assert.equal(w.outputs.token, TOKEN);
    assert.deepEqual(assertSecretsReferenced(w, "shippable", [TOKEN]), ["token"]);
  });

  describe("least privilege: one token, the permissions its Resources use", () => {
    it("suggests exactly Repositories Read, Pull requests Read and Webhooks for the token", async () => {
      const w = await shippable();
      assert.deepEqual([...(w.outputs.tokenScopes as string[])].sort(), [...TOKEN_NEEDS].sort());
      assert.deepEqual(
        [...closure(w.outputs.tokenScopes as string[])].sort(),
        [...closure(TOKEN_NEEDS)].sort(),
        "nothing a scope implies beyond what the Resources use",
      );
    });

    it("creates nothing in Bitbucket and requires no consumer scope: Shippable sets its own webhooks with the token", async () => {
      const w = await shippable({ resources: ["app_repo"] });
      assert.deepEqual(w.declared, []);
      assert.deepEqual(w.integration!.requiredScopes, []);
    });

    it(`refuses an OAuth consumer: the form takes a Token ("${TOKEN_ONLY}")`, async () => {
      const consumer = () =>
        new OAuthConsumer("c", {
          workspace: "acme",
          name: "Shippable",
          scopes: ["repository"],
          key: "k",
          secret: "s",
        });
      await assert.rejects(
        shippable({}, { consumer: consumer() }),
        /Shippable does not use an OAuth consumer/,
      );
    });

    it("refuses a webhook, a URL and repositories: the form has a name and a Token only", async () => {
      await assert.rejects(
        shippable({ webhookUrl: "https://shippable.example.test/hook" }),
        /webhookUrl: Shippable sets its own webhooks/,
      );
      await assert.rejects(
        shippable({ url: "https://api.bitbucket.org" }),
        /url: Shippable sets <NAME>_INTEGRATION_URL itself/,
      );
      await assert.rejects(
        shippable({}, { repositories: ["api"] }),
        /repositories: Shippable reaches the repositories its token can/,
      );
    });
  });

  it("follows the guide through the manifest: examples/shippable", async () => {
    const file = path.resolve(__dirname, "../../examples/shippable/bitbucket.yaml");
    const w = await walkManifest(file, "shippable");
    walkSteps(
      w.outputs.instructions,
      steps("shippable", NAME, [...variablesOf("api_repo"), ...variablesOf("web_repo")]),
    );
    const token = secretValue({ fromConfig: "shippableToken" });
    assert.deepEqual(assertSecretsReferenced(w, "shippable", [token]), ["token"]);
  });

  it("the example quotes only the guide's own words", () => {
    const guide = [...Object.values(ADD_STEPS), ...RESOURCE_TYPES, NAME_IS, ...VARIABLES, TOKEN_ONLY].join(
      "\n",
    );
    const text = fs.readFileSync(path.resolve(__dirname, "../../examples/shippable/bitbucket.yaml"), "utf8");
    for (const q of quotedInComments(text))
      assert.ok(guide.includes(q), `the example quotes words the guide does not say: "${q}"`);
  });
});
