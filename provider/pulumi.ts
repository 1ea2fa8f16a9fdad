// The parts of the Pulumi SDK this package uses, each from the SDK module that defines it, as
// `pulumi.X` like the SDK's own index. `import "@pulumi/pulumi"` loads all of the SDK (the
// automation API, the closure serializer and TypeScript: 764 modules, 0.35 s with a warm compile
// cache); these modules are 191 of them (0.08 s). The command line loads no more than these; a
// Pulumi program, which imports the SDK itself, loads each module once either way.

import { setMocks } from "@pulumi/pulumi/runtime/mocks";
import { getConfig } from "@pulumi/pulumi/runtime/config";
import { getMonitor, hasEngine } from "@pulumi/pulumi/runtime/settings";
import { registerStackTransformation } from "@pulumi/pulumi/runtime/stack";

export { all, output, secret, Output, type Input, type Unwrap } from "@pulumi/pulumi/output";
export {
  ComponentResource,
  resourceName,
  resourceType,
  type ComponentResourceOptions,
  type CustomResourceOptions,
  type Resource,
  type ResourceTransformation,
} from "@pulumi/pulumi/resource";
export { Config } from "@pulumi/pulumi/config";
export * as dynamic from "@pulumi/pulumi/dynamic";
export * as log from "@pulumi/pulumi/log";
export const runtime = { getConfig, getMonitor, hasEngine, registerStackTransformation, setMocks };
