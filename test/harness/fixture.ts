// Shared test setup: an emulator seeded with workspace "acme" (repositories api, web) and
// a harness whose host talks to it, with retries fast enough for tests.

import * as pulumi from "@pulumi/pulumi";
import {
  AccessToken,
  DeployKey,
  OAuthConsumer,
  PipelineKnownHost,
  PipelineSshKeyPair,
  PipelineVariable,
  SshKey,
  Webhook,
} from "../../provider";
import { ed25519 } from "../keys";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES, type Seed } from "../emulator/store";
import { captureProviders, Harness, type HarnessOptions } from "./engine";
import { keep, take } from "./pool";

export const TOKEN = "test-token-3f9a";

export const DEFAULT_SEED: Seed = {
  workspaces: { acme: ["api", "web"] },
  projects: { acme: ["PROJ"] },
  tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
};

/** Fast retries: the policy is the same, the waits are short. */
export const FAST_RETRIES = {
  BITBUCKET_RETRY_BASE_DELAY_MS: "5",
  BITBUCKET_RETRY_MAX_DELAY_MS: "50",
  BITBUCKET_RATE_LIMIT_MIN_DELAY_MS: "10",
  BITBUCKET_TIMEOUT_MS: "2000",
};

let captured: Promise<Record<string, string>> | undefined;

/** The serialized provider of every resource class, captured once per test process. */
export function providers(): Promise<Record<string, string>> {
  const k = ed25519();
  const where = { workspace: "acme", repository: "api" };
  captured ??= captureProviders(() => [
    new Webhook("capture", { ...where, url: "https://hooks.example.test/x", events: ["repo:push"] }),
    new DeployKey("capture", { ...where, key: k.publicLine }),
    new SshKey("capture", { key: k.publicLine }),
    new PipelineVariable("capture", { ...where, key: "K", value: "v" }),
    new PipelineSshKeyPair("capture", { ...where, privateKey: k.privatePem, publicKey: k.publicLine }),
    new PipelineKnownHost("capture", { ...where, hostname: "deploy.example.test", publicKey: k.publicLine }),
    new OAuthConsumer("capture", { workspace: "acme", name: "c", scopes: [], key: "k", secret: "s" }),
    new AccessToken("capture", { project: "PROJ", name: "t", permissions: ["REPO_READ"] }),
  ]).then((c) => c.providers);
  return captured;
}

/**
 * The large-stack shape of the scale bench and the issue-10 tests: repositories svc-0..svc-N-1,
 * each with 2 webhooks and 2 plain pipeline variables, declared through `svc-*` globs.
 */
export const SCALE_MANIFEST = `version: 1
workspace: acme
webhooks:
  - { repositories: "svc-*", url: "https://ci.example.test/push", events: [repo:push] }
  - { repositories: "svc-*", url: "https://ci.example.test/pr", events: [pullrequest:created] }
pipelineVariables:
  - { repositories: "svc-*", key: REGION, value: eu-west-1, secured: false }
  - { repositories: "svc-*", key: STAGE, value: prod, secured: false }
`;
export const SCALE_PER_REPO = 4;

export const scaleSeed = (repos: number): Seed => ({
  workspaces: { acme: Array.from({ length: repos }, (_, i) => `svc-${i}`) },
  tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
});

export interface Fixture {
  emulator: Emulator;
  harness: Harness;
  close(): Promise<void>;
}

/** An emulator and a host configured (through Configure, as stack config does) to use it. */
export function fixture(seed: Seed = DEFAULT_SEED, opts: HarnessOptions = {}): Promise<Fixture> {
  return start("cloud", seed, opts, (emulator) => ({
    "bitbucket:apiUrl": emulator.apiUrl,
    "bitbucket:token": TOKEN,
    "bitbucket:oauthTokenUrl": `${emulator.url}/site/oauth2/access_token`,
  }));
}

/** A Data Center server: project PROJ (repositories api, web), user "me" and "ci-bot". */
export const DC_SEED: Seed = {
  dc: { projects: { PROJ: ["api", "web"] }, users: ["ci-bot"] },
  tokens: { [TOKEN]: { scopes: [] } },
};

/** An emulator and a host whose connection is Data Center (flavor, server root URL, Bearer token). */
export function dcFixture(seed: Seed = DC_SEED, opts: HarnessOptions = {}): Promise<Fixture> {
  return start("datacenter", seed, opts, (emulator) => ({
    "bitbucket:flavor": "datacenter",
    "bitbucket:apiUrl": emulator.dcUrl,
    "bitbucket:token": TOKEN,
  }));
}

/** An emulator and its host, shared by the leases of the tests that have them one after another. */
interface Kept {
  emulator: Emulator;
  harness: Harness;
  end(): Promise<void>;
}

/**
 * An emulator of `seed` and a host configured for it: the ones a test closed with the same flavor,
 * config and directory when there are (reset to `seed`, a new run in the host with this test's
 * environment), else new ones.
 */
async function start(
  flavor: string,
  seed: Seed,
  opts: HarnessOptions,
  connection: (emulator: Emulator) => Record<string, string>,
): Promise<Fixture> {
  // The environment is not part of the key: a kept host starts the next test's run with its own.
  const key = JSON.stringify([flavor, opts.config, opts.cwd]);
  const env = { ...FAST_RETRIES, ...opts.env };
  let kept = take<Kept>(key);
  if (kept && !kept.harness.reusable()) {
    // Its host exited while it waited (killed from outside): a new one instead.
    await kept.end();
    kept = undefined;
  }
  if (kept) {
    kept.emulator.reset(seed);
    await kept.harness.reuse(env);
  } else {
    const emulator = await startEmulator(seed);
    const harness = await Harness.start(await providers(), {
      config: { ...connection(emulator), ...opts.config },
      env,
      cwd: opts.cwd,
    });
    kept = {
      emulator,
      harness,
      end: async () => {
        harness.close();
        await emulator.close();
      },
    };
  }
  const { emulator, harness } = kept;
  let closed = false;
  return {
    emulator,
    harness,
    close: async () => {
      if (closed) return;
      closed = true;
      if (harness.reusable()) keep(key, kept, opts.cwd === undefined);
      else await kept.end();
    },
  };
}

export { pulumi };
