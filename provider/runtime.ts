// What every serialized provider loads when it runs. State holds only a small shim per resource
// (provider/resources/shim.ts) naming its type; the shim requires "bitbucket-iac/runtime" from
// the Pulumi project, so read, update and delete of resources made by earlier versions run the
// code installed now (fixes reach them; every resource's outputs carry a schemaVersion).

import type * as pulumi from "@pulumi/pulumi";
import { loadSettings } from "./api/auth";
import { createLimiter, type Limiter } from "./api/limiter";
import { processWide } from "./api/shared";
import { accessTokenProvider } from "./resources/access-token";
import { deployKeyProvider } from "./resources/deploy-key";
import { oauthConsumerProvider } from "./resources/oauth-consumer";
import { pipelineKnownHostProvider } from "./resources/pipeline-known-host";
import { pipelineSshKeyPairProvider } from "./resources/pipeline-ssh-key-pair";
import { pipelineVariableProvider } from "./resources/pipeline-variable";
import { sshKeyProvider } from "./resources/ssh-key";
import { webhookProvider } from "./resources/webhook";

/**
 * The shape of the state this version writes, output as `schemaVersion` by every resource.
 * 1 (absent): 0.1 state, the whole provider serialized into it. 2: the shim; `adopted`.
 * Every provider reads, updates and deletes state of every earlier shape.
 */
export const SCHEMA_VERSION = 2;

type Provider = pulumi.dynamic.ResourceProvider;

/** Stamps the outputs a provider returns with SCHEMA_VERSION. */
function versioned(p: Provider): Provider {
  const stamp = <T extends object | undefined>(o: T) => ({ ...o, schemaVersion: SCHEMA_VERSION });
  return {
    ...p,
    create: async (inputs) => {
      const r = await p.create(inputs);
      return { ...r, outs: stamp(r.outs) };
    },
    update: async (id, olds, news) => {
      const r = (await p.update?.(id, olds, news)) ?? {};
      return { ...r, outs: stamp(r.outs) };
    },
    read: async (id, props) => {
      const r = (await p.read?.(id, props)) ?? {};
      return r.id ? { ...r, props: stamp(r.props) } : r;
    },
  };
}

/**
 * Holds a resource of `type` to the policy (manifest/enforce.ts): its check takes the `policy`
 * input out, checks the rest, and, when that passes, fails on each rule the checked inputs break
 * at level `error`. The inputs it returns never hold `policy`: state stays as it was, and a
 * changed policy is no diff (it changes nothing in Bitbucket).
 */
function enforced(type: string, p: Provider): Provider {
  return {
    ...p,
    check: async (olds, news) => {
      const { policy, ...rest } = news as Record<string, unknown>;
      const r = p.check ? await p.check(olds, rest) : { inputs: rest };
      const { policy: _, ...inputs } = (r.inputs ?? rest) as Record<string, unknown>;
      if (r.failures?.length) return { inputs, failures: r.failures };
      // The policy's code (the kinds, the manifest's schema) loads at the first check: a refresh or
      // a destroy, which never check, start their hosts without it.
      const { policyFailures } = await import("./manifest/enforce");
      const failures = policyFailures(type, inputs, policy);
      return { inputs, failures };
    },
  };
}

/**
 * Operations that call Bitbucket (create, read, update, delete) let in at once: `pulumi up` sends
 * every resource's at once, and each request waits its turn in the connection's limiter
 * (`bitbucket:concurrency`, 8) anyway. One held at this door holds only its call; one let in holds
 * its whole chain (lookups, request, retries) while it waits, about a third of what a waiting
 * operation costs the host in memory. Eight per request slot keep the limiter fed (an operation
 * makes one or two requests, and shares listings).
 */
const OPERATIONS_PER_REQUEST_SLOT = 8;

function door(): Limiter {
  let concurrency = 8;
  try {
    concurrency = loadSettings().concurrency;
  } catch {
    // a malformed setting: the operation itself says so
  }
  const slot = processWide<{ door?: Limiter }>("operations", () => ({}));
  const max = concurrency * OPERATIONS_PER_REQUEST_SLOT;
  if (slot.door?.max !== max) slot.door = createLimiter(max); // as the connection's limiter does
  return slot.door;
}

/** Lets `p`'s operations that call Bitbucket through the door, in the order they came. */
function admitted(p: Provider): Provider {
  return {
    ...p,
    create: (inputs) => door().run(() => p.create(inputs)),
    read: p.read && ((id, props) => door().run(() => p.read!(id, props))),
    update: p.update && ((id, olds, news) => door().run(() => p.update!(id, olds, news))),
    delete: p.delete && ((id, props) => door().run(() => p.delete!(id, props))),
  };
}

const PROVIDERS: Record<string, Provider> = Object.fromEntries(
  Object.entries({
    Webhook: webhookProvider,
    DeployKey: deployKeyProvider,
    SshKey: sshKeyProvider,
    PipelineVariable: pipelineVariableProvider,
    PipelineSshKeyPair: pipelineSshKeyPairProvider,
    PipelineKnownHost: pipelineKnownHostProvider,
    OAuthConsumer: oauthConsumerProvider,
    AccessToken: accessTokenProvider,
  }).map(([type, p]) => [type, enforced(type, admitted(versioned(p)))]),
);

/** The implementation of a resource type, for the shim in state. */
export function provider(type: string): pulumi.dynamic.ResourceProvider {
  const p = PROVIDERS[type];
  if (p === undefined) {
    throw new Error(
      `the installed bitbucket-iac has no provider for ${type} (types: ${Object.keys(PROVIDERS).join(", ")}); install the version this stack was made with or newer`,
    );
  }
  return p;
}
