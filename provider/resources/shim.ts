// The provider Pulumi serializes into state for every resource: a type name and a `configure`
// that replaces itself with the installed package's implementation (provider/runtime.ts).
//
// Why so small: Pulumi stores the serialized provider in each resource's inputs and outputs and
// sends it with every RPC; the whole implementation captured by value was 30-49 KiB a resource.
// Why `configure`: the dynamic-provider host deserializes a provider once per process and calls
// its `configure` before any other method (cmd/dynamic-provider getProvider), so configure is
// where the shim can become the real provider. `require` is resolved from the Pulumi project,
// where bitbucket-iac is installed.

import type * as pulumi from "@pulumi/pulumi";

interface Shim {
  type: string;
  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void>;
}

/**
 * The serialized provider of resource type `type` ("Webhook", ...): one object per type, so the
 * SDK serializes it once per program run (it caches by object; a new object per resource cost a
 * closure serialization each, about 25 ms a resource on a large stack).
 */
export function shim(type: string): pulumi.dynamic.ResourceProvider {
  return (shims[type] ??= make(type));
}

const shims: Record<string, pulumi.dynamic.ResourceProvider> = {};

const make = (type: string) => ({ type, configure }) as Shim as unknown as pulumi.dynamic.ResourceProvider;

// Serialized as written (Function.prototype.toString) into every resource's state, twice: one
// statement, no comment, no name of its own (a named function also captures itself). When the
// project lacks bitbucket-iac, Node's own error names it: Cannot find module 'bitbucket-iac/runtime'.
/* eslint-disable @typescript-eslint/no-require-imports */
const configure = function (this: Shim, req: pulumi.dynamic.ConfigureRequest): Promise<void> {
  return Object.assign(this, require("bitbucket-iac/runtime").provider(this.type)).configure(req);
};
