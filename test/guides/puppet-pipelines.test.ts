// Puppet Pipelines' guide "Integrate Bitbucket", walked as a checklist against the
// `puppet-pipelines` preset on each flavor. Cloud: Pipelines connects with its own OAuth app and
// posts its own webhooks, so the preset asks for no consumer and makes no hook; the Bitbucket side
// is the SSH key on the account. Server: the form's Host, Username, Password and SSH Port, the
// password being a personal HTTP access token the preset makes.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Integration, OAuthConsumer } from "../../provider";
import {
  ANSWERS,
  assertSecretsReferenced,
  quotedInComments,
  reveal,
  walk,
  walkManifest,
  walkSteps,
  type Step,
} from "./walk";

// ---- the guide, quoted -------------------------------------------------------------------------
// shared/guides/puppet-pipelines.md ("Integrate Bitbucket")

/** "## Integrate with Bitbucket": the steps, and the words of each a line must name. */
const CLOUD_STEPS: Array<[guide: string, words: string[]]> = [
  ["Click **Integrations**.", ["Integrations"]],
  [
    "Click **Connect Bitbucket** to open Bitbucket's authorization page in a new browser tab.",
    ["Connect Bitbucket", "Bitbucket's authorization page", "new browser tab"],
  ],
  ["Click **Grant access**.", ["Grant access"]],
  ["In Pipelines, click **Integrations**.", ["Integrations"]],
  ["Copy the SSH key.", ["Copy the SSH key"]],
  [
    "On the Bitbucket website, go to **Bitbucket settings** and add the SSH key to your Bitbucket account.",
    ["the SSH key to your Bitbucket account"],
  ],
];

/** "### Pipelines Bitbucket Permissions": what Bitbucket asks the user at Grant access (Type, Access). */
const PIPELINES_PERMISSIONS: Array<[type: string, access: string, purpose: string]> = [
  ["Account", "Write", "Needed to post ssh keys."],
  ["Team Membership", "Read", "For future integrations."],
  ["Repositories", "Write", "Needed for ssh access to repositories."],
  ["Pull Requests", "Write", "For future integrations."],
  ["Issues and Snippets", "Read", "For future integrations."],
  ["Wikis", "Write", "For future integrations."],
  ["Webhooks", "Read and Write", "To post and delete webhooks."],
];

/** "### Integrate with Bitbucket Server": the steps, in order. */
const SERVER_STEPS = [
  "In the Pipelines web UI click the <b>gear</b> icon at the top right.",
  "Click the <b>Integrations</b> link on the left.",
  "Click the <b>Bitbucket Server</b> button.",
  "Enter your Bitbucket Server <b>Host</b>.",
  "Enter the Bitbucket Server <b>Username</b>.",
  "Enter the Bitbucket Server <b>Password</b>.",
  "Enter the <b>SSH Port</b>.",
  "Click the <b>Add Credentials</b> button.",
];
const DEFAULT_SSH_PORT = "The default SSH Port is <b>22</b>.";

/** The words a step shows in bold: the screen, link, button or field it names. */
const bold = (step: string) => [...step.matchAll(/<b>(.+?)<\/b>|\*\*(.+?)\*\*/g)].map((m) => m[1] ?? m[2]!);

// ---- the setup under test ----------------------------------------------------------------------

const PUBLIC_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIihzfTZjBGidcZAPW8/r4bH2csyjxXyZ0YIpH2dxn+e pipelines@puppet";

const cloud = (options: Record<string, unknown> = {}, more: Record<string, unknown> = {}) =>
  walk(
    () =>
      new Integration("puppet", {
        preset: "puppet-pipelines",
        workspace: "acme",
        options,
        reveal: reveal("puppet"),
        ...more,
      }),
  );

const SERVER_URL = "https://bitbucket.example.com:8443/bitbucket";
const server = (options: Record<string, unknown> = {}, more: Record<string, unknown> = {}) =>
  walk(
    () =>
      new Integration("puppet", {
        preset: "puppet-pipelines",
        flavor: "datacenter",
        project: "PROJ",
        options: { username: "ci-bot", url: `${SERVER_URL}/`, ...options },
        reveal: reveal("puppet"),
        ...more,
      }),
  );

const cloudSteps = (): Step[] => CLOUD_STEPS.map(([guide, words]) => ({ guide, words }));

const serverSteps = (v: { host: string; username: string; sshPort: number }): Step[] =>
  SERVER_STEPS.map((guide) => {
    const [field] = bold(guide);
    const filled: Record<string, string[]> = {
      Host: [`Host: ${v.host}`],
      Username: [`Username: ${v.username}`],
      Password: ["Password", reveal("puppet")("password")],
      "SSH Port": [`SSH Port: ${v.sshPort}`],
    };
    return { guide, words: filled[field!] ?? bold(guide) };
  });

const consumer = () =>
  new OAuthConsumer("puppet-consumer", {
    workspace: "acme",
    name: "Puppet Pipelines",
    scopes: [
      "account:write",
      "team",
      "repository:write",
      "pullrequest:write",
      "issue",
      "snippet",
      "wiki",
      "webhook",
    ],
    key: "k",
    secret: "s",
  });

describe("guide: Puppet Pipelines on Bitbucket Cloud", () => {
  it("walks the guide's six steps in order: Integrations, Connect Bitbucket, Grant access, Integrations, copy the SSH key, add it", async () => {
    const w = await cloud();
    walkSteps(w.outputs.instructions, cloudSteps());
    assert.equal((w.outputs.instructions as string[]).length, CLOUD_STEPS.length);
    assert.match(
      (w.outputs.instructions as string[])[5]!,
      /set it as options\.sshPublicKey of integration puppet and run `pulumi up` again/,
    );
  });

  it("adds the SSH key Pipelines shows to the account when it is given, and says whose account grants access", async () => {
    const w = await cloud({ sshPublicKey: PUBLIC_KEY });
    walkSteps(w.outputs.instructions, cloudSteps());
    const lines = w.outputs.instructions as string[];
    // The account is the one the stack signs in as: named so, not by its uuid, which nobody recognises.
    assert.match(
      lines[2]!,
      /Grant access, signed in to Bitbucket as the account this stack's credentials belong to/,
    );
    assert.ok(!lines[2]!.includes(ANSWERS.sshKeyOwner), "no account uuid in the step");
    assert.match(
      lines[5]!,
      new RegExp(`done by this stack \\(${ANSWERS.fingerprint}, label "Puppet Pipelines"`),
    );
    assert.equal(w.outputs.sshKeyFingerprint, ANSWERS.fingerprint);
  });

  it("lists the guide's Pipelines Bitbucket Permissions at Grant access, as what Bitbucket asks for", async () => {
    const w = await cloud();
    const grant = (w.outputs.instructions as string[])[2]!.toLowerCase();
    let at = grant.indexOf("grant access");
    for (const [type, access] of PIPELINES_PERMISSIONS) {
      const k = grant.indexOf(`${type}: ${access}`.toLowerCase(), at);
      assert.ok(k > at, `Grant access lists ${type}: ${access}, in the guide's order: ${grant}`);
      at = k;
    }
  });

  it("has no secret to hand over: nothing is revealed, nothing is secret", async () => {
    const w = await cloud({ sshPublicKey: PUBLIC_KEY });
    assert.deepEqual(assertSecretsReferenced(w, "puppet", []), []);
  });

  describe("least privilege: Pipelines brings its own OAuth app and webhooks", () => {
    it("refuses an OAuth consumer: Pipelines connects with its own (Connect Bitbucket, Grant access)", async () => {
      await assert.rejects(
        cloud({}, { consumer: consumer() }),
        /consumer: Puppet Pipelines does not use an OAuth consumer \(Pipelines connects with its own OAuth app: Integrations > Connect Bitbucket > Grant access\); remove it/,
      );
    });

    it("requires no scope of the stack's consumer", async () => {
      assert.deepEqual((await cloud()).integration!.requiredScopes, []);
    });

    it("refuses webhook options: Pipelines posts its own webhooks", async () => {
      for (const option of ["webhookUrl", "events", "webhookSecret"]) {
        const v = option === "events" ? ["repo:push"] : "https://pipelines.example.test/hook";
        await assert.rejects(
          cloud({ [option]: v }),
          new RegExp(`${option}: Puppet Pipelines posts its own webhooks`),
        );
      }
    });

    it("refuses repositories: Pipelines reaches what the granting account can", async () => {
      await assert.rejects(
        cloud({}, { repositories: ["api"] }),
        /repositories: Pipelines reaches every repository/,
      );
    });

    it("declares the SSH key on the account and nothing else (no consumer, no webhook)", async () => {
      assert.deepEqual((await cloud()).declared, []);
      const w = await cloud({ sshPublicKey: PUBLIC_KEY, sshKeyLabel: "Pipelines" });
      assert.deepEqual(
        w.declared.map((d) => [d.type, d.inputs.key, d.inputs.label]),
        [["SshKey", PUBLIC_KEY, "Pipelines"]],
      );
      assert.equal(w.declared[0]!.inputs.user, undefined, "the key goes on the credentials' own account");
    });
  });

  it("follows the guide through the manifest: examples/puppet-pipelines", async () => {
    const file = path.resolve(__dirname, "../../examples/puppet-pipelines/bitbucket.yaml");
    const w = await walkManifest(file, "puppet");
    walkSteps(w.outputs.instructions, cloudSteps());
    // The example ships no key (Pipelines shows it only after Grant access): nothing is declared,
    // and the last step says where the key goes.
    assert.deepEqual(w.declared, []);
    assert.match(
      (w.outputs.instructions as string[]).at(-1)!,
      /set it as options\.sshPublicKey of integration puppet/,
    );
    assert.deepEqual(assertSecretsReferenced(w, "puppet", []), []);
  });

  it("the example quotes only the guide's own words", () => {
    const guide = [...CLOUD_STEPS.map(([g]) => g), ...PIPELINES_PERMISSIONS.flat(), ...SERVER_STEPS].join(
      "\n",
    );
    for (const example of ["puppet-pipelines", "datacenter"]) {
      const text = fs.readFileSync(
        path.resolve(__dirname, `../../examples/${example}/bitbucket.yaml`),
        "utf8",
      );
      for (const q of quotedInComments(text).filter((q) => !/platform/i.test(q))) {
        assert.ok(guide.includes(q), `examples/${example} quotes words the guide does not say: "${q}"`);
      }
    }
  });
});

describe("guide: Puppet Pipelines on Bitbucket Server", () => {
  it("walks the form in order: gear icon, Integrations, Bitbucket Server, Host, Username, Password, SSH Port, Add Credentials", async () => {
    const w = await server();
    walkSteps(w.outputs.instructions, serverSteps({ host: SERVER_URL, username: "ci-bot", sshPort: 22 }));
    assert.equal((w.outputs.instructions as string[]).length, SERVER_STEPS.length);
  });

  it("outputs the form's values: the host with its port and path, the username, the token as password, SSH port 22 by default", async () => {
    assert.match(DEFAULT_SSH_PORT, /<b>22<\/b>/);
    const w = await server();
    assert.deepEqual(
      {
        host: w.outputs.host,
        username: w.outputs.username,
        password: w.outputs.password,
        sshPort: w.outputs.sshPort,
      },
      { host: SERVER_URL, username: "ci-bot", password: ANSWERS.token, sshPort: 22 },
    );
    assert.equal(w.secret.password, true, "the password is a secret output");
  });

  it("outputs the SSH port and host the options give", async () => {
    const w = await server({ sshPort: 7999, host: "https://git.example.com/bb" });
    assert.equal(w.outputs.sshPort, 7999);
    assert.equal(w.outputs.host, "https://git.example.com/bb");
    walkSteps(
      w.outputs.instructions,
      serverSteps({ host: "https://git.example.com/bb", username: "ci-bot", sshPort: 7999 }),
    );
  });

  it("takes the host from bitbucket:apiUrl when neither host nor url is set", async () => {
    const saved = process.env.BITBUCKET_API_URL;
    process.env.BITBUCKET_API_URL = "http://bitbucket.internal:7990/context/";
    try {
      const w = await server({ url: undefined });
      assert.equal(w.outputs.host, "http://bitbucket.internal:7990/context");
    } finally {
      if (saved === undefined) delete process.env.BITBUCKET_API_URL;
      else process.env.BITBUCKET_API_URL = saved;
    }
  });

  it("never inlines the password: the instructions reveal it", async () => {
    const w = await server();
    assert.deepEqual(assertSecretsReferenced(w, "puppet", [ANSWERS.token]), ["password"]);
  });

  describe("least privilege: one token that reads repositories and manages their hooks", () => {
    it("makes one personal HTTP access token of username with PROJECT_READ and REPO_ADMIN, and nothing else", async () => {
      const w = await server();
      assert.deepEqual(
        w.declared.map((d) => d.type),
        ["AccessToken"],
      );
      const token = w.declared[0]!.inputs;
      assert.deepEqual([...(token.permissions as string[])].sort(), ["PROJECT_READ", "REPO_ADMIN"]);
      assert.equal(token.user, "ci-bot");
      assert.equal(token.project, undefined);
      assert.equal(token.repository, undefined);
      assert.deepEqual(w.integration!.requiredScopes, [], "no OAuth scope: Server has no consumer");
    });

    it("refuses an SSH key and webhook options: the Server form asks for none", async () => {
      for (const [option, v, said] of [
        ["sshPublicKey", PUBLIC_KEY, "the Bitbucket Server guide adds no SSH key"],
        ["webhookUrl", "https://pipelines.example.test/hook", "Puppet Pipelines posts its own webhooks"],
      ] as const) {
        await assert.rejects(server({ [option]: v }), new RegExp(`${option}: ${said}`));
      }
    });

    it("refuses repositories: Pipelines reaches what username can", async () => {
      await assert.rejects(
        server({}, { repositories: ["api"] }),
        /repositories: Pipelines signs in as username/,
      );
    });
  });

  it("follows the guide through the manifest: examples/datacenter", async () => {
    const file = path.resolve(__dirname, "../../examples/datacenter/bitbucket.yaml");
    const w = await walkManifest(file, "puppet", {
      BITBUCKET_FLAVOR: "datacenter",
      BITBUCKET_API_URL: SERVER_URL,
    });
    walkSteps(w.outputs.instructions, serverSteps({ host: SERVER_URL, username: "ci-bot", sshPort: 22 }));
    assert.deepEqual(assertSecretsReferenced(w, "puppet", [ANSWERS.token]), ["password"]);
    assert.ok(
      (w.outputs.instructions as string[]).some((l) =>
        l.includes(
          "`pulumi stack output --show-secrets --json integrations | jq -r '.[\"puppet\"].password'`",
        ),
      ),
    );
  });
});
