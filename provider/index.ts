// The public surface: `import { Webhook, DeployKey } from "bitbucket-iac"`.

export {
  Webhook,
  type WebhookArgs,
  type WebhookOutputs,
  CLOUD_WEBHOOK_EVENTS,
  DC_WEBHOOK_EVENTS,
} from "./resources/webhook";
export { AccessToken, type AccessTokenArgs, type AccessTokenOutputs } from "./resources/access-token";
export { DeployKey, type DeployKeyArgs, type DeployKeyOutputs } from "./resources/deploy-key";
export { SshKey, type SshKeyArgs, type SshKeyOutputs } from "./resources/ssh-key";
export {
  PipelineVariable,
  type PipelineVariableArgs,
  type PipelineVariableOutputs,
} from "./resources/pipeline-variable";
export {
  PipelineSshKeyPair,
  type PipelineSshKeyPairArgs,
  type PipelineSshKeyPairOutputs,
} from "./resources/pipeline-ssh-key-pair";
export {
  PipelineKnownHost,
  type PipelineKnownHostArgs,
  type PipelineKnownHostOutputs,
} from "./resources/pipeline-known-host";
export { isApiError, type ApiError } from "./api/errors";
export { closure, covers, missing } from "./scopes";
export { OAuthConsumer, type OAuthConsumerArgs, type OAuthConsumerOutputs } from "./resources/oauth-consumer";
export { Integration, type IntegrationArgs } from "./resources/integration";
export { PRESETS, type PresetName, AMPERSAND_CALLBACK } from "./presets";
export {
  loadManifest,
  parseManifest,
  isManifestError,
  type Manifest,
  type ManifestError,
} from "./manifest/load";
export { deployManifest } from "./manifest/deploy";
export { policyTransformation } from "./manifest/enforce";
export type { Policy } from "./policy/rules";
export { expand } from "./manifest/expand";
