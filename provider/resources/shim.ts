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

function make(type: string): pulumi.dynamic.ResourceProvider {
  const s: Shim = {
    type,
    configure(req) {
      let runtime;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        runtime = require("bitbucket-iac/runtime");
      } catch (e) {
        throw new Error(
          `bitbucket-iac is not installed in this Pulumi project (npm install bitbucket-iac): ${e}`,
          { cause: e },
        );
      }
      Object.assign(this, runtime.provider(this.type));
      return this.configure(req);
    },
  };
  return s as unknown as pulumi.dynamic.ResourceProvider;
}
