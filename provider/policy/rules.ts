// The policy's rules, as data. A policy is what a security team asks of every Bitbucket
// integration (webhooks over https to known hosts, signed; read-only keys of strong types; no
// credential-looking variable in clear; tokens that expire; consumers with few scopes), written
// once and applied to what a manifest declares (validate, plan, the provider's check) and to what
// exists in Bitbucket (audit).
//
// Every rule looks at a Subject: the few facts of an object it judges, the same for a declaration
// (a resource's inputs) and a live object (an API answer). A rule is a pure function from its
// settings and a subject to what is wrong, in words that say how to fix it.

import { domainToASCII } from "url";
import { matchesGlob } from "../glob";
import { closure } from "../scopes";
import { parsePublicKey, isKeyError } from "../ssh";

/** What a policy's rule does when an object breaks it: stop (`error`), say so (`warn`), nothing (`off`). */
export type Enforcement = "error" | "warn" | "off";

/** What every rule has. */
export interface RuleBase {
  /** Default `error`. */
  enforcement?: Enforcement;
  /** Added to the finding: why the organisation asks it, whom to ask. */
  message?: string;
}

/** A policy, as `policy:` in a manifest or a policy file holds it. */
export interface Policy {
  webhooks?: {
    /** URLs must be https. */
    https?: RuleBase & {
      /** Entries with `allowHttp: true` pass (the default policy: true; a rule you write: false). */
      allowHttpOptOut?: boolean;
    };
    /** Hosts deliveries may go to: globs, `*` any run of characters, matched as DNS names (hostGlob). */
    allowedHosts?: RuleBase & { hosts: string[] };
    /** Deliveries must be signed: the hook has a secret. */
    secretRequired?: RuleBase;
    /** The receiver's certificate must be checked. */
    forbidSkipCertVerification?: RuleBase;
    /** Events a hook may deliver (`allow`) and may not (`deny`). */
    events?: RuleBase & { allow?: string[]; deny?: string[] };
  };
  keys?: {
    /** Deploy and access keys read only (Data Center permissions *_READ; Cloud's are read-only anyway). */
    readOnly?: RuleBase;
    /** Key types allowed, e.g. ssh-ed25519. */
    keyTypes?: RuleBase & { allow: string[] };
    /** Smallest RSA key size allowed, in bits. */
    minRsaBits?: RuleBase & { bits: number };
  };
  pipelineVariables?: {
    /** Variables whose key matches one of these globs (case-insensitive) must be secured. */
    securedWhenKeyMatches?: RuleBase & { patterns?: string[] };
  };
  accessTokens?: {
    /** Tokens expire within this many days of their creation. */
    maxExpiryDays?: RuleBase & { days: number };
    /** Permissions a token may have. */
    permissions?: RuleBase & { allow: string[] };
  };
  oauthConsumers?: {
    /** Scopes a consumer may have (with what they imply). */
    maxScopes?: RuleBase & { scopes: string[] };
  };
}

/** The facts of an object a rule judges: a declaration's or a live object's. */
export type Subject =
  | {
      kind: "webhook";
      /** Undefined when unknown (given by reference, and not read). */
      url?: string;
      /** The entry says `allowHttp: true` (declarations only). */
      allowHttp?: boolean;
      /** Whether it has a secret; undefined when unknown (a Data Center server that masks it). */
      secret?: boolean;
      skipCertVerification: boolean;
      events: string[];
    }
  | {
      kind: "key";
      /** The public key line. */
      key: string;
      /** Data Center access keys: REPO_READ, PROJECT_WRITE, ... */
      permission?: string;
      /** A user's own key (full access as that user): readOnly does not apply. */
      account?: boolean;
    }
  | { kind: "variable"; key: string; secured: boolean }
  | {
      kind: "token";
      permissions: string[];
      /** Days from creation to expiry; undefined: it never expires. */
      expiryDays?: number;
    }
  | { kind: "consumer"; scopes: string[] };

/** What a rule finds wrong with a subject: the field at fault and what to do. */
export interface Broken {
  field: string;
  message: string;
}

/** A rule: where it is in a policy, what kind of subject it judges, and its check. */
interface RuleDef<S extends Subject["kind"], R extends RuleBase> {
  section: keyof Policy;
  kind: S;
  judge(rule: R, s: Extract<Subject, { kind: S }>): Broken | undefined;
}

/**
 * A URL's host as DNS names it: lower case, internationalised names in their ASCII (punycode) form
 * (the URL parser does both), without the trailing dot of a fully qualified name (`example.com.`
 * is `example.com`).
 */
const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return undefined;
  }
};

/**
 * A policy's host glob in the form hostOf gives hosts: a plain host parsed as a URL's host is
 * (`Hooks.Example.NET.`, `bücher.example`, `10.1` are `hooks.example.net`, `xn--bcher-kva.example`,
 * `10.0.0.1`); a glob lower-cased, without a trailing dot, an internationalised name in its ASCII
 * form (`*.bücher.example` is `*.xn--bcher-kva.example`).
 */
const hostGlob = (glob: string): string => {
  const g = glob.replace(/\.$/, "");
  // Only a bare host: a port, user or path in it would be dropped by the parser, and allow more.
  if (/^[^/@?#\\\s:*]+$/.test(g) || /^\[[0-9a-f:.]+\]$/i.test(g)) {
    const host = hostOf(`https://${g}/`);
    if (host !== undefined) return host;
  }
  const lower = g.toLowerCase();
  // domainToASCII keeps `*` and answers "" for what is no domain (a `?`): then the glob as written.
  return (/[^ -~]/.test(lower) && domainToASCII(lower)) || lower;
};

/** The longest DNS name, in characters (RFC 1035 §2.3.4: 255 octets on the wire). */
const MAX_HOST_LENGTH = 253;

/** A policy's hosts as hostGlob writes them, once per list (every webhook is judged against it). */
const compiled = new WeakMap<readonly string[], string[]>();
const hostGlobs = (hosts: readonly string[]): string[] => {
  let globs = compiled.get(hosts);
  if (globs === undefined) compiled.set(hosts, (globs = hosts.map(hostGlob)));
  return globs;
};

/**
 * A public key's type: the parsed key's, or, for a line this tool cannot parse (a type it does not
 * take, such as ssh-dss, which a Data Center server may still hold), its first word when a base64
 * blob follows it; undefined when the text is no key line (unknown yet, in a preview).
 */
function keyTypeOf(text: string): string | undefined {
  const k = parsePublicKey(text);
  if (!isKeyError(k)) return k.type;
  const [type = "", blob = ""] = text.trim().split(/\s+/);
  return /^[a-z][a-z0-9.@-]{0,63}$/i.test(type) && /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? type : undefined;
}

/** The default patterns of `securedWhenKeyMatches`: keys that name a credential. */
export const CREDENTIAL_KEYS = ["*TOKEN*", "*SECRET*", "*PASSWORD*", "*PRIVATE*", "*_KEY"];

/** The first of `patterns` a variable's key matches (case-insensitive): what it looks like. */
export const credentialPattern = (key: string, patterns: readonly string[] = CREDENTIAL_KEYS) =>
  patterns.find((p) => matchesGlob(p.toUpperCase(), key.toUpperCase()));

type W = NonNullable<Policy["webhooks"]>;
type K = NonNullable<Policy["keys"]>;
type V = NonNullable<Policy["pipelineVariables"]>;
type T = NonNullable<Policy["accessTokens"]>;
type C = NonNullable<Policy["oauthConsumers"]>;

/** Every rule, by its name in findings: `<section>.<rule>`. */
export const RULES = {
  "webhooks.https": {
    section: "webhooks",
    kind: "webhook",
    judge: (r, s) =>
      s.url !== undefined && /^http:/i.test(s.url) && !(r.allowHttpOptOut && s.allowHttp)
        ? { field: "url", message: "the URL is not https: payloads travel in plain text; use an https URL" }
        : undefined,
  } satisfies RuleDef<"webhook", NonNullable<W["https"]>>,
  "webhooks.allowedHosts": {
    section: "webhooks",
    kind: "webhook",
    judge: (r, s) => {
      const host = s.url === undefined ? undefined : hostOf(s.url);
      // A host no DNS name can be is allowed by no glob (and is not matched: a glob costs its
      // length times the host's).
      if (host !== undefined && host.length > MAX_HOST_LENGTH)
        return {
          field: "url",
          message: `the URL's host is ${host.length} characters long, longer than any DNS name (${MAX_HOST_LENGTH}): deliver to an allowed host`,
        };
      if (host === undefined || hostGlobs(r.hosts).some((h) => matchesGlob(h, host))) return undefined;
      return {
        field: "url",
        message: `host ${host} is not one of the allowed hosts (${r.hosts.join(", ")}); deliver to an allowed host, or have the policy allow this one`,
      };
    },
  } satisfies RuleDef<"webhook", NonNullable<W["allowedHosts"]>>,
  "webhooks.secretRequired": {
    section: "webhooks",
    kind: "webhook",
    judge: (_, s) =>
      s.secret === false
        ? {
            field: "secret",
            message:
              "the hook has no secret: deliveries are not signed and the receiver cannot tell them from forgeries; give it a secret (secret: { generate: true }, or a reference)",
          }
        : undefined,
  } satisfies RuleDef<"webhook", NonNullable<W["secretRequired"]>>,
  "webhooks.forbidSkipCertVerification": {
    section: "webhooks",
    kind: "webhook",
    judge: (_, s) =>
      s.skipCertVerification
        ? {
            field: "skipCertVerification",
            message:
              "certificate verification is skipped: anyone on the path can read deliveries; give the receiver a valid certificate and remove skipCertVerification",
          }
        : undefined,
  } satisfies RuleDef<"webhook", NonNullable<W["forbidSkipCertVerification"]>>,
  "webhooks.events": {
    section: "webhooks",
    kind: "webhook",
    judge: (r, s) => {
      const bad = s.events.filter(
        (e) => (r.allow !== undefined && !r.allow.includes(e)) || (r.deny ?? []).includes(e),
      );
      return bad.length
        ? {
            field: "events",
            message: `event${bad.length === 1 ? "" : "s"} ${bad.join(", ")} ${bad.length === 1 ? "is" : "are"} not allowed${r.allow ? ` (allowed: ${r.allow.join(", ")})` : ""}; remove ${bad.length === 1 ? "it" : "them"}`,
          }
        : undefined;
    },
  } satisfies RuleDef<"webhook", NonNullable<W["events"]>>,
  "keys.readOnly": {
    section: "keys",
    kind: "key",
    judge: (_, s) =>
      !s.account && s.permission !== undefined && !s.permission.endsWith("_READ")
        ? {
            field: "permission",
            message: `the key has ${s.permission}: it can push; give it ${s.permission.startsWith("PROJECT_") ? "PROJECT_READ" : "REPO_READ"}, and a separate reviewed path for writes`,
          }
        : undefined,
  } satisfies RuleDef<"key", NonNullable<K["readOnly"]>>,
  "keys.keyTypes": {
    section: "keys",
    kind: "key",
    judge: (r, s) => {
      const type = keyTypeOf(s.key);
      return type !== undefined && !r.allow.includes(type)
        ? {
            field: "key",
            message: `the key is ${type}, not one of ${r.allow.join(", ")}; make a new key of an allowed type (ssh-keygen -t ed25519)`,
          }
        : undefined;
    },
  } satisfies RuleDef<"key", NonNullable<K["keyTypes"]>>,
  "keys.minRsaBits": {
    section: "keys",
    kind: "key",
    judge: (r, s) => {
      const k = parsePublicKey(s.key);
      return !isKeyError(k) && k.type === "ssh-rsa" && k.bits < r.bits
        ? {
            field: "key",
            message: `the RSA key has ${k.bits} bits, fewer than ${r.bits}; make a new key (ssh-keygen -t ed25519, or -t rsa -b ${Math.max(r.bits, 3072)})`,
          }
        : undefined;
    },
  } satisfies RuleDef<"key", NonNullable<K["minRsaBits"]>>,
  "pipelineVariables.securedWhenKeyMatches": {
    section: "pipelineVariables",
    kind: "variable",
    judge: (r, s) => {
      const hit = credentialPattern(s.key, r.patterns);
      return hit !== undefined && !s.secured
        ? {
            field: "secured",
            message: `${s.key} looks like a credential (${hit}) but is not secured: its value shows in logs and settings; make it secured (remove secured: false) and rotate the value`,
          }
        : undefined;
    },
  } satisfies RuleDef<"variable", NonNullable<V["securedWhenKeyMatches"]>>,
  "accessTokens.maxExpiryDays": {
    section: "accessTokens",
    kind: "token",
    judge: (r, s) =>
      s.expiryDays === undefined || s.expiryDays > r.days
        ? {
            field: "expiryDays",
            message: `the token ${s.expiryDays === undefined ? "never expires" : `expires after ${s.expiryDays} days`}; give it expiryDays: ${r.days} or fewer`,
          }
        : undefined,
  } satisfies RuleDef<"token", NonNullable<T["maxExpiryDays"]>>,
  "accessTokens.permissions": {
    section: "accessTokens",
    kind: "token",
    judge: (r, s) => {
      const bad = s.permissions.filter((p) => !r.allow.includes(p));
      return bad.length
        ? {
            field: "permissions",
            message: `permission${bad.length === 1 ? "" : "s"} ${bad.join(", ")} ${bad.length === 1 ? "is" : "are"} not allowed (allowed: ${r.allow.join(", ")}); ask for less`,
          }
        : undefined;
    },
  } satisfies RuleDef<"token", NonNullable<T["permissions"]>>,
  "oauthConsumers.maxScopes": {
    section: "oauthConsumers",
    kind: "consumer",
    judge: (r, s) => {
      const allowed = closure(r.scopes);
      const bad = s.scopes.filter((x) => !allowed.has(x));
      return bad.length
        ? {
            field: "scopes",
            message: `scope${bad.length === 1 ? "" : "s"} ${bad.join(", ")} ${bad.length === 1 ? "is" : "are"} beyond what the policy allows (${r.scopes.join(", ")}); untick ${bad.length === 1 ? "it" : "them"}`,
          }
        : undefined;
    },
  } satisfies RuleDef<"consumer", NonNullable<C["maxScopes"]>>,
} as const;

export type RuleName = keyof typeof RULES;

/** A rule's name split into its section and its key in that section. */
export const partsOf = (name: RuleName) => name.split(".") as [keyof Policy, string];

/**
 * The policy that applies when none is given, and under any manifest's own: what `validate`
 * always enforced (https unless an entry says allowHttp), and a warning for a credential-looking
 * variable in clear. A rule a manifest's `policy:` writes replaces the default's whole.
 */
export const DEFAULT_POLICY: Policy = {
  webhooks: { https: { enforcement: "error", allowHttpOptOut: true } },
  pipelineVariables: { securedWhenKeyMatches: { enforcement: "warn", patterns: CREDENTIAL_KEYS } },
};
