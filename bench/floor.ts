// The floor of the scale bench (bench/scale.ts): what a plain dynamic provider costs when the
// Pulumi SDK runs it today, through the same engine harness, for the same stack shape.
//
// The provider makes no HTTP request: create returns an id (the resource's name) and its inputs
// as outputs, read returns the properties it is given, diff says nothing changed, delete does
// nothing. One provider object for both types, declared the way a user writes a dynamic provider
// (module "bitbucket", types "Webhook" and "PipelineVariable": the same type names as ours), so the
// SDK serializes it once per program run, as it does our shims.
//
// The program declares what SCALE_MANIFEST declares for repositories svc-0..svc-N-1 (2 webhooks
// and 2 plain pipeline variables each: 4N resources), with the same Pulumi names and the same
// inputs as ours sends to check (workspace, repository, url, events / key, value, secured, and
// resourceName). It does not list the workspace (no HTTP anywhere), has no policy transformation
// and no secret outputs: it is the plain program. It never touches Error.stackTraceLimit: it stands
// for "a plain dynamic provider as the SDK runs it today", stack trace per tracked promise included.
//
// `floorProviders()` serializes the provider as the engine stores it (captureProviders in
// test/harness/engine.ts), so the dynamic-provider host really deserializes and runs it.

import * as pulumi from "@pulumi/pulumi";
import { captureProviders } from "../test/harness/engine";

/** The trivial provider: no HTTP, no state of its own. Serialized by value into every resource. */
const floorProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: String(inputs.resourceName), outs: inputs };
  },
  async read(id, props) {
    return { id, props };
  },
  async diff() {
    return { changes: false };
  },
  async delete() {},
};

interface WebhookProps {
  workspace: string;
  repository: string;
  url: string;
  events: string[];
  resourceName: string;
}

interface PipelineVariableProps {
  workspace: string;
  repository: string;
  key: string;
  value: string;
  secured: boolean;
  resourceName: string;
}

class FloorWebhook extends pulumi.dynamic.Resource {
  constructor(name: string, props: WebhookProps, opts?: pulumi.CustomResourceOptions) {
    super(floorProvider, name, props, opts, "bitbucket", "Webhook");
  }
}

class FloorPipelineVariable extends pulumi.dynamic.Resource {
  constructor(name: string, props: PipelineVariableProps, opts?: pulumi.CustomResourceOptions) {
    super(floorProvider, name, props, opts, "bitbucket", "PipelineVariable");
  }
}

/** SCALE_MANIFEST's webhooks and variables, per repository, as deployManifest names them. */
const HOOKS = [
  { host: "ci.example.test/push", url: "https://ci.example.test/push", events: ["repo:push"] },
  { host: "ci.example.test/pr", url: "https://ci.example.test/pr", events: ["pullrequest:created"] },
];
const VARIABLES = [
  { key: "REGION", value: "eu-west-1" },
  { key: "STAGE", value: "prod" },
];

/** Resources per repository: as SCALE_PER_REPO (test/harness/fixture.ts). */
export const FLOOR_PER_REPO = HOOKS.length + VARIABLES.length;

/** The floor program for `repos` repositories: 4 resources on each of svc-0..svc-(repos-1). */
export function floorProgram(repos: number): () => pulumi.Resource[] {
  return () => {
    const out: pulumi.Resource[] = [];
    for (let i = 0; i < repos; i++) {
      const where = { workspace: "acme", repository: `svc-${i}` };
      for (const h of HOOKS) {
        const name = `webhook/acme/svc-${i}/${h.host}`;
        out.push(new FloorWebhook(name, { ...where, url: h.url, events: h.events, resourceName: name }));
      }
      for (const v of VARIABLES) {
        const name = `variable/acme/svc-${i}/${v.key}`;
        out.push(new FloorPipelineVariable(name, { ...where, ...v, secured: false, resourceName: name }));
      }
    }
    return out;
  };
}

let captured: Promise<Record<string, string>> | undefined;

/** The floor provider serialized as the engine stores it, per type name, captured once per process. */
export function floorProviders(): Promise<Record<string, string>> {
  captured ??= captureProviders(floorProgram(1)).then((c) => c.providers);
  return captured;
}
