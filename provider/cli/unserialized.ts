// The command line runs the manifest's program under Pulumi's mocks (declared.ts) and never
// deploys it. Each dynamic resource's constructor still has the SDK serialize the resource's
// provider for the state (@pulumi/pulumi dynamic/index.ts serializeProvider): the closure
// serializer opens an inspector session over every loaded script and parses the provider's code,
// 0.8 s of the 1.7 s a `validate` took, for an input (`__provider`) that nothing here reads. In the
// command line's own process, and only there (main.ts), the SDK's serializer answers at once.
// A program that `pulumi up` runs keeps the SDK's: it never loads this module.

import type * as pulumi from "@pulumi/pulumi";

/** What every resource's `__provider` input holds in the command line's process. */
export const UNSERIALIZED =
  "exports.handler = undefined; // not serialized: bitbucket-iac's command line never deploys";

/**
 * Replaces the SDK's closure serializer, as the dynamic resources call it, for this process.
 * Internal to the SDK (its `runtime/closure/serializeClosure` module, which `dynamic` requires when
 * a resource is constructed), there since the dynamic providers' first versions.
 */
export function skipProviderSerialization(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure") as {
    serializeFunction: typeof pulumi.runtime.serializeFunction;
  };
  closure.serializeFunction = () =>
    Promise.resolve({ text: UNSERIALIZED, exportName: "handler", containsSecrets: false });
}
