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
 * Replaces the SDK's closure serializer, as the dynamic resources require it, for this process:
 * its module (`runtime/closure/serializeClosure`, internal to the SDK, there since the dynamic
 * providers' first versions) is answered from Node's module cache without being loaded, or, if it
 * was loaded already, its export is replaced. An SDK without that module keeps its own serializer;
 * one that asks the module for another name gets the real module's (loaded then).
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
  const loaded = require.cache[file];
  if (loaded) {
    (loaded.exports as { serializeFunction: typeof serializeFunction }).serializeFunction = serializeFunction;
    return;
  }
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  let real: Record<string | symbol, unknown> | undefined;
  const own: Record<string | symbol, unknown> = {
    serializeFunction,
    serializeFunctionAsync: serializeFunction,
  };
  stub.exports = new Proxy(own, {
    get(target, name) {
      if (name in target) return target[name];
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
