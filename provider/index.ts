// The public surface: `import { Webhook } from "bitbucket-iac"`.

export { Webhook, type WebhookArgs, type WebhookOutputs, CLOUD_WEBHOOK_EVENTS } from "./resources/webhook";
export { isApiError, type ApiError } from "./api/errors";
export { closure, covers, missing } from "./scopes";
