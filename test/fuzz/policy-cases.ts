// What the policy properties (policy-*.test.ts, issue #22) generate: manifests of both flavors
// whose objects meet or break every rule (webhooks over http with allowHttp or https, to hosts a
// policy may or may not allow, signed or not, skipping the certificate check or not, with events a
// policy may deny; keys of every type and RSA size, with Data Center permissions; credential-looking
// and plain variables, secured or not; tokens with permissions and expiry or none; OAuth consumers
// with scopes; a preset integration whose children break them too), and policies over the same
// pools: rules at error, warn and off, with settings, as a manifest's `policy:` or a policy file.
//
// Values come from small pools, so that a policy's settings and the objects meet often.

import fc from "fast-check";
import { stringify } from "yaml";
import type { Policy } from "../../provider/policy/rules";
import { ecdsa, ed25519, rsa, type TestKey } from "../keys";

type Obj = Record<string, unknown>;
export type Flavor = "cloud" | "datacenter";

// ---- pools ---------------------------------------------------------------------------------------

/** Hosts a webhook delivers to, and a policy's allowedHosts globs over them. */
export const HOSTS = ["ci.example.test", "hooks.example.com", "collector.evil.test", "Build.Example.Test"];
const HOST_GLOBS = ["*.example.test", "hooks.example.com", "*.evil.test", "ci.*", "*"];

/** Events of each flavor, the ones generated and the ones a policy lists. */
export const EVENTS: Record<Flavor, string[]> = {
  cloud: ["repo:push", "repo:fork", "pullrequest:created", "issue:created"],
  datacenter: ["repo:refs_changed", "repo:forked", "pr:opened", "pr:merged"],
};

/**
 * Keys of every type a rule tells apart: Ed25519, ECDSA, RSA of 1024, 2048 and 3072 bits. Made
 * once per process (an RSA key takes a moment); each entry takes a key of its own.
 */
export const KEYS: TestKey[] = [
  ed25519("fuzz-ed-0@example.test"),
  ed25519("fuzz-ed-1@example.test"),
  ed25519("fuzz-ed-2@example.test"),
  ecdsa("fuzz-ec-0@example.test"),
  ecdsa("fuzz-ec-1@example.test"),
  rsa("fuzz-rsa1024-0@example.test", 1024),
  rsa("fuzz-rsa1024-1@example.test", 1024),
  rsa("fuzz-rsa2048-0@example.test", 2048),
  rsa("fuzz-rsa2048-1@example.test", 2048),
  rsa("fuzz-rsa3072-0@example.test", 3072),
];
const KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"];

/** Variable keys: credential-looking ones (by the default patterns or a policy's) and plain ones. */
const VARIABLE_KEYS = [
  "AWS_SECRET_ACCESS_KEY",
  "NPM_TOKEN",
  "db_password",
  "SSH_PRIVATE",
  "DEPLOY_KEY",
  "AWS_REGION",
  "REGION",
  "KEYRING",
];
const VARIABLE_PATTERNS = ["*TOKEN*", "*_KEY", "AWS_*", "*PASS*", "REGION"];

const REPO_PERMISSIONS = ["REPO_READ", "REPO_WRITE", "REPO_ADMIN"];
const PROJECT_PERMISSIONS = ["PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN"];
const TOKEN_PERMISSIONS = [...PROJECT_PERMISSIONS, ...REPO_PERMISSIONS];
const SCOPES = ["repository", "repository:write", "pullrequest", "pullrequest:write", "webhook", "account"];
const EXPIRY = [1, 30, 90, 365];
const MESSAGES = [undefined, "ask #security", "see the wiki"];

/** The config keys secret references name: their values are the stack config of a real `up`. */
export const SECRETS = {
  hookSecret: "hook-s3cret",
  varSecret: "var-s3cret",
  consumerKey: "ck-policy",
  consumerSecret: "cs-policy",
};
/** The config key of a key pair's private key (its value: the key the case chose). */
export const PAIR_KEY = "pairKey";

// ---- findings ------------------------------------------------------------------------------------

/**
 * The layer a finding comes from, as its source names it (each place words it its own way: the
 * check knows no file name): the default policy, the manifest's, or the policy file. Comparing it
 * tells a rule the manifest's layer finds from the same rule the file's finds.
 */
export function layerOf(source: string | undefined): string {
  if (source === "default policy") return "default";
  if (source?.startsWith("policy of ")) return "manifest";
  if (source?.startsWith("policy file ")) return "file";
  return `unknown source ${source}`;
}
/** The source a finding's text ends with: `... [policy file org.yaml]`. */
export const sourceOf = (said: string) => /\[([^\]]*)\]$/.exec(said)?.[1];

// ---- manifests -----------------------------------------------------------------------------------

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const some = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });

/** A webhook URL: https, or http with allowHttp (validate refuses http without it). */
const hookUrl = (i: number) =>
  fc.tuple(fc.boolean(), fc.constantFrom(...HOSTS)).map(([http, host]) => ({
    url: `${http ? "http" : "https"}://${host}/h${i}`,
    ...(http && { allowHttp: true }),
  }));

const secret = fc.constantFrom(undefined, { generate: true }, { fromConfig: "hookSecret" });

/**
 * Where an entry is: one repository, both, every one by a selector (offline, validate lets it stand
 * for one repository), or the workspace's or project's own (none).
 */
const place = fc.constantFrom<{ repositories?: string[] | string }>(
  { repositories: ["api"] },
  { repositories: ["api", "web"] },
  { repositories: "*" },
  {},
);

const webhook = (flavor: Flavor) => (i: number) =>
  fc
    .record({
      where: place,
      url: hookUrl(i),
      events: some(EVENTS[flavor]),
      secret,
      skipCertVerification: maybe(fc.boolean()),
    })
    .map(({ where, url, events, secret: s, skipCertVerification }) => ({
      ...where,
      ...url,
      events,
      ...(s && { secret: s }),
      ...(skipCertVerification !== undefined && { skipCertVerification }),
    }));

/** Up to `n` entries, each built from its index (URLs, names and keys stay distinct). */
const entries = (n: number, make: (i: number) => fc.Arbitrary<Obj>): fc.Arbitrary<Obj[]> =>
  fc.integer({ min: 0, max: n }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => make(i))));

const cloudDeployKey = fc.record({
  where: fc.constantFrom<Obj>(
    { repositories: ["api"] },
    { repositories: ["api", "web"] },
    { repositories: "*" },
  ),
});

/** Data Center: a repository key with a repository permission, or a project key with a project one. */
const dcDeployKey = fc.oneof(
  fc.record({
    where: fc.constant({ repositories: ["api"] }),
    permission: maybe(fc.constantFrom(...REPO_PERMISSIONS)),
  }),
  fc.record({ where: fc.constant({}), permission: fc.constantFrom(...PROJECT_PERMISSIONS) }),
);

const variable = fc
  .record({
    where: fc.constantFrom<Obj>(
      { repositories: ["api"] },
      { repositories: ["api", "web"] },
      { repositories: "*" },
      { repositories: ["api"], environment: "Production" },
      {},
    ),
    secured: fc.boolean(),
  })
  .map(({ where, secured }) => ({
    ...where,
    ...(secured ? { value: { fromConfig: "varSecret" } } : { value: "x", secured: false }),
  }));

const accessToken = (i: number) =>
  fc
    .oneof(
      fc.record({ where: fc.constant<Obj>({ repositories: ["api"] }), permissions: some(REPO_PERMISSIONS) }),
      fc.record({ where: fc.constant<Obj>({}), permissions: some(TOKEN_PERMISSIONS) }),
      fc.record({
        where: fc.constant<Obj>({ user: "ci-bot" }),
        permissions: some(["PROJECT_READ", "REPO_READ", "REPO_WRITE"]),
      }),
    )
    .chain(({ where, permissions }) =>
      maybe(fc.constantFrom(...EXPIRY)).map((expiryDays) => ({
        ...where,
        name: `token-${i}`,
        permissions,
        ...(expiryDays !== undefined && { expiryDays }),
      })),
    );

/** What a case declares, as data; `text` writes it as a manifest. */
export interface Case {
  flavor: Flavor;
  /** The manifest's `policy:`, if any. */
  policy?: Policy;
  /** A shared policy file's rules, if any. */
  shared?: Policy;
  /** The manifest's data, without `version`, flavor and policy. */
  body: Obj;
  /** The key pair's private key (a config value), when the manifest declares one. */
  pairKey?: string;
}

/** The entries of a manifest of `flavor`: keys placed by a permutation of KEYS, so none repeats. */
const body = (flavor: Flavor): fc.Arbitrary<{ body: Obj; pairKey?: string }> =>
  fc
    .record({
      webhooks: entries(3, webhook(flavor)),
      deployKeys: fc.array(flavor === "cloud" ? cloudDeployKey : dcDeployKey, { maxLength: 2 }),
      sshKey: fc.boolean(),
      keyPair: fc.boolean(),
      variables: fc.uniqueArray(fc.tuple(fc.constantFrom(...VARIABLE_KEYS), variable), {
        maxLength: 3,
        selector: ([k]) => k,
      }),
      tokens: entries(2, accessToken),
      consumer: maybe(some(SCOPES)),
      integration: fc.option(
        fc.record({
          url: fc.constantFrom(...HOSTS).map((h) => `https://${h}/preset`),
          events: some(EVENTS[flavor]),
          variable: fc.tuple(fc.constantFrom(...VARIABLE_KEYS), fc.boolean()),
          expiryDays: maybe(fc.constantFrom(...EXPIRY)),
        }),
        { nil: undefined },
      ),
      keys: fc.shuffledSubarray(
        KEYS.map((_, i) => i),
        { minLength: 5, maxLength: 5 },
      ),
    })
    .map((g) => {
      const key = (n: number) => KEYS[g.keys[n]!]!;
      const out: Obj = {};
      const dc = flavor === "datacenter";
      if (g.webhooks.length) out.webhooks = g.webhooks;
      if (g.deployKeys.length)
        out.deployKeys = g.deployKeys.map((d, i) => ({
          ...d.where,
          key: key(i).publicLine,
          ...("permission" in d && d.permission !== undefined && { permission: d.permission }),
        }));
      if (g.sshKey) out.sshKeys = [{ key: key(2).publicLine, ...(dc && { user: "ci-bot" }) }];
      let pairKey: string | undefined;
      if (!dc && g.keyPair) {
        out.pipelineSshKeyPairs = [
          { repositories: ["api"], privateKey: { fromConfig: PAIR_KEY }, publicKey: key(3).publicLine },
        ];
        pairKey = key(3).privatePem;
      }
      if (!dc && g.variables.length) out.pipelineVariables = g.variables.map(([k, v]) => ({ ...v, key: k }));
      if (dc && g.tokens.length) out.accessTokens = g.tokens;
      if (!dc && g.consumer)
        out.oauthConsumers = [
          {
            id: "ci",
            name: "CI",
            scopes: g.consumer,
            key: { fromConfig: "consumerKey" },
            secret: { fromConfig: "consumerSecret" },
          },
        ];
      const i = g.integration;
      if (i)
        out.integrations = [
          dc
            ? {
                id: "platformsh",
                preset: "platformsh",
                repositories: ["api"],
                options: {
                  project: "abcdefgh1234567",
                  username: "ci-bot",
                  url: "https://bitbucket.example.test",
                  ...(i.expiryDays !== undefined && { expiryDays: i.expiryDays }),
                },
              }
            : {
                id: "bundle",
                preset: "generic",
                repositories: ["api"],
                options: {
                  webhooks: [{ url: i.url, events: i.events }],
                  deployKeys: [{ key: key(4).publicLine }],
                  variables: [
                    i.variable[1]
                      ? { key: `${i.variable[0]}_P`, value: { fromConfig: "varSecret" } }
                      : { key: `${i.variable[0]}_P`, value: "x", secured: false },
                  ],
                },
              },
        ];
      return { body: out, ...(pairKey !== undefined && { pairKey }) };
    });

// ---- policies ------------------------------------------------------------------------------------

const level = fc.constantFrom("error" as const, "warn" as const, "off" as const, undefined);
/** A rule's `enforcement` and `message`, each when given. */
const base = fc
  .record({ enforcement: level, message: fc.constantFrom(...MESSAGES) })
  .map(({ enforcement, message }) => ({
    ...(enforcement !== undefined && { enforcement }),
    ...(message !== undefined && { message }),
  }));
const rule = <T extends Obj>(settings: fc.Arbitrary<T>) =>
  fc.tuple(base, settings).map(([b, s]) => ({ ...b, ...s }));
/** A section with some of its rules (none left empty: `webhooks: {}` says nothing). */
const section = (rules: Record<string, fc.Arbitrary<Obj>>) =>
  fc.record(rules, { requiredKeys: [] }).filter((s) => Object.keys(s).length > 0);

/** A policy over the pools; `events`: the flavors whose events it may list (a file: both). */
export const policy = (flavors: Flavor[]): fc.Arbitrary<Policy> => {
  const events = flavors.flatMap((f) => EVENTS[f]);
  return fc
    .record(
      {
        webhooks: section({
          https: rule(fc.record({ allowHttpOptOut: fc.boolean() }, { requiredKeys: [] })),
          allowedHosts: rule(fc.record({ hosts: some(HOST_GLOBS) })),
          secretRequired: rule(fc.constant({})),
          forbidSkipCertVerification: rule(fc.constant({})),
          events: rule(fc.record({ allow: some(events), deny: some(events) }, { requiredKeys: [] })),
        }),
        keys: section({
          readOnly: rule(fc.constant({})),
          keyTypes: rule(fc.record({ allow: some(KEY_TYPES) })),
          minRsaBits: rule(fc.record({ bits: fc.constantFrom(1024, 2048, 3072, 4096) })),
        }),
        pipelineVariables: section({
          securedWhenKeyMatches: rule(fc.record({ patterns: some(VARIABLE_PATTERNS) }, { requiredKeys: [] })),
        }),
        accessTokens: section({
          maxExpiryDays: rule(fc.record({ days: fc.constantFrom(...EXPIRY, 60) })),
          permissions: rule(fc.record({ allow: some(TOKEN_PERMISSIONS) })),
        }),
        oauthConsumers: section({ maxScopes: rule(fc.record({ scopes: some(SCOPES) })) }),
      },
      { requiredKeys: [] },
    )
    .filter((p) => Object.keys(p).length > 0) as fc.Arbitrary<Policy>;
};

/** A case of `flavor`: its entries, maybe a `policy:`, maybe a policy file. */
export const policyCase = (flavor: Flavor): fc.Arbitrary<Case> =>
  fc
    .record({
      made: body(flavor),
      policy: maybe(policy([flavor])),
      shared: maybe(policy(["cloud", "datacenter"])),
    })
    .map(({ made, policy: p, shared }) => ({
      flavor,
      body: made.body,
      ...(made.pairKey !== undefined && { pairKey: made.pairKey }),
      ...(p && { policy: p }),
      ...(shared && { shared }),
    }));

/** The manifest's text. */
export function manifestText(c: Case): string {
  const head: Obj =
    c.flavor === "cloud"
      ? { version: 1, workspace: "acme" }
      : { version: 1, flavor: "datacenter", project: "PROJ" };
  return stringify({ ...head, ...(c.policy && { policy: c.policy }), ...c.body }, { lineWidth: 0 });
}

/** A policy file's text. */
export const policyFileText = (p: Policy): string => stringify({ version: 1, policy: p }, { lineWidth: 0 });

/** A policy file that applies nothing (every rule off): what a host reads when a case has no file. */
export const NO_POLICY_FILE = policyFileText({ webhooks: { https: { enforcement: "off" } } });

// ---- what exists ---------------------------------------------------------------------------------
//
// Workspaces and projects as Bitbucket holds them (policy-audit.test.ts): objects made by hand,
// over the same pools. Left out: hooks whose URL carries a credential (export writes such a URL as
// a reference to set, which validate cannot read, so it judges no host or scheme of it) and hooks
// apps installed (read-only: audit judges them, export leaves them out since no entry can manage
// them).

export interface LiveHook {
  url: string;
  secret: boolean;
  skipCertVerification: boolean;
  events: string[];
}
export interface LiveVariable {
  key: string;
  secured: boolean;
  /** A deployment environment's variable (its name). */
  environment?: string;
}
export interface LiveKey {
  /** Index in KEYS. */
  key: number;
  label: string;
  /** Data Center access keys: the grant's permission. */
  permission?: string;
}
export interface LiveToken {
  name: string;
  permissions: string[];
  expiryDays?: number;
}

/** A Cloud workspace: repositories api and web, the workspace's own objects, the account's keys. */
export interface CloudLive {
  repos: Record<
    "api" | "web",
    { hooks: LiveHook[]; deployKeys: LiveKey[]; variables: LiveVariable[]; keyPair?: number }
  >;
  hooks: LiveHook[];
  variables: LiveVariable[];
  sshKeys: LiveKey[];
}

/** A Data Center project: repositories api and web, the project's own objects, the user's. */
export interface DcLive {
  repos: Record<"api" | "web", { hooks: LiveHook[]; keys: LiveKey[]; tokens: LiveToken[] }>;
  hooks: LiveHook[];
  keys: LiveKey[];
  tokens: LiveToken[];
  userKeys: LiveKey[];
  userTokens: LiveToken[];
}

const LABELS = ["", "ci", "deploy"];

/** Hooks of one place: each URL once (a second hook with one URL is a duplicate export leaves out). */
const liveHooks = (flavor: Flavor) =>
  fc.uniqueArray(
    fc.record({
      url: fc
        .tuple(fc.boolean(), fc.constantFrom(...HOSTS), fc.constantFrom("a", "b"))
        .map(([http, host, p]) => `${http ? "http" : "https"}://${host}/${p}`),
      secret: fc.boolean(),
      skipCertVerification: fc.boolean(),
      events: some(EVENTS[flavor]),
    }),
    { maxLength: 2, selector: (h) => h.url },
  );

/** Keys of one place, from `pool` (indices in KEYS), each once; the same key may be on another place. */
const liveKeys = (pool: number[], permissions?: string[]) =>
  fc
    .uniqueArray(
      fc.record({
        key: fc.constantFrom(...pool),
        label: fc.constantFrom(...LABELS),
        permission: permissions ? fc.constantFrom(...permissions) : fc.constant(undefined),
      }),
      { maxLength: 2, selector: (k) => k.key },
    )
    .map((ks) =>
      ks.map(({ permission, ...k }): LiveKey => ({ ...k, ...(permission !== undefined && { permission }) })),
    );

const liveVariables = (environments: boolean) =>
  fc
    .uniqueArray(
      fc.record({
        key: fc.constantFrom(...VARIABLE_KEYS),
        secured: fc.boolean(),
        environment: environments
          ? fc.constantFrom(undefined, "Production", "Staging")
          : fc.constant(undefined),
      }),
      { maxLength: 3, selector: (v) => `${v.environment ?? ""}/${v.key}` },
    )
    .map((vs) =>
      vs.map(({ environment, ...v }): LiveVariable => ({
        ...v,
        ...(environment !== undefined && { environment }),
      })),
    );

const liveTokens = (prefix: string, permissions: string[]) =>
  fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom("a", "b", "c").map((n) => `${prefix}-${n}`),
        permissions: some(permissions),
        expiryDays: maybe(fc.constantFrom(...EXPIRY)),
      }),
      { maxLength: 2, selector: (t) => t.name },
    )
    .map((ts) =>
      ts.map(({ expiryDays, ...t }): LiveToken => ({
        ...t,
        ...(expiryDays !== undefined && { expiryDays }),
      })),
    );

const CLOUD_KEYS = KEYS.map((_, i) => i);
/** Data Center: access keys and the user's keys from separate keys (one key record is one or the other). */
const DC_ACCESS_KEYS = [0, 3, 5, 7, 9];
const DC_USER_KEYS = [1, 2, 4, 6, 8];

const cloudRepo = fc.record({
  hooks: liveHooks("cloud"),
  deployKeys: liveKeys(CLOUD_KEYS),
  variables: liveVariables(true),
  keyPair: maybe(fc.constantFrom(...CLOUD_KEYS)),
});

export const cloudLive: fc.Arbitrary<CloudLive> = fc.record({
  repos: fc.record({ api: cloudRepo, web: cloudRepo }),
  hooks: liveHooks("cloud"),
  variables: liveVariables(false),
  sshKeys: liveKeys(CLOUD_KEYS),
});

const dcRepo = (slug: string) =>
  fc.record({
    hooks: liveHooks("datacenter"),
    keys: liveKeys(DC_ACCESS_KEYS, REPO_PERMISSIONS),
    tokens: liveTokens(slug, REPO_PERMISSIONS),
  });

export const dcLive: fc.Arbitrary<DcLive> = fc.record({
  repos: fc.record({ api: dcRepo("api"), web: dcRepo("web") }),
  hooks: liveHooks("datacenter"),
  keys: liveKeys(DC_ACCESS_KEYS, PROJECT_PERMISSIONS),
  tokens: liveTokens("project", TOKEN_PERMISSIONS),
  userKeys: liveKeys(DC_USER_KEYS),
  userTokens: liveTokens("me", ["PROJECT_READ", "REPO_READ", "REPO_WRITE"]),
});
