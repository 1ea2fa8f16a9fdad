// A stack recorded once and replayed later: what the issue-20 upgrade guard
// (test/regressions/20-upgrade-unchanged.test.ts) and its generator
// (test/fixtures/make-stack-before-20.ts) share. A recording holds one manifest's `pulumi up` as
// the engine harness ran it: the engine's state, every registration the program made (type, name,
// parent, aliases, options: what a resource's URN and state depend on), the stack outputs
// (secretness kept), and the emulator's store with the Bitbucket objects the state points at.
// Replaying puts the state into a fresh Engine and the objects into a fresh emulator, and runs an
// `up` of the same manifest with the code of today.

import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import type { Emulator } from "../emulator/server";
import type { Seed, Store } from "../emulator/store";
import { Engine, type StateEntry, type Step } from "./deploy";
import { dcFixture, FAST_RETRIES, fixture, TOKEN, type Fixture } from "./fixture";

export type Flavor = "cloud" | "datacenter";

const FIXTURES = path.resolve(__dirname, "../fixtures/upgrade-20");

/** The private key of the manifest's pipeline key pair, derived from this seed (never committed). */
const PAIR_SEED = "upgrade-20 key pair";

/** How one flavor's stack is set up: the emulator's seed, and the secrets the manifest refers to. */
export interface Setup {
  seed: Seed;
  /** Stack config of project bitbucket-iac (`{ fromConfig: name }`), all secret. */
  config: Record<string, string>;
  /** Environment variables (`{ fromEnv: NAME }`). */
  env: Record<string, string>;
}

/** An Ed25519 key made from a seed: the same key on every machine, with nothing to commit. */
function seededEd25519(seed: string): { privatePem: string } {
  const raw = crypto.createHash("sha256").update(seed).digest();
  // PKCS#8 of an Ed25519 key is a fixed 16-byte header and the 32-byte seed (RFC 8410).
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), raw]);
  const key = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  return { privatePem: key.export({ format: "pem", type: "pkcs8" }).toString() };
}

/**
 * Values a recording holds by name instead of by value: those of one run (the emulator's address)
 * and the key pair's private key (derived, so not committed). Replaced in the recording's text.
 */
export function placeholders(emulator: Emulator): Record<string, string> {
  return { "<emulator>": emulator.url, "<key pair>": seededEd25519(PAIR_SEED).privatePem };
}

/** One registration as the engine receives it: what its URN and the engine's handling depend on. */
export interface Registration {
  /** Type token: `pulumi-nodejs:dynamic/bitbucket:Webhook`, `bitbucket:index:Integration`. */
  type: string;
  name: string;
  custom: boolean;
  /** The parent's URN ("" for the stack). */
  parent: string;
  /** Earlier names and places (Pulumi aliases), each as the fields it sets. */
  aliases: Array<Record<string, string | boolean>>;
  retainOnDelete: boolean;
  protect: boolean;
  additionalSecretOutputs: string[];
  ignoreChanges: string[];
  replaceOnChanges: string[];
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getRetainondelete?(): boolean;
  getProtect?(): boolean;
  getAdditionalsecretoutputsList(): string[];
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getAliasesList(): Array<{
    getUrn(): string;
    getSpec(): undefined | Record<"getName" | "getType" | "getProject" | "getStack" | "getParenturn", () => string> & { getNoparent(): boolean }; // prettier-ignore
  }>;
}

/** The alias's fields that are set. */
function aliasOf(a: ReturnType<RegisterRequest["getAliasesList"]>[number]): Record<string, string | boolean> {
  const s = a.getSpec();
  const fields: Record<string, string | boolean> = {
    urn: a.getUrn(),
    name: s?.getName() ?? "",
    type: s?.getType() ?? "",
    project: s?.getProject() ?? "",
    stack: s?.getStack() ?? "",
    parentUrn: s?.getParenturn() ?? "",
    noParent: s?.getNoparent() ?? false,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== "" && v !== false));
}

/**
 * Records every registration of the program about to run (custom resources and components),
 * read off the request the mock monitor gets, as the engine would. Call inside the program: each
 * `Engine.up` installs a new monitor.
 */
function recordRegistrations(into: Registration[]): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    into.push({
      type: req.getType(),
      name: req.getName(),
      custom: req.getCustom(),
      parent: req.getParent(),
      aliases: req.getAliasesList().map(aliasOf),
      retainOnDelete: req.getRetainondelete?.() === true,
      protect: req.getProtect?.() === true,
      additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()].sort(),
      ignoreChanges: [...req.getIgnorechangesList()].sort(),
      replaceOnChanges: [...req.getReplaceonchangesList()].sort(),
    });
    return register(req, cb);
  };
}

/** A secret output's value as a recording shows it (secretness is compared with the value). */
export const SECRET = "<secret>";

/** Every output in `v` (an output, or records of them), resolved: a secret one as `{ "<secret>": value }`. */
async function resolve(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const o = v as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
    const value = await o.promise();
    return (await o.isSecret) ? { [SECRET]: value } : value;
  }
  if (v && typeof v === "object" && !Array.isArray(v) && !pulumi.Resource.isInstance(v)) {
    const entries = await Promise.all(
      Object.entries(v).map(async ([k, x]) => [k, await resolve(x)] as const),
    );
    return Object.fromEntries(entries);
  }
  return v;
}

/** What one `up` of a manifest did, and left. */
export interface Run {
  steps: Step[];
  error?: Error;
  registrations: Registration[];
  /** The stack outputs, resolved. */
  outputs: unknown;
}

/** A flavor's emulator (seeded, its clock at `clock`) and a host configured for it, on `clock` too. */
export async function start(flavor: Flavor, seed: Seed, clock: string): Promise<Fixture> {
  const opts = { env: { BITBUCKET_IAC_NOW: clock } };
  const f = await (flavor === "cloud" ? fixture : dcFixture)(seed, opts);
  f.emulator.store.now = () => Date.parse(clock);
  return f;
}

/**
 * Runs `pulumi up` of manifest `file` through `engine` with `flavor`'s secrets, as the program
 * of Pulumi.yaml runs it (deployManifest over loadManifest), and resolves its outputs.
 * `secrets` are the config and environment values, placeholders already replaced.
 */
export async function up(
  engine: Engine,
  f: Fixture,
  flavor: Flavor,
  file: string,
  secrets: Pick<Setup, "config" | "env">,
  clock: string,
): Promise<Run> {
  const registrations: Registration[] = [];
  let outputs: Record<string, unknown> = {};
  const connection: Record<string, string> =
    flavor === "cloud"
      ? { "bitbucket:apiUrl": f.emulator.apiUrl }
      : { "bitbucket:flavor": "datacenter", "bitbucket:apiUrl": f.emulator.dcUrl };
  const saved = { ...process.env };
  // The program lists repositories for selectors from this process, with the stack's connection.
  Object.assign(process.env, FAST_RETRIES, secrets.env, { BITBUCKET_IAC_NOW: clock });
  try {
    const run = await engine.up(async () => {
      const config = Object.fromEntries(Object.entries(secrets.config).map(([k, v]) => [`bitbucket-iac:${k}`, v])); // prettier-ignore
      pulumi.runtime.setAllConfig({ ...config, ...connection, "bitbucket:token": TOKEN }, [
        ...Object.keys(config),
        "bitbucket:token",
      ]);
      recordRegistrations(registrations);
      const r = await deployManifest(loadManifest(file));
      outputs = r.outputs;
      return [...Object.values(r.resources), ...Object.values(outputs)];
    });
    return { ...run, registrations, outputs: run.error ? undefined : await resolve(outputs) };
  } finally {
    process.env = saved;
    pulumi.runtime.setAllConfig({}, []);
    // deployManifest copied the stack's connection into this process's settings: forget it, so
    // a later test in the process does not connect to a Data Center it never configured.
    setProviderConfig(() => undefined);
  }
}

// ---- the emulator's store ----------------------------------------------------------------------

const MAP = "<Map>";

/** The store's data (its Bitbucket objects, ids, counters) as JSON text; Maps as `{ "<Map>": entries }`. */
export function storeData(store: Store): unknown {
  return JSON.parse(JSON.stringify(store, (_k, v: unknown) => (v instanceof Map ? { [MAP]: [...v] } : v)));
}

const revive = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(revive);
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o[MAP]))
    return new Map((o[MAP] as Array<[unknown, unknown]>).map(([k, x]) => [k, revive(x)]));
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
};

/**
 * Puts recorded data into a store over its fresh one: each recorded field replaces the fresh
 * value, while fields the emulator has gained since the recording keep their fresh defaults.
 */
function mergeInto(fresh: unknown, recorded: unknown): unknown {
  if (fresh instanceof Map && recorded instanceof Map) {
    for (const k of [...fresh.keys()]) if (!recorded.has(k)) fresh.delete(k);
    for (const [k, v] of recorded) fresh.set(k, fresh.has(k) ? mergeInto(fresh.get(k), v) : v);
    return fresh;
  }
  const isObject = (x: unknown) => x && typeof x === "object" && !Array.isArray(x) && !(x instanceof Map);
  if (isObject(fresh) && isObject(recorded)) {
    const f = fresh as Record<string, unknown>;
    for (const [k, v] of Object.entries(recorded as Record<string, unknown>)) f[k] = mergeInto(f[k], v);
    return f;
  }
  return recorded;
}

/** Restores the data `storeData` took into `store` (an emulator's, started from the same seed). */
export function restoreStore(store: Store, data: unknown): void {
  mergeInto(store, revive(data));
}

// ---- the recording ------------------------------------------------------------------------------

export interface Recording {
  about: string;
  flavor: Flavor;
  /** The commit whose code made the recording. */
  madeBy: string;
  clock: string;
  /** The manifest as deployed (the test refuses a manifest file that differs). */
  manifest: string;
  setup: Setup;
  /** The engine's state after the up, in creation order. */
  state: StateEntry[];
  registrations: Registration[];
  outputs: unknown;
  /** The emulator's store after the up (storeData). */
  store: unknown;
}

export const manifestFile = (flavor: Flavor) => path.join(FIXTURES, `${flavor}.yaml`);
export const recordingFile = (flavor: Flavor) => path.join(FIXTURES, `${flavor}.json`);

/** Text with each placeholder's value put back as its name (`toNames`), or each name as its value. */
export function substitute(text: string, values: Record<string, string>, toNames: boolean): string {
  let out = text;
  for (const [name, value] of Object.entries(values)) {
    const [from, to] = [JSON.stringify(name).slice(1, -1), JSON.stringify(value).slice(1, -1)];
    out = toNames ? out.split(to).join(from) : out.split(from).join(to);
  }
  return out;
}

/** A recording as committed: placeholders in place (enough for its seed and clock). */
export const readRecording = (flavor: Flavor): Recording =>
  JSON.parse(fs.readFileSync(recordingFile(flavor), "utf8")) as Recording;

/** A recording, its placeholders replaced by this run's values. */
export function resolveRecording(flavor: Flavor, emulator: Emulator): Recording {
  const text = fs.readFileSync(recordingFile(flavor), "utf8");
  return JSON.parse(substitute(text, placeholders(emulator), false)) as Recording;
}
