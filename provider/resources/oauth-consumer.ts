// OAuthConsumer: the OAuth consumer a platform asks you to make (Platform.sh, Puppet
// Pipelines, Ampersand...), declared and verified, not created.
//
//   create  POST {tokenUrl} grant_type=client_credentials, Basic key:secret -> 200 {scopes}
//   read    the same grant again: scope drift and revoked credentials are reported
//   update  the same grant again (nothing to write: Bitbucket has no API for consumers)
//   delete  nothing is sent: the consumer stays in Workspace settings > OAuth consumers
//
// API facts that shaped it (shared/bitbucket-api.md §5):
// - Atlassian removed the only API that created consumers (1.0, April 2019); consumers are
//   made in the UI. We take their key and secret from config and prove them: a
//   client_credentials grant only succeeds for a private consumer, and its `scopes` (space
//   separated) are the permissions ticked in the form.
// - Bad credentials: 400 {"error":"unauthorized_client","error_description":"Invalid OAuth
//   client credentials"}. A public consumer: 'Cannot use client_credentials with a consumer
//   marked as "public"'.
// - The grant says nothing about the name, description or URLs: those are declared here for
//   review and for the platforms that need them (Ampersand's callback URL), not verified.

import * as pulumi from "../pulumi";
import { shim } from "./shim";
import { loadSettings } from "../api/auth";
import { clientCredentialsGrant } from "../api/client";
import { isApiError } from "../api/errors";
import { checkboxOf, extra, missing, parseScopes, SCOPES } from "../scopes";
import { closeMatches, configure, withContext, type CheckFailure, withSecretOutputs } from "./common";
import { checkSlug, checkCloudOnly } from "./validate";
import type { Policy } from "../policy/rules";

export interface OAuthConsumerArgs {
  /** Workspace the consumer belongs to (Workspace settings > OAuth consumers). Updates in place. */
  workspace: pulumi.Input<string>;
  /** The consumer's name as shown in Bitbucket. Updates in place (declared, not verified). */
  name: pulumi.Input<string>;
  /** Description, for reviewers. Default "". */
  description?: pulumi.Input<string>;
  /** The callback URL the consumer was given (platforms such as Ampersand require an exact one). Declared, not verified. */
  callbackUrl?: pulumi.Input<string>;
  /** The consumer's information URL. Declared, not verified. */
  url?: pulumi.Input<string>;
  /** Whether "This is a private consumer" is ticked. Default true; only private consumers can be verified fully. */
  private?: pulumi.Input<boolean>;
  /** The permissions the consumer must have, as scopes (`repository:write`, `pullrequest`, ...). Verified against Bitbucket. */
  scopes: pulumi.Input<pulumi.Input<string>[]>;
  /** The consumer's Key (client id). Secret. */
  key: pulumi.Input<string>;
  /** The consumer's Secret. Secret. */
  secret: pulumi.Input<string>;
  /**
   * Rules of a policy this consumer must meet (a manifest's `policy:` gives its own), over the
   * default policy; the file `bitbucket:policy` names applies as well. Checked by the provider's
   * check: a rule broken at level `error` fails the run before anything is written. Not kept in
   * state: changing it changes nothing in Bitbucket.
   */
  policy?: pulumi.Input<Policy>;
}

export type OAuthConsumerInputs = pulumi.Unwrap<OAuthConsumerArgs>;

interface Normalized {
  workspace: string;
  name: string;
  description: string;
  callbackUrl?: string;
  url?: string;
  private: boolean;
  scopes: string[];
  key: string;
  secret: string;
}

export interface OAuthConsumerOutputs extends Normalized {
  /** Scopes Bitbucket granted in the last verification, as it reported them. */
  grantedScopes: string[];
  /** Declared scopes that were not granted (drift; empty when verified). */
  missingScopes: string[];
  /** Granted scopes beyond the declared ones. */
  extraScopes: string[];
  /** When the credentials were last proved (ISO 8601). */
  verifiedAt: string;
  /** What the last verification could not confirm, e.g. revoked credentials; absent when verified. */
  problem?: string;
  /** Where the consumer is edited. */
  settingsUrl: string;
}

export const REPLACE_ON = [] as const;
export const SECRET_OUTPUTS = ["key", "secret"];

// ---- normalize ----------------------------------------------------------------------------

export function normalize(raw: Record<string, unknown>): { inputs: Normalized; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  checkCloudOnly(
    "OAuthConsumer",
    failures,
    "Data Center OAuth links are made by an admin in the UI; use an AccessToken for a platform that takes one",
  );
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const workspace =
    checkSlug(raw, "workspace", failures, { required: "the workspace the consumer belongs to" }) ?? "";
  const name = typeof raw.name === "string" ? raw.name.trim() : "";
  if (!name) fail("name", "name is required: the consumer's name in Workspace settings > OAuth consumers");
  const urls: Record<string, string | undefined> = {};
  for (const field of ["callbackUrl", "url"]) {
    const v = raw[field];
    if (v === undefined || v === null || v === "") continue;
    try {
      new URL(String(v).trim());
      urls[field] = String(v).trim();
    } catch {
      fail(field, `"${String(v)}" is not a valid URL`);
    }
  }
  const scopes: string[] = [];
  if (!Array.isArray(raw.scopes))
    fail("scopes", 'scopes must list the consumer\'s permissions, e.g. ["repository", "webhook"]');
  else {
    for (const [i, sc] of raw.scopes.entries()) {
      const v = typeof sc === "string" ? sc.trim() : "";
      if ((SCOPES as readonly string[]).includes(v)) scopes.push(v);
      else {
        const close = closeMatches(v, SCOPES);
        fail(
          `scopes[${i}]`,
          `unknown scope "${String(sc)}"${close.length ? `; did you mean ${close.join(", ")}?` : ""}`,
        );
      }
    }
  }
  for (const field of ["key", "secret"]) {
    if (typeof raw[field] !== "string" || (raw[field] as string).trim() === "") {
      fail(
        field,
        `${field} is required: the consumer's ${field === "key" ? "Key" : "Secret"} from Bitbucket, set with \`pulumi config set --secret\``,
      );
    }
  }
  if (raw.private !== undefined && typeof raw.private !== "boolean")
    fail("private", "private must be true or false");
  return {
    inputs: {
      workspace,
      name,
      description: typeof raw.description === "string" ? raw.description : "",
      ...(urls.callbackUrl !== undefined && { callbackUrl: urls.callbackUrl }),
      ...(urls.url !== undefined && { url: urls.url }),
      private: raw.private !== false,
      scopes: parseScopes(scopes),
      key: typeof raw.key === "string" ? raw.key.trim() : "",
      secret: typeof raw.secret === "string" ? raw.secret.trim() : "",
    },
    failures,
  };
}

// ---- verification -------------------------------------------------------------------------

const settingsUrl = (workspace: string) => `https://bitbucket.org/${workspace}/workspace/settings/api`;

/** What a grant proved, or what it could not. Never includes the key or the secret. */
interface Verification {
  granted: string[];
  /** Credentials rejected, or a public consumer declared private. */
  problem?: string;
}

async function verify(n: Normalized): Promise<Verification> {
  const where = `OAuth consumer "${n.name}" of workspace ${n.workspace}`;
  try {
    const grant = await clientCredentialsGrant(loadSettings().oauthTokenUrl, n.key, n.secret);
    if (!n.private) {
      return {
        granted: parseScopes(grant.scopes),
        problem: `${where} is private in Bitbucket but declared private: false; declare private: true`,
      };
    }
    return { granted: parseScopes(grant.scopes) };
  } catch (e) {
    if (!isApiError(e) || e.status === 0 || e.status >= 500) throw e; // not an answer about the consumer
    if (/public/i.test(e.apiMessage)) {
      // Bitbucket knew the credentials; a public consumer cannot use client_credentials, so its scopes cannot be read.
      if (!n.private) return { granted: [] };
      return {
        granted: [],
        problem: `${where} is public: tick "This is a private consumer" in Workspace settings > OAuth consumers > ${n.name} > Edit (${settingsUrl(n.workspace)}), or declare private: false`,
      };
    }
    return {
      granted: [],
      problem: `${where}: Bitbucket rejected its key and secret (${e.apiMessage}): check the values in config (pulumi config set --secret ...) against the consumer in ${settingsUrl(n.workspace)}`,
    };
  }
}

function outputs(n: Normalized, v: Verification): OAuthConsumerOutputs {
  const verifiable = n.private && v.problem === undefined;
  return {
    ...n,
    grantedScopes: v.granted,
    missingScopes: verifiable ? missing(v.granted, n.scopes) : [],
    extraScopes: verifiable ? extra(v.granted, n.scopes) : [],
    verifiedAt: new Date().toISOString(),
    ...(v.problem !== undefined && { problem: v.problem }),
    settingsUrl: settingsUrl(n.workspace),
  };
}

/** Fails with what to tick (or fix) in Bitbucket; passes when the consumer is as declared. */
function assertVerified(n: Normalized, o: OAuthConsumerOutputs): void {
  if (o.problem) throw new Error(o.problem);
  if (o.missingScopes.length) {
    throw new Error(
      `OAuth consumer "${n.name}" of workspace ${n.workspace} lacks ${o.missingScopes.join(", ")}: tick ${o.missingScopes
        .map((s) => `"${checkboxOf(s)}"`)
        .join(
          ", ",
        )} in Workspace settings > OAuth consumers > ${n.name} > Edit (${o.settingsUrl}); it has ${o.grantedScopes.join(", ") || "no permissions"}`,
    );
  }
}

const idOf = (n: Normalized) => `${n.workspace}/${n.name}`;

/**
 * Whether diff finds the consumer the stack holds changed (then up verifies it again): a declared
 * field, or drift found by refresh (a scope unticked, credentials revoked), which makes the next
 * `up` re-verify and say what to fix. Plan's request bill asks it too.
 */
export function reverifies(olds: OAuthConsumerOutputs, news: Normalized): boolean {
  const fields = [
    "workspace",
    "name",
    "description",
    "callbackUrl",
    "url",
    "private",
    "key",
    "secret",
  ] as const;
  const changed =
    fields.some((k) => (olds[k] ?? "") !== (news[k] ?? "")) ||
    olds.scopes?.join(" ") !== news.scopes.join(" ");
  const drift =
    Boolean(olds.problem) ||
    (olds.missingScopes?.length ?? 0) > 0 ||
    missing(olds.grantedScopes ?? [], news.scopes).length > 0;
  return changed || (news.private && drift);
}

// ---- the provider -------------------------------------------------------------------------

export const oauthConsumerProvider: pulumi.dynamic.ResourceProvider = {
  configure,

  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return normalize(news);
  },

  async diff(_id: string, olds: OAuthConsumerOutputs, news: Normalized) {
    return { changes: reverifies(olds, news), replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs: Normalized) {
    const outs = outputs(
      inputs,
      await verify(inputs).catch((e) =>
        Promise.reject(withContext(e, `verify OAuth consumer "${inputs.name}"`)),
      ),
    );
    assertVerified(inputs, outs);
    return { id: idOf(inputs), outs };
  },

  async read(id: string, props: OAuthConsumerOutputs) {
    const n: Normalized = { ...props, scopes: props.scopes ?? [] };
    const outs = outputs(
      n,
      await verify(n).catch((e) => Promise.reject(withContext(e, `verify OAuth consumer "${n.name}"`))),
    );
    // Inputs as refreshed, without the key and secret: they stay where they are secret (outputs, config).
    const {
      grantedScopes: _g,
      missingScopes: _m,
      extraScopes: _e,
      verifiedAt: _v,
      problem: _p,
      settingsUrl: _s,
      key: _k,
      secret: _c,
      ...inputs
    } = outs;
    return { id, props: outs, inputs };
  },

  async update(_id: string, _olds: OAuthConsumerOutputs, news: Normalized) {
    const outs = outputs(
      news,
      await verify(news).catch((e) => Promise.reject(withContext(e, `verify OAuth consumer "${news.name}"`))),
    );
    assertVerified(news, outs);
    return { outs };
  },

  async delete(_id: string, props: OAuthConsumerOutputs) {
    // Nothing to call: no API deletes consumers. Say so where the host's output goes.
    console.error(
      `bitbucket-iac: OAuth consumer "${props.name}" is no longer managed, but it still exists: delete it in Workspace settings > OAuth consumers (${props.settingsUrl ?? settingsUrl(props.workspace)}) if it is no longer needed`,
    );
  },
};

// ---- the resource ---------------------------------------------------------------------------

export class OAuthConsumer extends pulumi.dynamic.Resource {
  /** The shape of this resource's state (provider/runtime.ts SCHEMA_VERSION). */
  declare public readonly schemaVersion: pulumi.Output<number>;
  declare public readonly workspace: pulumi.Output<string>;
  declare public readonly name: pulumi.Output<string>;
  declare public readonly callbackUrl: pulumi.Output<string | undefined>;
  declare public readonly private: pulumi.Output<boolean>;
  declare public readonly scopes: pulumi.Output<string[]>;
  /** The Key (client id). Secret. */
  declare public readonly key: pulumi.Output<string>;
  /** The Secret. Secret. */
  declare public readonly secret: pulumi.Output<string>;
  declare public readonly grantedScopes: pulumi.Output<string[]>;
  declare public readonly missingScopes: pulumi.Output<string[]>;
  declare public readonly extraScopes: pulumi.Output<string[]>;
  declare public readonly verifiedAt: pulumi.Output<string>;
  declare public readonly problem: pulumi.Output<string | undefined>;
  declare public readonly settingsUrl: pulumi.Output<string>;

  constructor(name: string, args: OAuthConsumerArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      schemaVersion: undefined,
      key: pulumi.secret(args.key),
      secret: pulumi.secret(args.secret),
      grantedScopes: undefined,
      missingScopes: undefined,
      extraScopes: undefined,
      verifiedAt: undefined,
      problem: undefined,
      settingsUrl: undefined,
    };
    super(
      shim("OAuthConsumer"),
      name,
      props,
      withSecretOutputs(opts, SECRET_OUTPUTS),
      "bitbucket",
      "OAuthConsumer",
    );
  }
}
