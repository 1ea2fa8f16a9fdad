// The Pulumi program `pulumi up` runs in this repository (Pulumi.yaml `main`). Until the
// manifest (bitbucket.yaml) lands, it declares one webhook from stack config:
//
//   pulumi config set workspace acme
//   pulumi config set repository api              # omit for a workspace webhook
//   pulumi config set webhookUrl https://ci.example.com/bitbucket
//   pulumi config set --path 'webhookEvents[0]' repo:push
//   pulumi config set --secret webhookSecret "$(openssl rand -hex 32)"

import * as pulumi from "@pulumi/pulumi";
import { Webhook } from "./index";

const config = new pulumi.Config();

const hook = new Webhook("webhook", {
  workspace: config.require("workspace"),
  repository: config.get("repository"),
  url: config.require("webhookUrl"),
  events: config.getObject<string[]>("webhookEvents") ?? ["repo:push"],
  description: config.get("webhookDescription") ?? "managed by bitbucket-iac",
  secret: config.getSecret("webhookSecret"),
});

export const webhookUuid = hook.uuid;
export const webhookSecretSet = hook.secretSet;
