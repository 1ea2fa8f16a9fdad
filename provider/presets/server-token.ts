// The personal HTTP access token a Bitbucket Server preset makes for the platform: a token of
// `username` (the platform signs in as that user), named `<prefix>-<integration>` unless
// `tokenName` says otherwise, renewed by `expiryDays`/`rotate` as any AccessToken is.

import type { AccessToken } from "../resources/access-token";
import { str, type BuildContext, type Options, type PresetChild, type Rule } from "./common";

/** The options every Server token takes, beside the preset's own. */
export const TOKEN_RULES: Rule[] = [
  ["tokenName", "string", false],
  ["expiryDays", "number", false],
  ["rotate", "string", false],
];

const nameOf = (prefix: string, name: string, o: Options) =>
  (o.tokenName as string | undefined) ?? `${prefix}-${name}`;

/** The token as a child the manifest's collision checks know: one name per user. */
export const tokenChild =
  (prefix: string) =>
  (o: Options, name: string): PresetChild[] =>
    str(o.username)
      ? [{ kind: "accessToken", value: nameOf(prefix, name, o), path: "options.username", owner: o.username }]
      : [];

/** Declares the token of `username` with exactly `permissions`. */
export function serverToken(ctx: BuildContext, prefix: string, permissions: string[]): AccessToken {
  const o = ctx.options;
  return ctx.declare.accessToken(
    `${ctx.name}-token`,
    {
      flavor: "datacenter",
      user: ctx.gate(o.username as string),
      name: nameOf(prefix, ctx.name, o),
      permissions,
      ...(o.expiryDays !== undefined && { expiryDays: o.expiryDays as number }),
      ...(o.rotate !== undefined && { rotate: o.rotate as string }),
      adopt: ctx.adopt,
    },
    ctx.opts,
  );
}
