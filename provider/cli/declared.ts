// What `pulumi up` would declare for a manifest, without the Pulumi engine: the program itself
// (deployManifest, presets and integration children included) runs under Pulumi's own mocks
// (`pulumi.runtime.setMocks`), and every custom resource it registers is reported with its
// type, name and inputs. One source of truth for names and inputs: plan never re-derives them.
//
// Secrets are never read: each reference resolves to a placeholder, and the fields that arrive
// as secrets are named so plan shows them as "(write-only)" and never compares them.

import * as pulumi from "../pulumi";
import { verified } from "../kinds";
import { deployManifest } from "../manifest/deploy";
import type { RepoLister } from "../manifest/expand";
import type { Manifest } from "../manifest/load";
import type { Loc } from "../kinds/kind";

/** One custom resource the program declares. */
export interface Declared {
  /** Resource type: Webhook, DeployKey, ... */
  type: string;
  /** Its Pulumi name (the last part of its URN). */
  name: string;
  /** Its inputs as the provider's check receives them, secrets as placeholders. */
  inputs: Record<string, unknown>;
  /** Input fields given as secrets: never shown, never compared. */
  secrets: string[];
  /** The manifest line of the entry that declares it (an integration's child: its integration's). */
  line?: number;
  /** Where that entry is. */
  loc?: Loc;
  /** Where that entry's fields are (not for an integration's children: their fields are the preset's). */
  at?: Record<string, Loc>;
  /** Names it had before (Pulumi aliases): the engine carries a stack's resource over under its new name. */
  aliases?: string[];
}

/** The value every secret reference takes here: never sent, never shown. */
export const SECRET_PLACEHOLDER = "(secret not read by plan)";

/** The marker the Pulumi SDK puts on a secret value (sdk/nodejs/runtime/rpc.ts specialSigKey). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

const isSecret = (v: unknown): v is { value?: unknown } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] !== undefined;

/** Whether a value as the engine gets it is, or holds, a secret. */
export const containsSecret = (v: unknown): boolean =>
  isSecret(v) || (typeof v === "object" && v !== null && Object.values(v).some(containsSecret));

/** Values as the engine sends them to a provider that does not accept secrets: unwrapped. */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecret(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** How long the program may take to register everything (it waits on nothing but its own outputs). */
export const SETTLE = { limitMs: 30_000 };

/**
 * Runs the manifest's program under mocks and returns what it declares, in declaration order.
 * OAuth consumers answer with their declared scopes as granted (plan cannot verify them), so
 * integrations gated on them declare their children. Throws the program's first error.
 */
export async function declaredBy(m: Manifest, repos?: RepoLister): Promise<Declared[]> {
  // The SDK records a stack trace with every promise it tracks, for leak reports plan never
  // prints: without stack traces the program runs about twice as fast (npm run bench -- --plan).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await declare(m, repos);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

async function declare(m: Manifest, repos?: RepoLister): Promise<Declared[]> {
  const declared: Declared[] = [];
  const registrations = await mockRegistrations("plan", async (type, name, raw) => {
    const inputs = unwrapSecrets(raw) as Record<string, unknown>;
    const secrets = Object.keys(raw).filter((k) => isSecret(raw[k]));
    const was = aliases.get(name);
    declared.push({ type, name, inputs, secrets, ...(was?.length && { aliases: was }) });
    return {
      id: name,
      state: verified(type)?.assumed(inputs) ?? inputs,
    };
  });
  const aliases = aliasesByName();
  const { outputs, resources, declaredAt, fieldsAt } = await deployManifest(m, repos, {
    secret: () => pulumi.secret(SECRET_PLACEHOLDER),
  });
  // Wait for every output (an integration's gate fails here when its consumer lacks a scope)...
  await Promise.all(Object.values(outputs).map((o) => awaitOutputs(o)));
  // ...then for registrations still under way.
  await registrations.settled(SETTLE.limitMs);
  const places = placesOf(resources, declaredAt);
  for (const d of declared) {
    const loc = places.get(`${d.type}::${d.name}`);
    if (loc === undefined) continue;
    d.line = loc.line;
    d.loc = loc;
    if (fieldsAt[d.name] && declaredAt[d.name] === loc) d.at = fieldsAt[d.name];
  }
  return declared;
}

/** A resource as the Pulumi SDK (resource.ts) holds it: a component knows its children. */
type WithChildren = pulumi.Resource & { __childResources?: Set<pulumi.Resource> };

/**
 * Where every declared resource is declared, by `type::name`: its entry, and for the children of a
 * component (an integration's webhooks, keys, tokens), the component's entry. The SDK's
 * mocks do not say a resource's parent; the SDK's Resource constructor adds each child to its
 * parent's `__childResources` (@pulumi/pulumi resource.ts), which is read here.
 */
function placesOf(resources: Record<string, pulumi.Resource>, at: Record<string, Loc>): Map<string, Loc> {
  const places = new Map<string, Loc>();
  const visit = (r: WithChildren, loc: Loc) => {
    places.set(`${pulumi.resourceType(r).split(":").pop()}::${pulumi.resourceName(r)}`, loc);
    for (const child of r.__childResources ?? []) visit(child, loc);
  };
  for (const [name, r] of Object.entries(resources)) {
    const loc = at[name];
    if (loc !== undefined) visit(r, loc);
  }
  return places;
}

/** What a custom resource registration answers: its id and output state. */
export type Registrar = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
) => Promise<{ id: string; state: Record<string, unknown> }>;

/**
 * Installs Pulumi's mocks for a program about to run: every custom resource it registers goes to
 * `register` (type: the last part of its token, inputs as sent, secrets still marked), components
 * get no state. `settled` resolves once every registration is done, those that started late too
 * (registrations that wait on other resources' outputs), or after `limitMs`.
 */
export async function mockRegistrations(
  stack: string,
  register: Registrar,
): Promise<{ settled(limitMs: number): Promise<void> }> {
  let calls = 0;
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        calls++;
        if (!args.custom) return { id: undefined, state: {} };
        return await register(args.type.split(":").pop() ?? args.type, args.name, args.inputs);
      },
      call: (args) => args.inputs,
    },
    "bitbucket-iac",
    stack,
    false,
  );
  return {
    async settled(limitMs) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((r) => (timer = setTimeout(r, limitMs)));
      await Promise.race([registrationsDone(() => calls), limit]);
      clearTimeout(timer);
    },
  };
}

/**
 * Resolves when the SDK has no registration under way (its `waitForRPCs`, what a program's exit
 * awaits) and none started since: a registration made as another's outputs resolve starts after
 * the SDK's queue may have looked empty, so it is asked again until a turn passes with none.
 */
async function registrationsDone(calls: () => number): Promise<void> {
  // Internal to the SDK (left out of its typings), there since its first versions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  for (;;) {
    const before = calls();
    await waitForRPCs();
    await new Promise((r) => setImmediate(r));
    if (calls() === before) return;
  }
}

/**
 * The aliases of each resource the program registers from now on, by name. The mocks hand
 * `newResource` no options: they are read off the RegisterResource request, as the engine reads them.
 */
function aliasesByName(): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    byName.set(
      req.getName(),
      req.getAliasesList().flatMap((a) => a.getSpec?.()?.getName() || []),
    );
    return register(req, cb);
  };
  return byName;
}

interface RegisterRequest {
  getName(): string;
  getAliasesList(): Array<{ getSpec?(): { getName(): string } | undefined }>;
}

/** Resolves once every output in `v` (an output, or a record of them) has; rejects with the first failure. */
async function awaitOutputs(v: unknown): Promise<void> {
  if (pulumi.Output.isInstance(v)) {
    await (v as unknown as { promise(): Promise<unknown> }).promise();
  } else if (v && typeof v === "object") {
    await Promise.all(Object.values(v).map((x) => awaitOutputs(x)));
  }
}
