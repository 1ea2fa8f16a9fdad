// `npm run bench`: API economy and provider overhead, against the emulator on loopback.
//
// For each operation it prints
//   - HTTP calls the provider makes (from the emulator's request log), and
//   - the median latency of the provider operation (called in-process, as the host calls
//     it) next to the median of the same HTTP calls made with a bare keep-alive axios, and
//     their ratio: what our layer (settings, limiter, retry wrapper, normalization) costs.
// A separate column times the same operation through the real dynamic-provider host over
// gRPC (the engine harness), which includes the host's own work, for information.
// Not a test: it asserts nothing and never fails on numbers.

import axios from "axios";
import * as http from "http";
import { setProviderConfig } from "../provider/api/auth";
import { webhookProvider } from "../provider/resources/webhook";
import { startEmulator } from "../test/emulator/server";
import { ALL_SCOPES } from "../test/emulator/store";
import { Harness, type Props } from "../test/harness/engine";
import { providers, TOKEN } from "../test/harness/fixture";

const N = Number(process.env.BENCH_ITERATIONS ?? 200);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

type Op = "create" | "refresh" | "no-op check+diff" | "update" | "delete";

interface Row {
  op: Op;
  calls: number;
  provider: number;
  bare: number;
  host: number;
}

async function main() {
  const emu = await startEmulator({
    workspaces: { acme: ["api"] },
    tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
  });
  setProviderConfig((k) => ({ "bitbucket:apiUrl": emu.apiUrl, "bitbucket:token": TOKEN })[k]);
  const harness = await Harness.start(await providers(), {
    config: { "bitbucket:apiUrl": emu.apiUrl, "bitbucket:token": TOKEN },
  });
  const bare = axios.create({
    baseURL: emu.apiUrl,
    httpAgent: new http.Agent({ keepAlive: true }),
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  const p = webhookProvider as Required<typeof webhookProvider>;
  const raw = (i: number, events = ["repo:push"]): Props => ({
    workspace: "acme",
    repository: "api",
    url: `https://hooks.example.test/bench/${i}`,
    events,
    secret: "bench-secret",
  });
  const HOOKS = "/repositories/acme/api/hooks";
  const hookPath = (uuid: string) => `${HOOKS}/${encodeURIComponent(uuid)}`;
  const body = (i: number, events = ["repo:push"]) => ({
    url: `https://hooks.example.test/bench/${i}`,
    description: "",
    active: true,
    events,
    skip_cert_verification: false,
  });

  const calls = (fn: () => Promise<unknown>) => async () => {
    emu.resetLog();
    await fn();
    return emu.log().length;
  };
  const timeIt = async (fn: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    await fn();
    return ms(t0);
  };

  // Warm up connections and code paths.
  for (let i = 0; i < 20; i++) {
    const { inputs } = (await p.check({}, raw(-1))) as { inputs: Props };
    const c = await p.create(inputs);
    await p.delete(c.id, c.outs);
    await bare.get(HOOKS, { params: { pagelen: 100 } });
  }
  emu.store.workspaces.get("acme")!.repos.get("api")!.hooks.length = 0;

  const rows: Row[] = [];
  const WARMUP = 50;
  /** Times `provider` and `bareCalls` for N iterations after a warm-up, then `host`; `cleanup` is not timed. */
  const measure = async (
    op: Op,
    provider: (i: number) => Promise<unknown>,
    bareCalls: (i: number) => Promise<unknown>,
    host: (i: number) => Promise<unknown>,
    cleanup: () => void = () => undefined,
  ) => {
    const count = await calls(() => provider(0))();
    cleanup();
    const tp: number[] = [];
    const tb: number[] = [];
    const th: number[] = [];
    // Provider and bare calls alternate, so both see the same machine; the host pass runs apart.
    for (let i = 1; i <= N + WARMUP; i++) {
      const p1 = await timeIt(() => provider(i));
      const b1 = await timeIt(() => bareCalls(i));
      cleanup();
      if (i > WARMUP) {
        tp.push(p1);
        tb.push(b1);
      }
    }
    for (let i = 1; i <= N; i++) {
      th.push(await timeIt(() => host(i)));
      cleanup();
    }
    rows.push({ op, calls: count, provider: median(tp), bare: median(tb), host: median(th) });
  };

  // State shared by the steps below: one hook per iteration, created through the provider.
  const state = new Map<number, { id: string; outs: Props; inputs: Props }>();
  const checked = async (i: number, events?: string[]) =>
    ((await p.check({}, raw(i, events))) as { inputs: Props }).inputs;

  await measure(
    "create",
    async (i) => {
      const inputs = await checked(i);
      const c = await p.create(inputs);
      state.set(i, { id: c.id, outs: c.outs as Props, inputs });
    },
    async (i) => {
      await bare.get(HOOKS, { params: { pagelen: 100 } });
      const { data } = await bare.post(HOOKS, { ...body(i + 10_000), secret: "bench-secret" });
      return data;
    },
    async (i) => harness.up("Webhook", raw(i + 20_000)),
    () => void emu.store.workspaces.get("acme")!.repos.get("api")!.hooks.splice(0), // every create sees an empty list
  );
  for (let i = 0; i <= N + WARMUP; i++) {
    const inputs = await checked(i);
    const c = await p.create(inputs);
    state.set(i, { id: c.id, outs: c.outs as Props, inputs });
  }

  await measure(
    "refresh",
    async (i) => p.read(state.get(i)!.id, state.get(i)!.outs),
    async (i) => bare.get(hookPath(String(state.get(i)!.outs.uuid))),
    async (i) => harness.read("Webhook", state.get(i)!.id, state.get(i)!.outs),
  );
  await measure(
    "no-op check+diff",
    async (i) => p.diff(state.get(i)!.id, state.get(i)!.outs, await checked(i)),
    async () => undefined,
    async (i) => harness.plan("Webhook", state.get(i)!.id, state.get(i)!.outs, raw(i)),
  );
  await measure(
    "update",
    async (i) => {
      const s = state.get(i)!;
      const r = await p.update(s.id, s.outs, await checked(i, ["repo:push", "repo:updated"]));
      s.outs = r.outs as Props;
    },
    async (i) =>
      bare.put(hookPath(String(state.get(i)!.outs.uuid)), body(i, ["repo:push", "pullrequest:created"])),
    async (i) => {
      const s = state.get(i)!;
      return harness.update("Webhook", s.id, s.outs, await checked(i, ["repo:push", "issue:created"]));
    },
  );
  const bareHooks: string[] = [];
  for (let i = 0; i <= N + WARMUP; i++) bareHooks.push((await bare.post(HOOKS, body(i + 30_000))).data.uuid);
  await measure(
    "delete",
    async (i) => p.delete(state.get(i)!.id, state.get(i)!.outs),
    async (i) => bare.delete(hookPath(bareHooks[i]!)),
    async (i) => {
      const c = await harness.up("Webhook", raw(i + 40_000));
      await harness.delete("Webhook", c.id, c.outs);
    },
  );

  console.log(`Webhook against the emulator on loopback, median of ${N} runs (ms)`);
  console.log("operation          HTTP calls  provider  bare axios  ratio   via host (gRPC)");
  for (const r of rows) {
    const ratio = r.calls > 0 ? (r.provider / r.bare).toFixed(2) + "x" : "n/a";
    console.log(
      `${r.op.padEnd(18)} ${String(r.calls).padStart(10)} ${r.provider.toFixed(3).padStart(9)} ${r.bare.toFixed(3).padStart(11)} ${ratio.padStart(6)} ${r.host.toFixed(3).padStart(17)}`,
    );
  }
  console.log(
    "bare axios makes the same HTTP calls as the provider; via host also counts the host's check/create for delete.",
  );
  harness.close();
  await emu.close();
}

void main();
