// Integration presets: one file per platform, each following that platform's own Bitbucket setup
// guide step by step (the guides are quoted at the top of each file). A preset says which OAuth
// consumer the platform needs (and with which scopes), what it creates in Bitbucket (keys,
// tokens, webhooks), what the platform side needs back (a command, a client id, a password), and
// `instructions`: the guide's remaining steps with the values filled in.
// Adding a platform is a file here, a line in each table below, and a guide test.

import type { Flavor } from "../resources/validate";
import { AMPERSAND } from "./ampersand";
import type { Preset } from "./common";
import { GENERIC } from "./generic";
import { PLATFORMSH, PLATFORMSH_SERVER } from "./platformsh";
import { PUPPET_PIPELINES, PUPPET_PIPELINES_SERVER } from "./puppet-pipelines";
import { SHIPPABLE } from "./shippable";

export * from "./common";
export { AMPERSAND_CALLBACK, AMPERSAND_OBJECTS } from "./ampersand";
export { PLATFORMSH_SCOPES, PLATFORMSH_SERVER_PERMISSIONS } from "./platformsh";
export { PUPPET_PIPELINES_GRANTS, PUPPET_PIPELINES_SERVER_PERMISSIONS } from "./puppet-pipelines";
export { envPrefix, SHIPPABLE_TOKEN_SCOPES } from "./shippable";

export const PRESETS = {
  platformsh: PLATFORMSH,
  "puppet-pipelines": PUPPET_PIPELINES,
  shippable: SHIPPABLE,
  ampersand: AMPERSAND,
  generic: GENERIC,
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

/** The presets a Data Center integration can use: the platforms that document a Server setup. */
export const DATACENTER_PRESETS: Partial<Record<PresetName, Preset>> = {
  platformsh: PLATFORMSH_SERVER,
  "puppet-pipelines": PUPPET_PIPELINES_SERVER,
};

/** The preset of that name for that flavor; undefined when the platform has no setup for it. */
export const presetFor = (name: PresetName, flavor: Flavor): Preset | undefined =>
  flavor === "datacenter" ? DATACENTER_PRESETS[name] : PRESETS[name];
