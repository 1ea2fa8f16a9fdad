// POST /site/oauth2/access_token (on bitbucket.org in reality): the client_credentials
// grant with Basic `key:secret`, answered as Bitbucket does (bitbucket-api.md §5.2): a
// space-separated `scopes`, `expires_in: 7200`, `state` echoing the grant, and a refresh
// token. Bad credentials: 400 unauthorized_client. A public consumer: Bitbucket's message.

import { randomBytes } from "crypto";
import type { Ctx, Reply, Route } from "../server";

export const TOKEN_LIFETIME_S = 7200;

const oauthError = (error: string, description: string): Reply => ({
  status: 400,
  body: { error, error_description: description },
});

function token(ctx: Ctx): Reply {
  const auth = ctx.headers.authorization ?? "";
  if (!auth.startsWith("Basic ")) {
    return oauthError("unauthorized_client", "Requests must be authenticated using OAuth client credentials");
  }
  const [key = "", secret = ""] = Buffer.from(auth.slice(6), "base64").toString().split(":");
  const consumer = ctx.store.consumers.get(key);
  if (!consumer || consumer.secret !== secret)
    return oauthError("unauthorized_client", "Invalid OAuth client credentials");
  const grant = (ctx.body as Record<string, string> | undefined)?.grant_type;
  if (grant !== "client_credentials")
    return oauthError("unsupported_grant_type", `Unsupported grant type: ${grant}`);
  if (!consumer.private) {
    return oauthError(
      "invalid_grant",
      'Cannot use client_credentials with a consumer marked as "public". Calls for auto generated consumers should use urn:bitbucket:oauth2:jwt instead.',
    );
  }
  const access = randomBytes(24).toString("base64url");
  ctx.store.tokens.set(access, {
    kind: "oauth",
    scopes: consumer.scopes,
    expiresAt: ctx.store.now() + TOKEN_LIFETIME_S * 1000,
  });
  return {
    status: 200,
    body: {
      access_token: access,
      scopes: consumer.scopes.join(" "),
      expires_in: TOKEN_LIFETIME_S,
      token_type: "bearer",
      state: "client_credentials",
      refresh_token: randomBytes(12).toString("base64url"),
    },
  };
}

export const oauthRoutes: Route[] = [{ method: "POST", path: "/site/oauth2/access_token", handle: token }];
