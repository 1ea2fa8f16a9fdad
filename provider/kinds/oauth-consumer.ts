// OAuth consumers: `oauthConsumers:` entries (Cloud only), made by hand in Bitbucket and verified
// by `pulumi up`; integrations name them by id. The resource: provider/resources/oauth-consumer.ts.

import { normalize, OAuthConsumer, reverifies } from "../resources/oauth-consumer";
import { strings, uniqueIds } from "./checks";
import type { Entry, KindDescriptor, SecretRef } from "./kind";

export interface OAuthConsumerEntry extends Entry {
  id: string;
  name: string;
  description?: string;
  callbackUrl?: string;
  url?: string;
  private?: boolean;
  scopes: string[];
  key: SecretRef;
  secret: SecretRef;
}

export const oauthConsumers = {
  key: "oauthConsumers",
  type: "OAuthConsumer",
  schema: "oauthConsumer",
  fields: [
    "id", "workspace", "name", "description", "callbackUrl", "url", "private", "scopes", "key", "secret",
  ], // prettier-ignore
  flavors: {
    cloud: true,
    datacenter:
      "Data Center's incoming OAuth applications are made by an administrator, not through this API",
  },
  placed: true,
  declaredFirst: true,
  check: (ctx) => uniqueIds(ctx, "oauthConsumers"),
  expand(c, ctx) {
    ctx.add({ name: `oauth-consumer/${c.id}`, workspace: c.workspace }, `OAuth consumer ${c.id}`);
  },
  declare(s, c, ctx) {
    const r = new OAuthConsumer(s.name, {
      workspace: c.workspace, name: c.name, description: c.description, callbackUrl: c.callbackUrl, url: c.url,
      private: c.private, scopes: c.scopes, key: ctx.secret(c.key, "key"), secret: ctx.secret(c.secret, "secret"),
    }, ctx.opts); // prettier-ignore
    ctx.consumers.set(c.id, r);
    return {
      resource: r,
      outputKey: c.id,
      output: { grantedScopes: r.grantedScopes, verifiedAt: r.verifiedAt, settingsUrl: r.settingsUrl },
    };
  },
  subject: (i) => ({ kind: "consumer", scopes: strings(i.scopes) }),
  audit: {
    cloud:
      "Bitbucket Cloud has no API that lists OAuth consumers: review their permissions in the workspace settings (OAuth consumers)",
    datacenter:
      "Data Center's OAuth applications (application links) have no REST API: review them in the administration (Application links)",
  },
  plan: {
    verify: (inputs, name) => ({
      what: `OAuth consumer "${String(inputs.name ?? name)}" in ${String(inputs.workspace ?? "")}`,
      note: "Bitbucket has no API to read consumers: pulumi up verifies its key and secret with a client_credentials grant",
    }),
    // Granted what it declares: the integrations' gates then check the declaration.
    assumed: (inputs) => ({ ...inputs, grantedScopes: inputs.scopes }),
    // oauth-consumer.ts: create and update are a client_credentials grant at the token URL; delete
    // sends nothing. Plan reads neither key nor secret: they are taken to be the ones the stack holds.
    requests: {
      create: ["POST token"],
      update: ["POST token"],
      changed: (outputs, inputs) => {
        const news = normalize(inputs).inputs;
        return reverifies(outputs as never, { ...news, key: outputs.key, secret: outputs.secret } as never);
      },
    },
  },
} satisfies KindDescriptor<OAuthConsumerEntry, "oauthConsumers", "OAuthConsumer">;
