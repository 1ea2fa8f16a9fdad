// What the plan-and-up property (plan-up.test.ts) generates and observes: small Cloud manifests
// over a few pools of values (so two of them, and hand-made objects, often meet on the same
// natural keys), changes made by hand in the emulator, and each Bitbucket object as its fields.

import fc from "fast-check";
import type { Store } from "../emulator/store";
import { braced } from "../emulator/store";
import { ed25519 } from "../keys";
import { parsePublicKey, isKeyError } from "../../provider/ssh";

// ---- pools ---------------------------------------------------------------------------------------

export const URLS = [
  "https://hooks.example.test/1",
  "https://hooks.example.test/2",
  "https://hooks.example.test/3",
];
/** The generic preset's webhook: its own URL (an entry's would collide with it). */
export const INTEGRATION_URL = "https://ci.example.test/generic";
const HOOK_NAMES = [undefined, "a", "b"] as const;
const EVENTS = [["repo:push"], ["pullrequest:created", "repo:push"]];
const LABELS = ["CI", "deploy"];
const DEPLOY_KEYS = [ed25519("dk-0@example.test"), ed25519("dk-1@example.test")];
const SSH_KEYS = [ed25519("me-0@laptop"), ed25519("me-1@laptop")];
const HOST_KEYS = [ed25519(), ed25519()];
/** The one key pair a manifest declares (its private key is the `pairKey` config), and another made by hand. */
export const PAIR = ed25519();
const OTHER_PAIR = ed25519();
const VARIABLES = ["REGION", "TOKEN"];
const VALUES = ["eu-west-1", "us-east-1"];
export const HOSTNAME = "deploy.example.test";

/** The OAuth consumer made by hand in Bitbucket (the emulator's seed), with its key and secret. */
export const CONSUMER = {
  key: "ck-plan-up",
  secret: "cs-plan-up",
  scopes: ["repository", "webhook"],
  private: true,
};
const CONSUMER_NAMES = ["CI", "CI bot"];
const CONSUMER_SCOPES = [["repository"], ["repository", "webhook"]];

/** Stack config every run has: each secret field reads one key, so its value never changes between runs. */
export const SECRETS = {
  hookSecret: "hook-s3cret",
  varSecret: "var-s3cret",
  pairKey: PAIR.privatePem,
  consumerKey: CONSUMER.key,
  consumerSecret: CONSUMER.secret,
};

// ---- manifests -----------------------------------------------------------------------------------

interface Hook {
  url: number;
  name: number;
  events: number;
  description: boolean;
  active: boolean;
  secret: "none" | "ref" | "generate";
  adopt: boolean;
  retain: boolean;
}
interface Key {
  key: number;
  label: number;
  adopt: boolean;
}
interface Variable {
  key: number;
  secured: boolean;
  value: number;
  adopt: boolean;
}
export interface Manifest {
  hooks: Hook[];
  deployKeys: Key[];
  sshKeys: Key[];
  variables: Variable[];
  knownHost?: { key: number; adopt: boolean };
  keyPair?: { adopt: boolean };
  integration?: { id: number; events: number; adopt: boolean };
  consumer?: { name: number; scopes: number };
}

const idx = (n: number) => fc.nat({ max: n - 1 });
const hook: fc.Arbitrary<Hook> = fc.record({
  url: idx(URLS.length),
  name: idx(HOOK_NAMES.length),
  events: idx(EVENTS.length),
  description: fc.boolean(),
  active: fc.boolean(),
  secret: fc.constantFrom("none" as const, "ref" as const, "generate" as const),
  adopt: fc.boolean(),
  retain: fc.boolean(),
});
const key = (keys: number): fc.Arbitrary<Key> =>
  fc.record({ key: idx(keys), label: idx(LABELS.length), adopt: fc.boolean() });
const variable: fc.Arbitrary<Variable> = fc.record({
  key: idx(VARIABLES.length),
  secured: fc.boolean(),
  value: idx(VALUES.length),
  adopt: fc.boolean(),
});

export const manifest: fc.Arbitrary<Manifest> = fc.record(
  {
    // One resource per URL and per name (a name twice is one resource declared twice).
    hooks: fc.uniqueArray(hook, {
      maxLength: 2,
      comparator: (a, b) => a.url === b.url || (a.name !== 0 && a.name === b.name),
    }),
    deployKeys: fc.uniqueArray(key(DEPLOY_KEYS.length), { maxLength: 1, selector: (k) => k.key }),
    sshKeys: fc.uniqueArray(key(SSH_KEYS.length), { maxLength: 1, selector: (k) => k.key }),
    variables: fc.uniqueArray(variable, { maxLength: 2, selector: (v) => v.key }),
    knownHost: fc.record({ key: idx(HOST_KEYS.length), adopt: fc.boolean() }),
    keyPair: fc.record({ adopt: fc.boolean() }),
    integration: fc.record({ id: idx(2), events: idx(EVENTS.length), adopt: fc.boolean() }),
    consumer: fc.record({ name: idx(CONSUMER_NAMES.length), scopes: idx(CONSUMER_SCOPES.length) }),
  },
  { requiredKeys: ["hooks", "deployKeys", "sshKeys", "variables"] },
);

const adoptLine = (adopt: boolean) => (adopt ? "\n    adopt: true" : "");

/** The manifest's text. */
export function manifestText(m: Manifest): string {
  const out = ["version: 1", "workspace: acme"];
  if (m.hooks.length) out.push("webhooks:");
  for (const h of m.hooks) {
    const name = HOOK_NAMES[h.name];
    out.push(
      `  - repositories: [api]${name ? `\n    name: ${name}` : ""}\n    url: ${URLS[h.url]}\n    events: [${EVENTS[h.events]!.join(", ")}]` +
        (h.description ? "\n    description: managed" : "") +
        (h.active ? "" : "\n    active: false") +
        (h.secret === "ref" ? "\n    secret: { fromConfig: hookSecret }" : "") +
        (h.secret === "generate" ? "\n    secret: { generate: true }" : "") +
        (h.retain ? "\n    retainOnDelete: true" : "") +
        adoptLine(h.adopt),
    );
  }
  if (m.deployKeys.length) out.push("deployKeys:");
  for (const k of m.deployKeys)
    out.push(
      `  - repositories: [api]\n    key: ${DEPLOY_KEYS[k.key]!.publicLine}\n    label: ${LABELS[k.label]}${adoptLine(k.adopt)}`,
    );
  if (m.sshKeys.length) out.push("sshKeys:");
  for (const k of m.sshKeys)
    out.push(`  - key: ${SSH_KEYS[k.key]!.publicLine}\n    label: ${LABELS[k.label]}${adoptLine(k.adopt)}`);
  if (m.variables.length) out.push("pipelineVariables:");
  for (const v of m.variables)
    out.push(
      `  - repositories: [api]\n    key: ${VARIABLES[v.key]}\n` +
        (v.secured
          ? "    value: { fromConfig: varSecret }"
          : `    value: ${VALUES[v.value]}\n    secured: false`) +
        adoptLine(v.adopt),
    );
  if (m.knownHost)
    out.push(
      `knownHosts:\n  - repositories: [api]\n    hostname: ${HOSTNAME}\n    publicKey: ${HOST_KEYS[m.knownHost.key]!.publicLine}${adoptLine(m.knownHost.adopt)}`,
    );
  if (m.keyPair)
    out.push(
      `pipelineSshKeyPairs:\n  - repositories: [api]\n    privateKey: { fromConfig: pairKey }\n    publicKey: ${PAIR.publicLine}${adoptLine(m.keyPair.adopt)}`,
    );
  if (m.consumer)
    out.push(
      `oauthConsumers:\n  - id: ci\n    name: ${CONSUMER_NAMES[m.consumer.name]}\n    scopes: [${CONSUMER_SCOPES[m.consumer.scopes]!.join(", ")}]\n    key: { fromConfig: consumerKey }\n    secret: { fromConfig: consumerSecret }`,
    );
  if (m.integration)
    out.push(
      `integrations:\n  - id: ci${m.integration.id || ""}\n    preset: generic${m.consumer ? "\n    consumer: ci" : ""}\n    repositories: [api]\n    options:\n      webhooks: [{ url: "${INTEGRATION_URL}", events: [${EVENTS[m.integration.events]!.join(", ")}] }]${adoptLine(m.integration.adopt)}`,
    );
  return out.join("\n") + "\n";
}

// ---- changes by hand -----------------------------------------------------------------------------

/** What happens by hand to each object the first run left (in a fixed order), and what is added. */
export interface ByHand {
  existing: Array<"keep" | "drift" | "delete">;
  added: Array<{ kind: number; at: number; variant: number }>;
}

export const byHand: fc.Arbitrary<ByHand> = fc.record({
  existing: fc.array(fc.constantFrom("keep" as const, "keep" as const, "drift" as const, "delete" as const), {
    maxLength: 10,
  }),
  added: fc.array(fc.record({ kind: idx(6), at: fc.nat(), variant: idx(3) }), { maxLength: 3 }),
});

const repo = (s: Store) => s.workspaces.get("acme")!.repos.get("api")!;
const me = (s: Store) => [...s.accounts.values()][0]!;
const hostKey = (k: { normalized: string }) => k.normalized.split(" ");

/** Empties the repository and the account of every object (the store's own emptyObjects). */
export function resetStore(s: Store): void {
  s.emptyObjects();
}

/** Applies the changes by hand. */
export function applyByHand(s: Store, h: ByHand): void {
  const r = repo(s);
  const objects: Array<{ drift(): void; remove(): void }> = [
    ...r.hooks.map((x) => ({
      drift: () => {
        if (x.secret === undefined) x.secret = "by-hand";
        else x.events = x.events.length === 1 ? ["issue:created", "repo:push"] : ["repo:push"];
        x.description = "by hand";
      },
      remove: () => r.hooks.splice(r.hooks.indexOf(x), 1),
    })),
    ...r.deployKeys.map((x) => ({
      drift: () => void (x.label = "by hand"),
      remove: () => r.deployKeys.splice(r.deployKeys.indexOf(x), 1),
    })),
    ...me(s).sshKeys.map((x) => ({
      drift: () => void (x.label = "by hand"),
      remove: () => me(s).sshKeys.splice(me(s).sshKeys.indexOf(x), 1),
    })),
    ...r.variables.map((x) => ({
      drift: () => void (x.value = "by-hand"),
      remove: () => r.variables.splice(r.variables.indexOf(x), 1),
    })),
    ...r.knownHosts.map((x) => ({
      drift: () => {
        const [type, k] = hostKey(x.key === hostKey(HOST_KEYS[0]!)[1] ? HOST_KEYS[1]! : HOST_KEYS[0]!);
        Object.assign(x, { key_type: type, key: k });
      },
      remove: () => r.knownHosts.splice(r.knownHosts.indexOf(x), 1),
    })),
    ...(r.keyPair
      ? [
          {
            drift: () =>
              void (r.keyPair = { private_key: OTHER_PAIR.privatePem, public_key: OTHER_PAIR.normalized }),
            remove: () => void delete r.keyPair,
          },
        ]
      : []),
  ];
  objects.forEach((o, i) => {
    const what = h.existing[i] ?? "keep";
    if (what === "drift") o.drift();
    if (what === "delete") o.remove();
  });
  for (const a of h.added) add(s, a);
}

/**
 * An object made by hand at a natural key of the pools (when none is there): as a manifest of the
 * pools would declare it (variant 0), differing (1), or holding a write-only value (2).
 */
function add(s: Store, a: ByHand["added"][number]): void {
  const r = repo(s);
  const v = a.variant;
  switch (a.kind) {
    case 0: {
      const url = [...URLS, INTEGRATION_URL][a.at % (URLS.length + 1)]!;
      if (r.hooks.some((x) => x.url === url)) return;
      s.addHook("acme", "api", {
        url,
        events: v === 1 ? ["issue:created"] : ["repo:push"],
        ...(v === 2 && { secret: a.at % 2 ? SECRETS.hookSecret : "someone-else's" }),
      });
      return;
    }
    case 1: {
      const k = DEPLOY_KEYS[a.at % DEPLOY_KEYS.length]!;
      if (r.deployKeys.some((x) => x.key === k.normalized)) return;
      s.addDeployKey("acme", "api", k.publicLine, v === 1 ? "by hand" : LABELS[a.at % LABELS.length]);
      return;
    }
    case 2: {
      const k = SSH_KEYS[a.at % SSH_KEYS.length]!;
      const p = parsePublicKey(k.publicLine);
      if (isKeyError(p) || me(s).sshKeys.some((x) => x.key === p.normalized)) return;
      me(s).sshKeys.push(
        s.keyRecord(
          p.normalized,
          p.comment,
          v === 1 ? "by hand" : LABELS[a.at % LABELS.length]!,
          p.fingerprint,
        ),
      );
      return;
    }
    case 3: {
      const key = VARIABLES[a.at % VARIABLES.length]!;
      if (r.variables.some((x) => x.key === key)) return;
      const secured = v === 2;
      r.variables.push({
        uuid: braced(),
        key,
        value: secured
          ? a.at % 2
            ? SECRETS.varSecret
            : "other"
          : v === 1
            ? "by-hand"
            : VALUES[a.at % VALUES.length]!,
        secured,
      });
      return;
    }
    case 4: {
      if (r.knownHosts.some((x) => x.hostname === HOSTNAME)) return;
      const [type, k] = hostKey(HOST_KEYS[a.at % HOST_KEYS.length]!);
      r.knownHosts.push({ uuid: braced(), hostname: HOSTNAME, key_type: type!, key: k! });
      return;
    }
    default: {
      if (r.keyPair) return;
      const pair = v === 1 ? OTHER_PAIR : PAIR;
      r.keyPair = { private_key: pair.privatePem, public_key: pair.normalized };
    }
  }
}

// ---- objects as fields ---------------------------------------------------------------------------

/** One Bitbucket object as the manifest names its fields; write-only ones under their names too. */
export interface Seen {
  fields: Record<string, string>;
  /** Fields Bitbucket never returns (a webhook's secret, a secured value, a private key). */
  writeOnly: string[];
}

/** Every object of the repository and the account, by its id (the last part of a Pulumi id). */
export function snapshot(s: Store): Map<string, Seen> {
  const r = repo(s);
  const out = new Map<string, Seen>();
  for (const h of r.hooks)
    out.set(h.uuid, {
      fields: {
        url: h.url,
        description: h.description,
        events: [...h.events].sort().join(","),
        active: String(h.active),
        skipCertVerification: String(h.skip_cert_verification),
        secret: h.secret ?? "",
      },
      writeOnly: ["secret"],
    });
  for (const k of r.deployKeys)
    out.set(String(k.id), { fields: { key: k.key, label: k.label }, writeOnly: [] });
  for (const k of me(s).sshKeys) out.set(k.uuid, { fields: { key: k.key, label: k.label }, writeOnly: [] });
  for (const v of r.variables)
    out.set(v.uuid, {
      fields: { key: v.key, value: v.value, secured: String(v.secured) },
      writeOnly: v.secured ? ["value"] : [],
    });
  for (const h of r.knownHosts)
    out.set(h.uuid, { fields: { hostname: h.hostname, publicKey: `${h.key_type} ${h.key}` }, writeOnly: [] });
  if (r.keyPair)
    out.set("key-pair", {
      fields: { publicKey: r.keyPair.public_key, privateKey: r.keyPair.private_key },
      writeOnly: ["privateKey"],
    });
  return out;
}

/** The snapshot key of the object a resource's Pulumi id names. */
export const objectOf = (type: string, id: string): string =>
  type === "PipelineSshKeyPair" ? "key-pair" : (id.split("/").pop() ?? id);
