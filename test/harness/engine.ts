// The engine harness: what `pulumi up` does to a dynamic provider, without the CLI.
//
// 1. `captureProviders` runs the resource constructors under `pulumi.runtime.setMocks` and
//    keeps the serialized `__provider` string each one declares, exactly what the engine
//    would store in state.
// 2. `startHarness` starts the real dynamic-provider host shipped in @pulumi/pulumi
//    (`node .../cmd/dynamic-provider <engine-address>`; it prints its port) and talks to
//    it over gRPC with the SDK's own proto stubs: Configure, Check, Diff, Create, Read,
//    Update, Delete, as the engine does.

import * as grpc from "@grpc/grpc-js";
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { HostMutation } from "./mutation";
/* eslint-disable @typescript-eslint/no-require-imports */
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const statusproto = require("@pulumi/pulumi/proto/status_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

export type Props = Record<string, unknown>;

const HOST = path.join(
  path.dirname(require.resolve("@pulumi/pulumi/package.json")),
  "cmd",
  "dynamic-provider",
);

/** What every host's environment has beneath its options' (a run that unsets one of these restores it). */
const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  NODE_COMPILE_CACHE: COMPILE_CACHE,
});

/** Preloaded into every host: a line on its standard input starts a new run (`Harness.newRun`). */
const NEW_RUN = path.join(__dirname, "host-new-run.js");

// Every host loads all of @pulumi/pulumi, about a second of CPU, and a test starts one or more;
// V8's compile cache (Node 22's NODE_COMPILE_CACHE), shared by every host, takes a third off that.
// The test hooks set it for the whole run (test/hooks.ts); the benches get the same directory.
const COMPILE_CACHE =
  process.env.NODE_COMPILE_CACHE ?? path.join(__dirname, "../../node_modules/.cache/bitbucket-iac-node");

/**
 * Constructs the resources `make` returns under mocks and returns the serialized provider
 * per type name ("Webhook"), plus what each registration declared.
 */
export async function captureProviders(make: () => pulumi.Resource[]): Promise<{
  providers: Record<string, string>;
  declared: Array<{ type: string; name: string; inputs: Props }>;
}> {
  const providers: Record<string, string> = {};
  const declared: Array<{ type: string; name: string; inputs: Props }> = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const type = args.type.split(":").pop() ?? args.type;
        const { __provider, ...inputs } = args.inputs as Props;
        if (typeof __provider === "string") providers[type] = __provider;
        declared.push({ type: args.type, name: args.name, inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "bitbucket-iac",
    "test",
    false,
  );
  const resources = make();
  // A resource's urn resolves once its registration (and provider serialization) is done.
  await Promise.all(resources.map((r) => new Promise((resolve) => r.urn.apply(resolve))));
  return { providers, declared };
}

export interface HarnessOptions {
  /** Stack config handed to Configure, e.g. {"bitbucket:apiUrl": ...}. */
  config?: Record<string, string>;
  /** Environment of the host process (added to a minimal PATH/HOME). */
  env?: Record<string, string>;
  /** Working directory of the host process. */
  cwd?: string;
}

export interface DiffResult {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** An error from the host; `id`/`properties` are set when the object was created but the operation failed. */
export interface HostError extends Error {
  id?: string;
  properties?: Props;
  reasons?: string[];
}

const urn = (type: string, name = "test") =>
  `urn:pulumi:test::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:${type}::${name}`;
const struct = (o: Props) => structproto.Struct.fromJavaScript(o);
const strip = (o: Props): Props => {
  const { __provider: _, ...rest } = o;
  return rest;
};

export class Harness {
  /** Everything the host printed on stderr (provider logs, stack traces). */
  stderr = "";
  /** Set by close(): a restart after it would start a host nothing closes. */
  private closed = false;
  /** Calls sent and not yet answered. */
  private inFlight = 0;
  /** `opts.env`: the environment the host has now, beyond PATH and HOME (a new run may change it). */
  private constructor(
    private proc: ChildProcess,
    private client: InstanceType<typeof provrpc.ResourceProviderClient>,
    private readonly providers: Record<string, string>,
    private opts: HarnessOptions,
    private mutation: HostMutation | undefined,
  ) {}

  /**
   * A new host process, as the next `pulumi up` gets: process-wide state (the claim registry,
   * caches, tokens) starts empty, with the environment the host has now, `env` added (or changed).
   * What the old one printed stays in `stderr`.
   */
  async restart(env: Record<string, string> = {}): Promise<void> {
    this.opts = { ...this.opts, env: { ...this.opts.env, ...env } };
    const next = await Harness.start(this.providers, this.opts);
    if (this.closed) {
      // Closed meanwhile: the test ran past its timeout and its cleanup ran. A host started now
      // would outlive the test process (nothing would ever close it).
      next.close();
      throw new Error("the harness was closed while a new host was starting");
    }
    this.stop();
    this.proc = next.proc;
    this.newRuns = 0;
    this.client = next.client;
    this.mutation = next.mutation;
    next.proc.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
  }

  private newRuns = 0;

  /**
   * The next run in this same host process: it forgets what bitbucket-iac keeps per run (the read
   * cache, the claims...: host-new-run.js), as a new process would start, in milliseconds instead
   * of the second or more a new process takes. Faithful for the provider, whose per-run state all
   * lives on globalThis and which reads its environment when it uses it; the host's own cache of
   * configured providers stays (the same config). `env` sets variables from this run on, as the
   * next `pulumi up` could be started with them (a moved clock: BITBUCKET_IAC_NOW).
   */
  async newRun(env: Record<string, string> = {}): Promise<void> {
    await this.startRun({ ...this.opts.env, ...env });
  }

  /**
   * A new run with exactly `env` beyond the base (PATH, HOME, the compile cache): what the host has
   * and `env` does not is unset, or set back to the base's. Variables a process reads only as it
   * starts (NODE_OPTIONS) take effect in a new process only (`restart`).
   */
  private async startRun(env: Record<string, string>): Promise<void> {
    const change: Record<string, string | null> = { ...env };
    const base = baseEnv();
    for (const name of Object.keys(this.opts.env ?? {}))
      if (!(name in env)) change[name] = base[name] ?? null;
    this.opts = { ...this.opts, env };
    const n = ++this.newRuns;
    this.proc.stdin!.write(`${JSON.stringify({ env: change })}\n`);
    // This process's answer: after a restart, the old one's lines are still in `stderr`.
    await this.expectStderr(
      new RegExp(`^bitbucket-iac harness: new run ${n} in ${this.proc.pid}$`, "m"),
      10_000,
    );
  }

  /**
   * Whether the next test may have this host (test/harness/pool.ts): its process runs, it is open,
   * answered every call, and is no mutant's (test:mutation).
   */
  reusable(): boolean {
    const running = this.proc.exitCode === null && this.proc.signalCode === null;
    return running && !this.closed && this.inFlight === 0 && this.mutation === undefined;
  }

  /**
   * This host for the next test: a new run in it with the environment `env` (beyond PATH and HOME:
   * the next test's options), and nothing of what it printed before.
   */
  async reuse(env: Record<string, string>): Promise<void> {
    await this.startRun(env);
    this.stderr = "";
  }

  /** Another host process beside this one, with the same providers and settings: another command's. */
  fork(): Promise<Harness> {
    return Harness.start(this.providers, this.opts);
  }

  static async start(providers: Record<string, string>, opts: HarnessOptions = {}): Promise<Harness> {
    const mutation = HostMutation.forNewHost();
    const mutationEnv = mutation?.env() ?? {};
    const proc = spawn(process.execPath, [HOST, "127.0.0.1:0"], {
      cwd: opts.cwd ?? process.cwd(),
      env: {
        ...baseEnv(),
        ...opts.env,
        ...mutationEnv,
        NODE_OPTIONS: [`--require "${NEW_RUN}"`, mutationEnv.NODE_OPTIONS ?? ""].join(" ").trim(),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    // A new run asked of a host that has just exited: the call waiting for its answer fails, not the test process.
    proc.stdin!.on("error", () => undefined);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("dynamic-provider host did not print its port in 15 s")),
        15_000,
      );
      let out = "";
      proc.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      proc.on("exit", (code) => reject(new Error(`dynamic-provider host exited (${code})`)));
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const h = new Harness(proc, client, providers, opts, mutation);
    proc.stderr!.on("data", (c: Buffer) => (h.stderr += c.toString()));
    const req = new provproto.ConfigureRequest();
    req.setArgs(struct(opts.config ?? {}));
    await h.call("configure", req);
    return h;
  }

  private provider(type: string): string {
    const p = this.providers[type];
    if (!p) throw new Error(`no captured provider for ${type}`);
    return p;
  }

  private call<T>(method: string, req: unknown): Promise<T> {
    this.mutation?.request();
    this.inFlight++;
    return new Promise((resolve, reject) => {
      this.client[method](req, { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null, res: T) => {
        this.inFlight--;
        if (err) reject(hostError(err));
        else resolve(res);
      });
    });
  }

  async check(
    type: string,
    news: Props,
    olds: Props = {},
  ): Promise<{ inputs: Props; failures: Array<{ property: string; reason: string }> }> {
    const req = new provproto.CheckRequest();
    req.setUrn(urn(type));
    req.setOlds(struct({ ...olds, __provider: this.provider(type) }));
    req.setNews(struct({ ...news, __provider: this.provider(type) }));
    const res = await this.call<{
      getInputs(): { toJavaScript(): Props };
      getFailuresList(): Array<{ getProperty(): string; getReason(): string }>;
    }>("check", req);
    return {
      inputs: strip(res.getInputs().toJavaScript()),
      failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(type: string, id: string, olds: Props, news: Props): Promise<DiffResult> {
    const req = new provproto.DiffRequest();
    req.setId(id);
    req.setUrn(urn(type));
    req.setOlds(struct({ ...olds, __provider: this.provider(type) }));
    req.setNews(struct({ ...news, __provider: this.provider(type) }));
    const res = await this.call<{
      getChanges(): number;
      getReplacesList(): string[];
      getDeletebeforereplace(): boolean;
    }>("diff", req);
    return {
      changes: res.getChanges() === provproto.DiffResponse.DiffChanges.DIFF_SOME,
      replaces: res.getReplacesList(),
      deleteBeforeReplace: res.getDeletebeforereplace(),
    };
  }

  async create(type: string, inputs: Props): Promise<{ id: string; outs: Props }> {
    const req = new provproto.CreateRequest();
    req.setUrn(urn(type));
    req.setProperties(struct({ ...inputs, __provider: this.provider(type) }));
    const res = await this.call<{ getId(): string; getProperties(): { toJavaScript(): Props } }>(
      "create",
      req,
    );
    return { id: res.getId(), outs: strip(res.getProperties().toJavaScript()) };
  }

  async read(type: string, id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(urn(type));
    req.setProperties(struct({ ...props, __provider: this.provider(type) }));
    const res = await this.call<{
      getId(): string;
      getProperties(): { toJavaScript(): Props } | undefined;
      getInputs(): { toJavaScript(): Props } | undefined;
    }>("read", req);
    const inputs = res.getInputs()?.toJavaScript();
    return {
      id: res.getId(),
      props: strip(res.getProperties()?.toJavaScript() ?? {}),
      ...(inputs && { inputs: strip(inputs) }),
    };
  }

  async update(type: string, id: string, olds: Props, news: Props): Promise<{ outs: Props }> {
    const req = new provproto.UpdateRequest();
    req.setId(id);
    req.setUrn(urn(type));
    req.setOlds(struct({ ...olds, __provider: this.provider(type) }));
    req.setNews(struct({ ...news, __provider: this.provider(type) }));
    const res = await this.call<{ getProperties(): { toJavaScript(): Props } }>("update", req);
    return { outs: strip(res.getProperties().toJavaScript()) };
  }

  async delete(type: string, id: string, props: Props): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn(type));
    req.setProperties(struct({ ...props, __provider: this.provider(type) }));
    await this.call("delete", req);
  }

  /** check, then create with the checked inputs (what `pulumi up` does for a new resource). */
  async up(type: string, raw: Props): Promise<{ id: string; outs: Props; inputs: Props }> {
    const { inputs, failures } = await this.check(type, raw);
    if (failures.length)
      throw new Error(`check failed: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    return { ...(await this.create(type, inputs)), inputs };
  }

  /** check the new raw inputs, then diff them against the outputs in state. */
  async plan(
    type: string,
    id: string,
    outs: Props,
    raw: Props,
    oldInputs: Props = {},
  ): Promise<DiffResult & { inputs: Props }> {
    const { inputs, failures } = await this.check(type, raw, oldInputs);
    if (failures.length)
      throw new Error(`check failed: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    return { ...(await this.diff(type, id, outs, inputs)), inputs };
  }

  /**
   * Asserts the host printed something matching `re` on stderr, waiting up to `timeoutMs`: what
   * the host prints arrives on its own pipe, possibly after the RPC that printed it answered.
   */
  async expectStderr(re: RegExp, timeoutMs = 3000): Promise<void> {
    for (const start = Date.now(); !re.test(this.stderr) && Date.now() - start < timeoutMs;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(this.stderr, re);
  }

  /** The host's process id: the same from one run (or one test) to the next when it is kept. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The host process's peak resident memory so far (Linux VmHWM), in bytes; undefined without /proc. */
  peakRss(): number | undefined {
    try {
      const status = fs.readFileSync(`/proc/${this.proc.pid}/status`, "utf8");
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private stop(): void {
    this.client.close();
    this.mutation?.closing(this.proc);
    this.proc.kill();
  }
}

/** Unpacks the host's gRPC error, including ErrorResourceInitFailed (created, then failed). */
function hostError(err: grpc.ServiceError): HostError {
  const e: HostError = new Error(err.details || err.message);
  const bin = err.metadata?.get("grpc-status-details-bin")?.[0];
  if (bin) {
    const status = statusproto.Status.deserializeBinary(bin as Buffer);
    for (const any of status.getDetailsList()) {
      const detail = any.unpack(
        provproto.ErrorResourceInitFailed.deserializeBinary,
        "pulumirpc.ErrorResourceInitFailed",
      );
      if (detail) {
        e.id = detail.getId();
        e.properties = strip(detail.getProperties()?.toJavaScript() ?? {});
        e.reasons = detail.getReasonsList();
      }
    }
  }
  return e;
}
