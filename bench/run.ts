// `npm run bench`: API economy and provider overhead, against the emulator on loopback.
//
// For every resource and operation (create, refresh, no-op check+diff, update, delete), on Cloud and
// then on Data Center (the DC adapters of Webhook, DeployKey, SshKey, and AccessToken), it prints
//   - the HTTP calls the provider makes (from the emulator's request log), and
//   - the median latency of the provider operation, called in-process as the dynamic-provider
//     host calls it, next to the median latency of the same HTTP requests (same methods, paths,
//     queries and bodies, replayed from the log) made with a bare keep-alive axios, and the ratio:
//     what our layer (settings, limiter, retry wrapper, validation, mapping) adds to the wire time.
// Objects are spread over one repository each, so list sizes stay the same from run to run.
// Replayed writes may be answered 4xx (a duplicate); the round trip is what is timed.
// Then what each resource costs in state: the serialized `__provider` (stored in its inputs and
// outputs, sent with every RPC) and a whole state entry, next to the targets (2 KiB, 4 KiB).
// Then the manifest: loading and expanding 5,000 entries (bench/manifest.ts).
// Not a test: it asserts nothing and never fails on numbers.

import axios from "axios";
import * as http from "http";
import { setProviderConfig } from "../provider/api/auth";
import { deployKeyProvider } from "../provider/resources/deploy-key";
import { pipelineKnownHostProvider } from "../provider/resources/pipeline-known-host";
import { pipelineSshKeyPairProvider } from "../provider/resources/pipeline-ssh-key-pair";
import { pipelineVariableProvider } from "../provider/resources/pipeline-variable";
import { sshKeyProvider } from "../provider/resources/ssh-key";
import { webhookProvider } from "../provider/resources/webhook";
import { accessTokenProvider } from "../provider/resources/access-token";
import { startEmulator, type Emulator, type LogEntry } from "../test/emulator/server";
import { ALL_SCOPES } from "../test/emulator/store";
import { providers as capturedProviders, TOKEN } from "../test/harness/fixture";
import { ed25519, type TestKey } from "../test/keys";
import { runAuditBench } from "./audit";
import { runCosts } from "./costs";
import { manifestBench } from "./manifest";
import { runPlanBench } from "./plan";
import { runScale, scaleSize, SIZE_OPTION, type Who } from "./scale";

type Props = Record<string, unknown>;
type Provider = Required<typeof webhookProvider>;

const N = Number(process.env.BENCH_ITERATIONS ?? 100);
const WARMUP = 20;
const OPS = ["create", "refresh", "no-op check+diff", "update", "delete"] as const;
type Op = (typeof OPS)[number];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Bench {
  type: string;
  provider: Provider;
  /** Inputs of object i, and the changed inputs its update applies. */
  raw: (i: number) => Props;
  changed: (i: number) => Props;
}

async function main() {
  const total = N + WARMUP;
  const repos = Array.from({ length: total + 1 }, (_, i) => `r${i}`);
  const emu = await startEmulator({
    workspaces: { acme: repos },
    tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
  });
  setProviderConfig((k) => ({ "bitbucket:apiUrl": emu.apiUrl, "bitbucket:token": TOKEN })[k]);
  const keys: TestKey[] = Array.from({ length: total + 1 }, () => ed25519());
  const rsaLike: TestKey[] = Array.from({ length: total + 1 }, () => ed25519("rotated"));
  const where = (i: number) => ({ workspace: "acme", repository: `r${i}` });

  const benches: Bench[] = [
    {
      type: "Webhook",
      provider: webhookProvider as Provider,
      raw: (i) => ({
        ...where(i),
        url: `https://hooks.example.test/${i}`,
        events: ["repo:push"],
        secret: "bench-secret",
      }),
      changed: (i) => ({
        ...where(i),
        url: `https://hooks.example.test/${i}`,
        events: ["repo:push", "repo:updated"],
        secret: "bench-secret",
      }),
    },
    {
      type: "DeployKey",
      provider: deployKeyProvider as Provider,
      raw: (i) => ({ ...where(i), key: keys[i]!.publicLine, label: "ci" }),
      changed: (i) => ({ ...where(i), key: keys[i]!.publicLine, label: "ci-2" }),
    },
    {
      type: "SshKey",
      provider: sshKeyProvider as Provider,
      raw: (i) => ({ key: keys[i]!.publicLine, label: "a" }),
      changed: (i) => ({ key: keys[i]!.publicLine, label: "b" }),
    },
    {
      type: "PipelineVariable",
      provider: pipelineVariableProvider as Provider,
      raw: (i) => ({ ...where(i), key: "TOKEN", value: `v${i}` }),
      changed: (i) => ({ ...where(i), key: "TOKEN", value: `w${i}` }),
    },
    {
      type: "PipelineSshKeyPair",
      provider: pipelineSshKeyPairProvider as Provider,
      raw: (i) => ({ ...where(i), privateKey: keys[i]!.privateOpenssh, publicKey: keys[i]!.publicLine }),
      changed: (i) => ({
        ...where(i),
        privateKey: rsaLike[i]!.privateOpenssh,
        publicKey: rsaLike[i]!.publicLine,
      }),
    },
    {
      type: "PipelineKnownHost",
      provider: pipelineKnownHostProvider as Provider,
      raw: (i) => ({ ...where(i), hostname: "deploy.example.test", publicKey: keys[i]!.publicLine }),
      changed: (i) => ({ ...where(i), hostname: "deploy.example.test", publicKey: rsaLike[i]!.publicLine }),
    },
  ];

  const serialized = await capturedProviders();
  const sizes: string[] = [];
  console.log(`Against the emulator on loopback; median of ${N} runs after ${WARMUP} warm-up (ms)`);
  console.log("resource            operation          HTTP calls  provider  same calls, bare axios  ratio");
  for (const b of benches) await measure(b, emu, serialized, sizes);
  await emu.close();

  // Data Center: the same operations through the DC adapters, one repository each in project P.
  const dc = await startEmulator({ dc: { projects: { P: repos } }, tokens: { [TOKEN]: { scopes: [] } } });
  setProviderConfig(
    (k) => ({ "bitbucket:flavor": "datacenter", "bitbucket:apiUrl": dc.dcUrl, "bitbucket:token": TOKEN })[k],
  );
  const at = (i: number) => ({ project: "P", repository: `r${i}` });
  const dcBenches: Bench[] = [
    {
      type: "Webhook (DC)",
      provider: webhookProvider as Provider,
      raw: (i) => ({
        ...at(i),
        url: `https://hooks.example.test/${i}`,
        events: ["repo:refs_changed"],
        secret: "s",
      }),
      changed: (i) => ({
        ...at(i),
        url: `https://hooks.example.test/${i}`,
        events: ["pr:opened"],
        secret: "s",
      }),
    },
    {
      type: "DeployKey (DC)",
      provider: deployKeyProvider as Provider,
      raw: (i) => ({ ...at(i), key: keys[i]!.publicLine, label: "ci" }),
      changed: (i) => ({ ...at(i), key: keys[i]!.publicLine, label: "ci", permission: "REPO_WRITE" }),
    },
    {
      type: "SshKey (DC)",
      provider: sshKeyProvider as Provider,
      raw: (i) => ({ key: rsaLike[i]!.publicLine, label: "a" }),
      changed: (i) => ({ key: rsaLike[i]!.publicLine, label: "a" }),
    },
    {
      type: "AccessToken (DC)",
      provider: accessTokenProvider as Provider,
      raw: (i) => ({ ...at(i), name: "t", permissions: ["REPO_READ"] }),
      changed: (i) => ({ ...at(i), name: "t", permissions: ["REPO_ADMIN"] }),
    },
  ];
  for (const b of dcBenches) await measure(b, dc, serialized, sizes);
  await dc.close();
  console.log("");
  console.log("State per resource (secrets as plain text; the engine stores them encrypted)");
  console.log("resource              __provider      state   (targets: 2 KiB, 4 KiB)");
  for (const line of sizes) console.log(line);
  console.log("");
  console.log(manifestBench());
}

/** Times each operation of one resource against `emu`, printing a line per operation. */
async function measure(b: Bench, emu: Emulator, serialized: Record<string, string>, sizes: string[]) {
  const total = N + WARMUP;
  const bare = axios.create({
    httpAgent: new http.Agent({ keepAlive: true }),
    headers: { Authorization: `Bearer ${TOKEN}` },
    validateStatus: () => true,
  });
  const replay = async (entries: LogEntry[]) => {
    for (const e of entries) {
      await bare.request({ method: e.method, url: `${emu.url}${e.path}${e.query}`, data: e.requestBody });
    }
  };
  const p = b.provider;
  const checked = async (raw: Props) => ((await p.check({}, raw)) as { inputs: Props }).inputs;
  const state: Array<{ id: string; outs: Props }> = [];
  const run: Record<Op, (i: number) => Promise<unknown>> = {
    create: async (i) => {
      const c = await p.create(await checked(b.raw(i)));
      state[i] = { id: c.id, outs: c.outs as Props };
    },
    refresh: (i) => p.read(state[i]!.id, state[i]!.outs),
    "no-op check+diff": async (i) => p.diff(state[i]!.id, state[i]!.outs, await checked(b.raw(i))),
    update: async (i) => {
      const u = await p.update(state[i]!.id, state[i]!.outs, await checked(b.changed(i)));
      state[i]!.outs = u.outs as Props;
    },
    delete: (i) => p.delete(state[i]!.id, state[i]!.outs),
  };
  for (const op of OPS) {
    // Delete is `pulumi destroy`, a command (a host process) of its own: the run that diffed and
    // updated these resources, and so holds their objects (#19.1), is over.
    if (op === "delete") delete (globalThis as Record<symbol, unknown>)[Symbol.for("bitbucket-iac.claims")];
    const tp: number[] = [];
    const tb: number[] = [];
    let calls = 0;
    for (let i = 0; i < total; i++) {
      emu.resetLog();
      const t0 = process.hrtime.bigint();
      await run[op](i);
      const t1 = process.hrtime.bigint();
      const entries = emu.entries();
      const t2 = process.hrtime.bigint();
      await replay(entries);
      const t3 = process.hrtime.bigint();
      if (i === WARMUP) calls = entries.length;
      if (i >= WARMUP) {
        tp.push(Number(t1 - t0) / 1e6);
        tb.push(Number(t3 - t2) / 1e6);
      }
    }
    if (op === "create") {
      const type = b.type.split(" ")[0]!; // "Webhook (DC)" is a Webhook
      const provider = serialized[type] ?? "";
      const entry = {
        urn: `urn:pulumi:dev::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:${b.type}::${b.type.toLowerCase()}/acme/r${WARMUP}`,
        type: `pulumi-nodejs:dynamic/bitbucket:${b.type}`,
        id: state[WARMUP]!.id,
        inputs: { ...(await checked(b.raw(WARMUP))), __provider: provider },
        outputs: { ...state[WARMUP]!.outs, __provider: provider },
      };
      const kib = (n: number) => `${(n / 1024).toFixed(2)} KiB`;
      sizes.push(
        `${b.type.padEnd(19)} ${kib(provider.length).padStart(10)} ${kib(JSON.stringify(entry).length).padStart(10)}`,
      );
    }
    const ratio = calls > 0 ? `${(median(tp) / median(tb)).toFixed(2)}x` : "n/a";
    console.log(
      `${b.type.padEnd(19)} ${op.padEnd(18)} ${String(calls).padStart(10)} ${median(tp).toFixed(3).padStart(9)} ${(calls > 0 ? median(tb).toFixed(3) : "-").padStart(23)} ${ratio.padStart(6)}`,
    );
  }
}

// `npm run bench -- --scale`: the large-stack runs instead (bench/scale.ts; it runs each size in a
// process of its own, through SIZE_OPTION); `-- --plan`: plan's cost
// (bench/plan.ts); `-- --audit`: audit's cost (bench/audit.ts); `-- --costs`: issue 23's costs (bench/costs.ts).
const sizeAt = process.argv.indexOf(SIZE_OPTION);
void (sizeAt > 0
  ? scaleSize(
      Number(process.argv[sizeAt + 1]),
      process.argv[sizeAt + 2]!.split(",").filter(Boolean) as Who[],
      process.argv[sizeAt + 3]!,
    )
  : process.argv.includes("--costs")
    ? runCosts()
    : process.argv.includes("--scale")
      ? runScale()
      : process.argv.includes("--plan")
        ? runPlanBench()
        : process.argv.includes("--audit")
          ? runAuditBench()
          : main());
