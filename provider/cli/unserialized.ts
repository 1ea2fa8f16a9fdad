// The command line runs the manifest's program under Pulumi's mocks (declared.ts) and never
// deploys it. Each dynamic resource's constructor still has the SDK serialize the resource's
// provider for the state (@pulumi/pulumi dynamic/index.ts serializeProvider): the closure
// serializer opens an inspector session over every loaded script and parses the provider's code,
// 0.8 s of the 1.7 s a `validate` took, for an input (`__provider`) that nothing here reads. In the
// command line's own process, and only there (main.ts), the SDK's serializer answers at once.
// A program that `pulumi up` runs keeps the SDK's: it never loads this module.

import { Module } from "module";
import type { serializeFunction as SerializeFunction } from "@pulumi/pulumi/runtime/closure/serializeClosure";

/** What every resource's `__provider` input holds in the command line's process. */
export const UNSERIALIZED =
  "exports.handler = undefined; // not serialized: bitbucket-iac's command line never deploys";

/**
 * Replaces the SDK's closure serializer, as the dynamic resources require it (at each resource,
 * by its module: `runtime/closure/serializeClosure`, internal to the SDK, there since the dynamic
 * providers' first versions), for this process: Node's module cache answers that module with one
 * whose `serializeFunction` returns at once. Any other name is the real module's, loaded then if
 * it was not. An SDK without that module keeps its own serializer.
 */
export function skipProviderSerialization(): void {
  let file: string;
  try {
    file = require.resolve("@pulumi/pulumi/runtime/closure/serializeClosure");
  } catch {
    return;
  }
  const serializeFunction: typeof SerializeFunction = () =>
    Promise.resolve({ text: UNSERIALIZED, exportName: "handler", containsSecrets: false });
  let real = require.cache[file]?.exports as Record<string | symbol, unknown> | undefined;
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = new Proxy({ serializeFunction } as Record<string | symbol, unknown>, {
    get(own, name) {
      if (name in own) return own[name];
      if (!real) {
        delete require.cache[file];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        real = require(file) as Record<string | symbol, unknown>;
        require.cache[file] = stub;
      }
      return real[name];
    },
  });
  require.cache[file] = stub;
}
