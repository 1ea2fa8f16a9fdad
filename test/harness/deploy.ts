// A small Pulumi engine for whole programs: the program runs under `pulumi.runtime.setMocks`,
// and every custom resource it registers goes through the real dynamic-provider host (the
// engine harness) as `pulumi up` would send it: Check, then Create for a new resource, or
// Diff against the state of the last run and then Update, or Replace (deleting first when the
// provider asks for it). Resources the program no longer declares are deleted, last created
// first. State lives in memory, between the runs of one test. Each run (up, refresh, destroy)
// finds the host as each `pulumi` command does: new (a new run in the same process by default,
// which forgets all the provider keeps; a new process with `newProcess`). Secrets are tracked as the engine does
// for a provider that does not accept them (the dynamic-provider host): an output is secret when
// its input of the same name was, or when it is listed in additionalSecretOutputs; `checkpoint`
// shows the state as `pulumi stack export` writes it, secrets encrypted.

import * as pulumi from "@pulumi/pulumi";
import { createLimiter } from "../../provider/api/limiter";
import { containsSecret, mockRegistrations, unwrapSecrets } from "../../provider/cli/declared";
import type { Harness, Props } from "./engine";

export { unwrapSecrets };

interface RegisterRequest {
  getName(): string;
  getRetainondelete?(): boolean;
  getAliasesList(): Array<{ getSpec?(): { getName(): string } | undefined }>;
  getAdditionalsecretoutputsList?(): string[];
}

export interface StateEntry {
  type: string;
  name: string;
  id: string;
  inputs: Props;
  outs: Props;
  /** The resource's retainOnDelete: a delete only drops it from state. */
  retain?: boolean;
  /** Inputs the program gave as secrets: encrypted in state. */
  secretInputs?: string[];
  /** Outputs encrypted in state: those of a secret input, and additionalSecretOutputs. */
  secretOutputs?: string[];
}

/** The options of a registration the engine acts on, read off the request as the engine gets it. */
interface Registered {
  retain: boolean;
  aliases: string[];
  secretOutputs: string[];
}

/** A check failure as the host returns it: the input at fault and why. */
export interface CheckFailure {
  property: string;
  reason: string;
}

export interface Step {
  op: "create" | "same" | "update" | "replace" | "delete" | "retain" | "rename";
  type: string;
  name: string;
}

export class Engine {
  /** Resources in creation order, keyed `Type::name`. */
  readonly state = new Map<string, StateEntry>();
  /** Every check that failed, in every run: the resource and the failures its check returned. */
  readonly checkFailures: Array<{ type: string; name: string; failures: CheckFailure[] }> = [];

  private runs = 0;
  private readonly registered = new Map<string, Registered>();

  /**
   * `newProcess`: every run after the first gets a new host process (`Harness.restart`), as each
   * `pulumi` command does: for what a process costs (the scale bench's memory). Otherwise it starts
   * anew in the same process (`Harness.newRun`): the same for the provider, whose per-run state all
   * lives on globalThis, in milliseconds instead of a second or more. `runs`: runs the host served before.
   * `parallel`: how many resources `up` applies at once, as `pulumi up --parallel` (unbounded).
   */
  constructor(
    private readonly harness: Harness,
    private readonly opts: { newProcess?: boolean; runs?: number; parallel?: number } = {},
  ) {
    this.runs = opts.runs ?? 0;
    this.step = gate(opts.parallel ?? Infinity);
  }

  /** Runs one resource's step in `up` when fewer than `parallel` are running. */
  private readonly step: <T>(fn: () => Promise<T>) => Promise<T>;

  /** The first run uses the harness's host; every later one a new run in it (or a new host process). */
  private async newRun(): Promise<void> {
    if (this.runs++ === 0) return;
    if (this.opts.newProcess) await this.harness.restart();
    else await this.harness.newRun();
  }

  /**
   * Runs the program and applies what it declares. `program` returns what to wait for (resources
   * or outputs); a failure anywhere (a provider error, a rejected output) is returned, not thrown.
   */
  async up(program: () => unknown): Promise<{ steps: Step[]; error?: Error }> {
    await this.newRun();
    const steps: Step[] = [];
    const seen = new Set<string>();
    const errors: Error[] = [];
    // A registration of this run's program that reaches the monitor after up returned (a program
    // that failed left it on its way) is refused: the program's process would be gone with it.
    let over = false;
    const registrations = await mockRegistrations("test", async (type, name, inputs) => {
      if (over) throw new Error(`${type} ${name}: registered after its run ended, not applied`);
      seen.add(`${type}::${name}`);
      try {
        const secret = Object.keys(inputs).filter((k) => containsSecret(inputs[k]));
        const entry = await this.step(() =>
          this.apply(type, name, unwrapSecrets(inputs) as Props, steps, secret),
        );
        return { id: entry.id, state: entry.outs };
      } catch (e) {
        errors.push(e as Error);
        throw e;
      }
    });
    // The mock monitor hands newResource no options: read retainOnDelete and aliases off the
    // RegisterResource request itself, as the engine would.
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: RegisterRequest, cb: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      this.registered.set(req.getName(), {
        retain: req.getRetainondelete?.() === true,
        aliases: req.getAliasesList().flatMap((a) => a.getSpec?.()?.getName() || []),
        secretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
      });
      return register(req, cb);
    };
    try {
      await settle(program());
    } catch (e) {
      errors.push(e as Error);
    }
    // The program's outputs are settled: what is left are registrations gated on them (an
    // integration's children), each started as the output it waits on resolves.
    await registrations.settled(20_000);
    if (errors.length === 0) {
      for (const key of [...this.state.keys()].reverse()) {
        if (seen.has(key)) continue;
        const e = this.state.get(key)!;
        if (!e.retain) await this.harness.delete(e.type, e.id, e.outs);
        this.state.delete(key);
        steps.push({ op: e.retain ? "retain" : "delete", type: e.type, name: e.name });
      }
    }
    over = true;
    return { steps, ...(errors[0] && { error: errors[0] }) };
  }

  /**
   * `pulumi refresh`: reads every resource; those gone are dropped from state. `parallel` reads
   * run at once, as the engine's `--parallel` allows (its default is unbounded: Infinity here;
   * this default is one at a time, in state order).
   */
  async refresh(parallel = 1): Promise<Array<{ type: string; name: string; gone: boolean; props: Props }>> {
    await this.newRun();
    return pooled([...this.state], parallel, async ([key, e]) => {
      const r = await this.harness.read(e.type, e.id, e.outs);
      if (!r.id) this.state.delete(key);
      else Object.assign(e, { id: r.id, outs: r.props, inputs: r.inputs ?? e.inputs });
      return { type: e.type, name: e.name, gone: !r.id, props: r.props };
    });
  }

  /**
   * `pulumi destroy`: deletes everything, last created first. `parallel` > 1 deletes that many at
   * once, ignoring dependencies: only for stacks of independent resources (the scale bench).
   */
  async destroy(parallel = 1): Promise<Step[]> {
    await this.newRun();
    return pooled([...this.state].reverse(), parallel, async ([key, e]): Promise<Step> => {
      if (!e.retain) await this.harness.delete(e.type, e.id, e.outs);
      this.state.delete(key);
      return { op: e.retain ? "retain" : "delete", type: e.type, name: e.name };
    });
  }

  entry(type: string, name: string): StateEntry | undefined {
    return this.state.get(`${type}::${name}`);
  }

  /**
   * The state as `pulumi stack export` writes it (without --show-secrets): every resource with its
   * inputs and outputs, secret values encrypted (here a marker: their text is not in it).
   */
  checkpoint(): string {
    const encrypted = { [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", ciphertext: "(encrypted)" };
    const shown = (o: Props, secret: string[] = []) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, secret.includes(k) ? encrypted : v]));
    const resources = [...this.state.values()].map((e) => ({
      urn: `urn:pulumi:test::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:${e.type}::${e.name}`,
      type: `pulumi-nodejs:dynamic/bitbucket:${e.type}`,
      id: e.id,
      inputs: shown(e.inputs, e.secretInputs),
      outputs: shown(e.outs, e.secretOutputs),
      ...(e.retain && { retainOnDelete: true }), // as Pulumi's export records it (apitype ResourceV3)
    }));
    return JSON.stringify({ version: 3, deployment: { resources } }, null, 2);
  }

  private async apply(
    type: string,
    name: string,
    raw: Props,
    steps: Step[],
    secretInputs: string[] = [],
  ): Promise<StateEntry> {
    const key = `${type}::${name}`;
    const opts = this.registered.get(name) ?? { retain: false, aliases: [], secretOutputs: [] };
    const secrets = {
      secretInputs,
      secretOutputs: [...new Set([...secretInputs, ...opts.secretOutputs])].sort(),
    };
    // An alias carries the state of the resource's old name over (no replace).
    for (const alias of opts.aliases) {
      const was = this.state.get(`${type}::${alias}`);
      if (was && !this.state.has(key)) {
        this.state.delete(`${type}::${alias}`);
        this.state.set(key, { ...was, name });
        steps.push({ op: "rename", type, name });
      }
    }
    const old = this.state.get(key);
    const { inputs, failures } = await this.harness.check(type, raw, old?.inputs ?? {});
    if (failures.length) {
      this.checkFailures.push({ type, name, failures });
      throw new Error(`${type} ${name}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }
    if (!old) {
      const { id, outs } = await this.harness.create(type, inputs);
      steps.push({ op: "create", type, name });
      return this.record(key, { type, name, id, inputs, outs, ...secrets });
    }
    const diff = await this.harness.diff(type, old.id, old.outs, inputs);
    if (!diff.changes) {
      steps.push({ op: "same", type, name });
      return this.record(key, { ...old, inputs, ...secrets });
    }
    if (diff.replaces.length === 0) {
      const { outs } = await this.harness.update(type, old.id, old.outs, inputs);
      steps.push({ op: "update", type, name });
      return this.record(key, { ...old, inputs, outs, ...secrets });
    }
    if (diff.deleteBeforeReplace) await this.harness.delete(type, old.id, old.outs);
    const { id, outs } = await this.harness.create(type, inputs);
    if (!diff.deleteBeforeReplace) await this.harness.delete(type, old.id, old.outs);
    steps.push({ op: "replace", type, name });
    return this.record(key, { type, name, id, inputs, outs, ...secrets });
  }

  private record(key: string, e: StateEntry): StateEntry {
    const retain = this.registered.get(e.name)?.retain;
    const entry = { ...e, ...(retain !== undefined && { retain }) };
    this.state.set(key, entry);
    return entry;
  }
}

/** The marker Pulumi puts on a secret value (sdk/nodejs/runtime/rpc.ts specialSigKey). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** At most `max` calls of `run` at once, the rest waiting their turn: the provider's own limiter. */
export function gate(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  const limiter = createLimiter(max);
  return (fn) => limiter.run(fn);
}

/** `fn` over `items`, at most `parallel` at a time; results in the order of `items`. */
async function pooled<T, R>(items: T[], parallel: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(items.length, parallel)) }, worker));
  return out;
}

/** Waits for resources (their urns and `outputs`) and outputs, surfacing the first failure. */
async function settle(result: unknown): Promise<void> {
  const x = await result;
  const waitOutput = (o: pulumi.Output<unknown>) =>
    new Promise<void>((resolve, reject) => {
      // `promise()` is what the SDK itself awaits; it rejects when the output failed.
      (o as unknown as { promise(): Promise<unknown> }).promise().then(() => resolve(), reject);
    });
  const items = Array.isArray(x) ? x : [x];
  for (const item of items) {
    if (pulumi.Output.isInstance(item)) await waitOutput(item);
    else if (pulumi.Resource.isInstance(item)) {
      await waitOutput(item.urn);
      // Its output properties, and records of outputs (an Integration's `outputs`).
      for (const v of Object.values(item)) {
        if (pulumi.Output.isInstance(v)) await waitOutput(v);
        else if (v && typeof v === "object" && !Array.isArray(v) && !pulumi.Resource.isInstance(v)) {
          for (const w of Object.values(v)) if (pulumi.Output.isInstance(w)) await waitOutput(w);
        }
      }
    }
  }
}
