// What the guide tests share: run an Integration (or a manifest) under Pulumi's mocks and collect
// what it declares and outputs; read a command the way a shell does; walk a guide's steps, in
// order, through the `instructions` output; and check no secret is inlined, each one being
// referenced by the `pulumi stack output --show-secrets` command that reveals it.
//
// The guides themselves are not read here (CI may not have ../shared): each test file quotes
// the guide's words it checks as data.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "shell-quote";
import type { Integration } from "../../provider";
import { mockRegistrations, unwrapSecrets, type Registrar } from "../../provider/cli/declared";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import { SECRET_OUTPUTS as TOKEN_SECRETS } from "../../provider/resources/access-token";
import { SECRET_OUTPUTS as CONSUMER_SECRETS } from "../../provider/resources/oauth-consumer";

/** One custom resource the program declared: its type (Webhook, AccessToken...), name and inputs. */
export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** What one integration ended up with: every output resolved, and whether it is secret. */
export interface Walked {
  outputs: Record<string, unknown>;
  secret: Record<string, boolean>;
  declared: Declared[];
  /** The integration itself (walk only). */
  integration?: Integration;
}

/** What the mocked Bitbucket answers for the children presets make. */
export const ANSWERS = {
  token: "BBDC-Tok3n+Value/=",
  sshKeyOwner: "pipelines-owner",
  fingerprint: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
};

/** The outputs the engine marks secret (each resource's additionalSecretOutputs), which mocks do not. */
const ENGINE_SECRETS: Record<string, string[]> = {
  AccessToken: TOKEN_SECRETS,
  OAuthConsumer: CONSUMER_SECRETS,
};

/** Records each registration in `declared` and answers it as ANSWERS says, secret outputs as secrets. */
const answer =
  (declared: Declared[]): Registrar =>
  async (type, name, raw) => {
    const inputs = unwrapSecrets(raw) as Record<string, unknown>;
    declared.push({ type, name, inputs });
    const state: Record<string, unknown> = {
      ...inputs,
      // The provider's check defaults `private` to true; mocks skip the check.
      ...(type === "OAuthConsumer" && { grantedScopes: inputs.scopes, private: inputs.private !== false }),
      ...(type === "AccessToken" && { token: ANSWERS.token, tokenId: "1" }),
      ...(type === "SshKey" && { owner: ANSWERS.sshKeyOwner, fingerprint: ANSWERS.fingerprint }),
    };
    for (const k of ENGINE_SECRETS[type] ?? [])
      if (state[k] !== undefined) state[k] = pulumi.secret(state[k]);
    return { id: `${name}-id`, state };
  };

export const value = <T>(o: pulumi.Output<T> | unknown) => (o as { promise(): Promise<T> }).promise();
export const isSecret = (o: pulumi.Output<unknown> | unknown) =>
  (o as { isSecret: Promise<boolean> }).isSecret;

/**
 * Runs `program` under mocks: an OAuth consumer is granted what it declares, an access token
 * answers ANSWERS.token, an SSH key belongs to ANSWERS.sshKeyOwner. Resolves once the
 * integration is ready and every output resolved; rejects with the first failure (the
 * Integration's own check, or its consumer gate).
 */
export async function walk(program: () => Integration): Promise<Walked> {
  const declared: Declared[] = [];
  const registrations = await mockRegistrations("guides", answer(declared));
  const integration = program();
  return { ...(await collect(integration.ready, integration.outputs, declared, registrations)), integration };
}

/** Resolves `outputs` (after `ready`), then waits for registrations still under way. */
export async function collect(
  ready: pulumi.Output<boolean> | undefined,
  outputs: Record<string, pulumi.Output<unknown>>,
  declared: Declared[],
  registrations: { settled(limitMs: number): Promise<void> },
): Promise<Walked> {
  if (ready) await value(ready);
  const entries = Object.entries(outputs);
  const values = await Promise.all(entries.map(([, o]) => value(o)));
  const secrets = await Promise.all(entries.map(([, o]) => isSecret(o)));
  await registrations.settled(5_000);
  return {
    outputs: Object.fromEntries(entries.map(([k], i) => [k, values[i]])),
    secret: Object.fromEntries(entries.map(([k], i) => [k, secrets[i]!])),
    declared,
  };
}

// ---- commands ----------------------------------------------------------------------------------

/** The argv a shell reads from `command` (shell-quote's parser); fails on any operator, glob or comment. */
export function argv(command: string, env: Record<string, string> = {}): string[] {
  return parse(command, (k) => env[k] ?? "").map((t) => {
    assert.equal(typeof t, "string", `the shell reads ${JSON.stringify(t)} in ${JSON.stringify(command)}`);
    return t as string;
  });
}

/** A `platform` command line: its subcommand, positional arguments, and flags in order. */
export interface Cli {
  program: string;
  subcommand: string;
  args: string[];
  flags: Array<[name: string, value: string]>;
}

/**
 * Reads argv as a CLI does: `--name=value` or `--name value` (every flag the guides name takes a
 * value), anything else positional.
 */
export function cli(words: string[]): Cli {
  const [program = "", subcommand = "", ...rest] = words;
  const args: string[] = [];
  const flags: Array<[string, string]> = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (!w.startsWith("--")) {
      args.push(w);
    } else if (w.includes("=")) {
      flags.push([w.slice(2, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]);
    } else {
      flags.push([w.slice(2), rest[++i] ?? ""]);
    }
  }
  return { program, subcommand, args, flags };
}

/**
 * A guide's command as its page writes it (placeholders like `<USER>/<REPOSITORY>`, not shell),
 * with each placeholder replaced by the value it stands for.
 */
export function guideCli(command: string, values: Record<string, string>): Cli {
  const words = command
    .trim()
    .split(/\s+/)
    .map((w) => w.replace(/<[A-Z_]+>/g, (p) => values[p] ?? assert.fail(`no value for ${p} in ${command}`)));
  return cli(words);
}

// ---- instructions ------------------------------------------------------------------------------

/** One step of a guide: what the guide says (for messages) and the words a line must name, in order. */
export interface Step {
  guide: string;
  words: string[];
}

/**
 * Walks `steps` through `instructions`: the lines are numbered 1., 2., ...; each step is found in
 * one line, at or after the previous step's (a step may share its line with the one before),
 * naming its words in order; and every line is some step of the guide. Returns each step's line.
 */
export function walkSteps(instructions: unknown, steps: Step[]): number[] {
  assert.ok(
    Array.isArray(instructions) && instructions.every((l) => typeof l === "string"),
    "instructions is a list of lines",
  );
  const lines = instructions as string[];
  lines.forEach((l, i) => assert.ok(l.startsWith(`${i + 1}. `), `line ${i + 1} is numbered: ${l}`));
  const shown = () => lines.map((l) => `    ${l}`).join("\n");
  let at = { line: 0, offset: 0 };
  const found: number[] = [];
  for (const step of steps) {
    let hit: { line: number; offset: number } | undefined;
    for (let li = at.line; li < lines.length && !hit; li++) {
      let offset = li === at.line ? at.offset : 0;
      const line = lines[li]!;
      const all = step.words.every((w) => {
        const k = line.indexOf(w, offset);
        if (k < 0) return false;
        offset = k + w.length;
        return true;
      });
      if (all) hit = { line: li, offset };
    }
    assert.ok(
      hit,
      `the guide's step "${step.guide}" is not in the instructions (after line ${at.line + 1}), naming ${step.words.map((w) => JSON.stringify(w)).join(", ")} in order:\n${shown()}`,
    );
    at = hit;
    found.push(hit.line);
  }
  lines.forEach((l, i) =>
    assert.ok(found.includes(i), `line ${i + 1} is no step of the guide: ${l}\n${shown()}`),
  );
  return found;
}

// ---- secrets -----------------------------------------------------------------------------------

/** The manifest's reveal command for an integration's output (provider/manifest/expand.ts revealCommand). */
export const reveal = (id: string) => (output: string) =>
  `pulumi stack output --show-secrets --json integrations | jq -r '.["${id}"].${output}'`;

/** The outputs `text` reveals with `reveal(id)`, in order of appearance. */
export function revealed(text: string, id: string): string[] {
  const [marker = ""] = reveal(id)("\0").split("\0");
  const names: string[] = [];
  for (let k = text.indexOf(marker); k >= 0; k = text.indexOf(marker, k + 1)) {
    names.push(/^[A-Za-z0-9_]*/.exec(text.slice(k + marker.length))![0]);
  }
  return names;
}

/**
 * No secret is inlined: `instructions` is a plain (not secret) output, and no plain output holds
 * any of `secretValues`. Each secret output is referenced by its reveal command in the
 * instructions, and every reveal command names a secret output. Returns the secret outputs.
 */
export function assertSecretsReferenced(w: Walked, id: string, secretValues: string[]): string[] {
  assert.equal(w.secret.instructions, false, "instructions is not a secret output");
  for (const [k, v] of Object.entries(w.outputs)) {
    if (w.secret[k]) continue;
    const text = JSON.stringify(v);
    for (const s of secretValues) assert.ok(!text.includes(s), `plain output ${k} holds a secret value`);
  }
  const secretOutputs = Object.keys(w.outputs)
    .filter((k) => w.secret[k])
    .sort();
  const named = [...new Set(revealed((w.outputs.instructions as string[]).join("\n"), id))].sort();
  assert.deepEqual(named, secretOutputs, "the instructions reveal exactly the secret outputs");
  return secretOutputs;
}

// ---- the manifest path -------------------------------------------------------------------------

/** Repositories a manifest's selectors see. */
const REPOS = [{ slug: "api" }, { slug: "web" }];

/** The value a manifest's secret reference resolves to here: its name, marked. */
export const secretValue = (ref: { fromConfig: string } | { fromEnv: string }) =>
  `secret-of-${"fromConfig" in ref ? ref.fromConfig : ref.fromEnv}`;

/**
 * Loads `file` and runs its program under mocks, as `pulumi up` would (each secret reference
 * resolves to secretValue(ref), with `env` set meanwhile); returns integration `id`'s outputs.
 */
export async function walkManifest(
  file: string,
  id: string,
  env: Record<string, string> = {},
): Promise<Walked> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const declared: Declared[] = [];
    const registrations = await mockRegistrations("guides", answer(declared));
    const { outputs } = await deployManifest(loadManifest(file), () => REPOS, {
      secret: (ref) => pulumi.secret(secretValue(ref)),
    });
    const integrations = outputs.integrations as Record<string, Record<string, pulumi.Output<unknown>>>;
    assert.ok(integrations[id], `the manifest declares integration ${id}`);
    return await collect(undefined, integrations[id], declared, registrations);
  } finally {
    process.env = saved;
  }
}

/** The double-quoted words in a YAML file's comments (what an example says a guide says). */
export function quotedInComments(text: string): string[] {
  return text
    .split("\n")
    .map((l) => /(^|\s)#(.*)$/.exec(l)?.[2] ?? "")
    .flatMap((c) => [...c.matchAll(/"([^"]+)"/g)].map((m) => m[1]!));
}
