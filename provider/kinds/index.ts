// The kinds of the manifest. Their resources are declared in this order, kinds marked
// `declaredFirst` (OAuth consumers, then integrations) before the rest (expand.ts); the stack
// outputs, the loaded manifest and export's manifest list the kinds in it too.

import { accessTokens } from "./access-token";
import { deployKeys } from "./deploy-key";
import { integrations } from "./integration";
import type { EntryBase, KindDescriptor, ManifestBase, VerifyPlanner } from "./kind";
import { oauthConsumers } from "./oauth-consumer";
import { knownHosts } from "./pipeline-known-host";
import { pipelineSshKeyPairs } from "./pipeline-ssh-key-pair";
import { pipelineVariables } from "./pipeline-variable";
import { sshKeys } from "./ssh-key";
import { webhooks } from "./webhook";

const ALL = [
  webhooks,
  deployKeys,
  accessTokens,
  sshKeys,
  pipelineVariables,
  pipelineSshKeyPairs,
  knownHosts,
  oauthConsumers,
  integrations,
] as const;

/** A manifest key of a kind: `webhooks`, ... */
export type Kind = (typeof ALL)[number]["key"];

/** A resource type a kind declares: `Webhook`, ..., `Integration`. */
export type ResourceType = (typeof ALL)[number]["type"];

/** Every kind, as the generic code (manifest/, cli/) loops over them. */
export const KINDS: ReadonlyArray<KindDescriptor<EntryBase, Kind, ResourceType>> = ALL;

/** The kinds in the order their entries are expanded and declared: `declaredFirst` ones first. */
export const DECLARATION_ORDER = [
  ...KINDS.filter((k) => k.declaredFirst),
  ...KINDS.filter((k) => !k.declaredFirst),
];

/** Each kind's entries, under its key (the entry type is the one its descriptor expands). */
type Entries = { [D in (typeof ALL)[number] as D["key"]]: Array<Parameters<D["expand"]>[0]> };

/** A loaded manifest: the top level, and each kind's entries. */
export interface Manifest extends ManifestBase, Entries {}

/** The descriptor of a kind, by its manifest key. */
export const kindOf = (key: Kind): KindDescriptor<EntryBase, Kind, ResourceType> =>
  KINDS.find((k) => k.key === key)!;

/** How a resource type plan cannot read back is verified instead (OAuth consumers); undefined for the rest. */
export function verified(type: string): VerifyPlanner | undefined {
  const plan = KINDS.find((k) => k.type === type)?.plan;
  return plan && "verify" in plan ? plan : undefined;
}

export type { AccessTokenEntry } from "./access-token";
export type { DeployKeyEntry } from "./deploy-key";
export type { IntegrationEntry } from "./integration";
export type { OAuthConsumerEntry } from "./oauth-consumer";
export type { KnownHostEntry } from "./pipeline-known-host";
export type { PipelineSshKeyPairEntry } from "./pipeline-ssh-key-pair";
export type { PipelineVariableEntry } from "./pipeline-variable";
export type { SshKeyEntry } from "./ssh-key";
export type { WebhookEntry } from "./webhook";
