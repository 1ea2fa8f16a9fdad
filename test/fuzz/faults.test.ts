// The fault fuzz suite (issue 19): for every resource kind on both flavors, a generated fault
// schedule (429 bursts, 5xx, connection resets, timeouts, answers lost after the write happened)
// over a whole lifecycle through the engine harness, as a user lives it: create, re-running
// `pulumi up` when it fails (at most 3 times), refresh, update (3 tries), delete (3 tries).
// After every step the emulator's store is checked:
// - never two objects where the lifecycle manages one (no duplicate);
// - after a failed create, either nothing exists or the error carried the object's id (the engine
//   records it and the next run updates it: no orphan);
// - state's id always names the object that exists; after a successful delete nothing remains.
// Pulumi keeps a partly created resource (ErrorResourceInitFailed) and updates it on the next
// `up` even without changes; the model below does the same.
//
// One emulator and host per flavor; each run gets its own repository (and its own key material),
// so runs cannot see each other's objects. Seeds and runs: params.ts.

import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { Emulator, Fault } from "../emulator/server";
import type { Harness, HostError, Props } from "../harness/engine";
import { dcFixture, fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";
import { fuzzParams, LONG } from "./params";

/** The host's request timeout here, and how long a "timeout" fault keeps the request. */
const TIMEOUT_MS = 150;
const FUZZ_ENV = {
  BITBUCKET_TIMEOUT_MS: String(TIMEOUT_MS),
  // Three tries per request: a burst of three faults outlasts the retries, so steps fail too.
  BITBUCKET_MAX_RETRIES: "2",
  BITBUCKET_RETRY_BASE_DELAY_MS: "2",
  BITBUCKET_RETRY_MAX_DELAY_MS: "20",
};

/** How many times a user re-runs a failing `pulumi up` (or destroy) before giving up. */
const ATTEMPTS = 3;

/** Runs per kind in `npm test`, the KNOWN schedules included (10 kinds; FUZZ_RUNS raises it). */
const RUNS = 16;

// ---- fault schedules -------------------------------------------------------------------------

type FaultKind =
  | "429"
  | "429 Retry-After: 0"
  | "500"
  | "502"
  | "503"
  | "504"
  | "reset"
  | "timeout"
  | "lost answer (500)"
  | "lost answer (502)"
  | "lost answer (reset)";

interface GenFault {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  kind: FaultKind;
  times: number;
}

const faultArb: fc.Arbitrary<GenFault> = fc.record(
  {
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE"),
    kind: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom<FaultKind>("429", "429 Retry-After: 0") },
      { weight: 4, arbitrary: fc.constantFrom<FaultKind>("500", "502", "503", "504") },
      { weight: 2, arbitrary: fc.constant<FaultKind>("reset") },
      { weight: 1, arbitrary: fc.constant<FaultKind>("timeout") },
      {
        weight: 4,
        arbitrary: fc.constantFrom<FaultKind>(
          "lost answer (500)",
          "lost answer (502)",
          "lost answer (reset)",
        ),
      },
    ),
    times: fc.integer({ min: 1, max: 4 }),
  },
  { requiredKeys: ["kind", "times"] },
);

/** The faults queued before one attempt (each matches the next requests of its method, or any). */
const attemptArb = fc.array(faultArb, { maxLength: 3 });
/** A phase's attempts: the first always meets a fault, a re-run maybe. */
const phaseArb = fc
  .tuple(fc.array(faultArb, { minLength: 1, maxLength: 3 }), attemptArb, attemptArb)
  .map((attempts) => [...attempts]);

interface Schedule {
  create: GenFault[][];
  refresh: GenFault[];
  update: GenFault[][];
  delete: GenFault[][];
}
const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  create: phaseArb,
  refresh: attemptArb,
  update: phaseArb,
  delete: phaseArb,
});

const none = (): GenFault[][] => [[], [], []];
const first = (...faults: GenFault[]): GenFault[][] => [faults, [], []];

/**
 * Schedules every property runs first, whatever the seed: the paths a short run might miss. A
 * create whose answer is lost and whose adoption then fails (the engine must get the id), a
 * token's create lost twice, a PUT lost on every try, lookups that fail after a lost answer,
 * and writes lost on update and delete.
 */
const KNOWN: Schedule[] = [
  { create: first({ method: "POST", kind: "lost answer (502)", times: 1 }, { method: "PUT", kind: "503", times: 3 }), refresh: [], update: none(), delete: none() },
  { create: first({ method: "PUT", kind: "lost answer (500)", times: 2 }), refresh: [], update: none(), delete: none() },
  { create: first({ method: "PUT", kind: "lost answer (500)", times: 3 }), refresh: [], update: none(), delete: none() },
  { create: first({ method: "POST", kind: "lost answer (reset)", times: 1 }, { method: "GET", kind: "500", times: 4 }), refresh: [], update: none(), delete: none() },
  {
    create: none(),
    refresh: [{ method: "GET", kind: "reset", times: 2 }],
    update: [[{ method: "PUT", kind: "lost answer (500)", times: 3 }], [{ method: "POST", kind: "lost answer (502)", times: 3 }], []],
    delete: [[{ method: "DELETE", kind: "lost answer (502)", times: 1 }], [], []],
  },
]; // prettier-ignore

/** The emulator's fault for a generated one. A timeout is a request kept past the host's timeout, then dropped unprocessed. */
function toFault(f: GenFault): Fault {
  const base: Fault = { ...(f.method && { method: f.method }), times: f.times };
  switch (f.kind) {
    case "429":
      return { ...base, status: 429 };
    case "429 Retry-After: 0":
      return { ...base, status: 429, headers: { "Retry-After": "0" } };
    case "reset":
      return { ...base, reset: true };
    case "timeout":
      return { ...base, delayMs: TIMEOUT_MS + 50, reset: true };
    case "lost answer (500)":
      return { ...base, status: 500, commitThenFail: true };
    case "lost answer (502)":
      return { ...base, status: 502, commitThenFail: true };
    case "lost answer (reset)":
      return { ...base, reset: true, commitThenFail: true };
    default:
      return { ...base, status: Number(f.kind) };
  }
}

// ---- the kinds -------------------------------------------------------------------------------

/** One lifecycle's declaration: its inputs before and after the update, and what it manages in the store. */
interface Run {
  raw: Props;
  /** In-place change (never a replace); equal to `raw` where the kind has nothing to update. */
  updated: Props;
  /** The ids (as the provider writes them) of the objects of this run in the store. */
  objects: () => string[];
  /** Whether the store holds the update (nothing lost once it succeeded). */
  updatedInStore: () => boolean;
}

interface Kind {
  type: string;
  run: (n: number, emulator: Emulator) => Run;
}

const CLOUD: Kind[] = [
  {
    type: "Webhook",
    run: (n, emu) => {
      const repo = emu.store.addRepo("acme", `fz${n}`);
      const raw = {
        workspace: "acme",
        repository: repo.slug,
        url: `https://hooks.example.test/fuzz/${n}`,
        events: ["repo:push"],
        secret: "s3cret",
      };
      return {
        raw,
        updated: { ...raw, events: ["pullrequest:created", "repo:push"], description: "updated" },
        objects: () => repo.hooks.map((h) => `acme/${repo.slug}/${h.uuid}`),
        updatedInStore: () => repo.hooks[0]?.description === "updated" && repo.hooks[0].secret === "s3cret",
      };
    },
  },
  {
    type: "DeployKey",
    run: (n, emu) => {
      const repo = emu.store.addRepo("acme", `fz${n}`);
      const raw = {
        workspace: "acme",
        repository: repo.slug,
        key: ed25519(`fuzz-${n}`).publicLine,
        label: "ci",
      };
      return {
        raw,
        updated: { ...raw, label: "ci (updated)" },
        objects: () => repo.deployKeys.map((k) => `acme/${repo.slug}/${k.id}`),
        updatedInStore: () => repo.deployKeys[0]?.label === "ci (updated)",
      };
    },
  },
  {
    type: "SshKey",
    run: (n, emu) => {
      // Its own account: a listing of the account kept by the host from an earlier run (the same
      // host serves every run here; each `pulumi` command has its own) would not show this key.
      const account = emu.store.addAccount(`557058:fuzz-${n}`, `fuzz-${n}`);
      const key = ed25519(`fuzz-${n}`);
      const raw = { user: account.account_id, key: key.publicLine, label: "fuzz" };
      return {
        raw,
        updated: { ...raw, label: "fuzz (updated)" },
        objects: () =>
          account.sshKeys.filter((k) => k.key === key.normalized).map((k) => `${account.uuid}/${k.uuid}`),
        updatedInStore: () => account.sshKeys[0]?.label === "fuzz (updated)",
      };
    },
  },
  {
    type: "PipelineVariable",
    run: (n, emu) => {
      const repo = emu.store.addRepo("acme", `fz${n}`);
      const raw = { workspace: "acme", repository: repo.slug, key: "DEPLOY_TOKEN", value: "v1" };
      return {
        raw,
        updated: { ...raw, value: "v2" },
        objects: () => repo.variables.map((v) => `acme/${repo.slug}/${v.uuid}`),
        updatedInStore: () => repo.variables[0]?.value === "v2" && repo.variables[0].secured,
      };
    },
  },
  {
    type: "PipelineSshKeyPair",
    run: (n, emu) => {
      const repo = emu.store.addRepo("acme", `fz${n}`);
      const [a, b] = [ed25519(`fuzz-${n}`), ed25519(`fuzz-${n}-next`)];
      return {
        raw: {
          workspace: "acme",
          repository: repo.slug,
          privateKey: a.privateOpenssh,
          publicKey: a.publicLine,
        },
        updated: {
          workspace: "acme",
          repository: repo.slug,
          privateKey: b.privateOpenssh,
          publicKey: b.publicLine,
        },
        objects: () => (repo.keyPair ? [`acme/${repo.slug}`] : []),
        updatedInStore: () => repo.keyPair?.public_key === b.normalized,
      };
    },
  },
  {
    type: "PipelineKnownHost",
    run: (n, emu) => {
      const repo = emu.store.addRepo("acme", `fz${n}`);
      const next = ed25519();
      const raw = {
        workspace: "acme",
        repository: repo.slug,
        hostname: "deploy.example.test",
        publicKey: ed25519().publicLine,
      };
      return {
        raw,
        updated: { ...raw, publicKey: next.publicLine },
        objects: () => repo.knownHosts.map((h) => `acme/${repo.slug}/${h.uuid}`),
        updatedInStore: () =>
          `${repo.knownHosts[0]?.key_type} ${repo.knownHosts[0]?.key}` === next.normalized,
      };
    },
  },
];

const DATACENTER: Kind[] = [
  {
    type: "Webhook",
    run: (n, emu) => {
      const repo = emu.store.dc.addRepo("PROJ", `fz${n}`);
      const raw = {
        project: "PROJ",
        repository: repo.slug,
        url: `https://hooks.example.test/fuzz/${n}`,
        events: ["repo:refs_changed"],
        secret: "s3cret",
      };
      return {
        raw,
        updated: { ...raw, events: ["pr:opened", "repo:refs_changed"] },
        objects: () => repo.hooks.map((h) => `PROJ/${repo.slug}/${h.id}`),
        updatedInStore: () =>
          repo.hooks[0]?.events.includes("pr:opened") === true &&
          repo.hooks[0].configuration.secret === "s3cret",
      };
    },
  },
  {
    type: "DeployKey",
    run: (n, emu) => {
      const repo = emu.store.dc.addRepo("PROJ", `fz${n}`);
      const raw = {
        project: "PROJ",
        repository: repo.slug,
        key: ed25519(`fuzz-${n}`).publicLine,
        label: "ci",
      };
      return {
        raw,
        updated: { ...raw, permission: "REPO_WRITE" },
        objects: () => repo.grants.map((g) => `PROJ/${repo.slug}/${g.keyId}`),
        updatedInStore: () => repo.grants[0]?.permission === "REPO_WRITE",
      };
    },
  },
  {
    type: "SshKey",
    run: (n, emu) => {
      const key = ed25519(`fuzz-${n}`);
      const raw = { key: key.publicLine, label: "fuzz" };
      return {
        raw,
        updated: raw, // Data Center has no update: a new label is a replace
        objects: () =>
          [...emu.store.dc.keys.values()]
            .filter((k) => k.user === "me" && k.text.startsWith(key.normalized))
            .map((k) => `~/${k.id}`),
        updatedInStore: () => true,
      };
    },
  },
  {
    type: "AccessToken",
    run: (n, emu) => {
      const repo = emu.store.dc.addRepo("PROJ", `fz${n}`);
      const raw = { project: "PROJ", repository: repo.slug, name: "fuzz", permissions: ["REPO_READ"] };
      return {
        raw,
        updated: { ...raw, name: "fuzz (updated)", permissions: ["REPO_WRITE"] },
        objects: () => repo.tokens.map((t) => `PROJ/${repo.slug}/${t.id}`),
        updatedInStore: () =>
          repo.tokens[0]?.permissions.join() === "REPO_WRITE" && repo.tokens[0].name === "fuzz (updated)",
      };
    },
  },
];

// ---- the lifecycle ---------------------------------------------------------------------------

/** What the engine keeps for the resource: `partial` when it was created but failed to finish. */
interface State {
  id: string;
  outs: Props;
  inputs: Props;
  partial: boolean;
}

/** How often each step ended how, across a property's runs (printed: what the schedules exercised). */
type Tally = Map<string, number>;

async function lifecycle(
  f: Fixture,
  destroyer: Harness,
  kind: Kind,
  n: number,
  schedule: Schedule,
  tally: Tally,
): Promise<void> {
  const { harness, emulator } = f;
  const run = kind.run(n, emulator);
  const resourceName = `fuzz-${kind.type}-${n}`;
  const raw = { ...run.raw, resourceName };
  const updated = { ...run.updated, resourceName };
  const story: string[] = [];
  const count = (step: string, how: string) => {
    const k = `${step.replace(/ #\d+$/, "")} ${how}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
  };
  const fail = (why: string): never => {
    assert.fail(
      `${kind.type} run ${n}: ${why}\n  steps: ${story.join("\n         ")}\n  store: ${JSON.stringify(run.objects())}`,
    );
  };
  /** The objects now, checked against what state says. */
  const expect = (what: "none" | "one" | "at most one", state: State | undefined) => {
    const ids = run.objects();
    if (ids.length > 1) fail(`a duplicate: ${ids.length} objects`);
    if (what === "none" && ids.length)
      fail(`an orphan: ${ids[0]} exists, and state holds ${state ? state.id : "nothing"}`);
    if (what === "one" && ids.length === 0) fail(`nothing exists, and state holds ${state?.id}`);
    if (state && ids.length === 1 && ids[0] !== state.id)
      fail(`state holds ${state.id}, the object is ${ids[0]}`);
  };
  const step = async <T>(
    name: string,
    faults: GenFault[],
    act: () => Promise<T>,
  ): Promise<{ ok: T } | { error: HostError }> => {
    emulator.clearFaults();
    for (const fault of faults) emulator.fault(toFault(fault));
    try {
      const ok = await act();
      story.push(`${name}: ok`);
      count(name, "ok");
      return { ok };
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e; // an invariant, not a fault
      const error = e as HostError;
      story.push(`${name}: failed${error.id ? ` (id ${error.id})` : ""}: ${error.message.split("\n")[0]}`);
      count(name, error.id ? "failed, id recorded" : "failed");
      return { error };
    } finally {
      emulator.clearFaults();
    }
  };

  // Create: `pulumi up`, re-run while it fails.
  let state: State | undefined;
  for (let i = 0; i < ATTEMPTS && !(state && !state.partial); i++) {
    const before = state;
    const r = await step(`up #${i + 1}`, schedule.create[i]!, async () => {
      const { inputs, failures } = await harness.check(kind.type, raw, before?.inputs ?? {});
      if (failures.length) fail(`check failed: ${JSON.stringify(failures)}`);
      if (!before) {
        try {
          return { ...(await harness.create(kind.type, inputs)), inputs };
        } catch (e) {
          const err = e as HostError;
          if (err.id) state = { id: err.id, outs: err.properties ?? {}, inputs, partial: true };
          throw e;
        }
      }
      // Created before, but not finished: the engine updates it, changes or not.
      const diff = await harness.diff(kind.type, before.id, before.outs, inputs);
      if (diff.replaces.length)
        fail(`the same inputs would replace a partly created resource: ${diff.replaces.join(", ")}`);
      return {
        id: before.id,
        outs: (await harness.update(kind.type, before.id, before.outs, inputs)).outs,
        inputs,
      };
    });
    if ("ok" in r) state = { ...r.ok, partial: false };
    else if (before && r.error.properties) state = { ...before, outs: r.error.properties };
    expect(state ? "one" : "none", state);
  }
  if (!state) return; // given up: nothing exists (checked above)

  // Refresh: a read that fails is fine; one that says "gone" while the object exists is not.
  const read = await step("refresh", schedule.refresh, () => harness.read(kind.type, state!.id, state!.outs));
  if ("ok" in read && read.ok.id !== state.id)
    fail(`refresh says ${read.ok.id || "gone"}, state holds ${state.id}`);
  expect("one", state);

  // Update in place, re-run while it fails.
  for (let i = 0; i < ATTEMPTS; i++) {
    const current: State = state;
    const r = await step(`update #${i + 1}`, schedule.update[i]!, async () => {
      const plan = await harness.plan(kind.type, current.id, current.outs, updated, current.inputs);
      if (plan.replaces.length) fail(`an in-place change plans a replace: ${plan.replaces.join(", ")}`);
      if (!plan.changes && !current.partial) return { outs: current.outs, inputs: plan.inputs };
      return {
        outs: (await harness.update(kind.type, current.id, current.outs, plan.inputs)).outs,
        inputs: plan.inputs,
      };
    });
    if ("ok" in r) state = { ...current, ...r.ok, partial: false };
    else if (r.error.properties) state = { ...current, outs: r.error.properties };
    expect("one", state);
    if ("ok" in r) {
      if (!run.updatedInStore()) fail("the update succeeded, and the store does not hold it");
      break;
    }
  }

  // Delete (`pulumi destroy`), re-run while it fails: a command of its own, so a host of its own
  // (the host that diffed and updated the resource holds it for the rest of that run: #19.1).
  for (let i = 0; i < ATTEMPTS; i++) {
    const r = await step(`destroy #${i + 1}`, schedule.delete[i]!, () =>
      destroyer.delete(kind.type, state!.id, state!.outs),
    );
    if ("ok" in r) {
      expect("none", undefined);
      return;
    }
    expect("at most one", state);
  }
}

// ---- the suites --------------------------------------------------------------------------------

for (const [flavor, kinds, start] of [
  ["Bitbucket Cloud", CLOUD, fixture],
  ["Data Center", DATACENTER, dcFixture],
] as const) {
  describe(`fuzz: fault schedules over every lifecycle (${flavor})`, function () {
    if (LONG) this.timeout(0);
    else this.timeout(120_000);
    let f: Fixture;
    /** The host `pulumi destroy` runs in: one that never diffed, created or updated anything. */
    let destroyer: Harness;
    let n = 0;
    before(async () => {
      f = await start(undefined, { env: FUZZ_ENV });
      destroyer = await f.harness.fork();
    });
    after(async () => {
      destroyer?.close();
      await f?.close();
    });

    for (const kind of kinds) {
      it(`${kind.type}: never leaves a duplicate or an orphan, whatever fails and however often it is re-run`, async () => {
        const tally: Tally = new Map();
        await fc.assert(
          fc.asyncProperty(scheduleArb, (schedule) => lifecycle(f, destroyer, kind, n++, schedule, tally)),
          {
            ...fuzzParams<[Schedule]>(`${flavor} ${kind.type} lifecycles`, RUNS),
            examples: KNOWN.map((k): [Schedule] => [k]),
          },
        );
        const said = [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`);
        console.log(`      [fuzz] steps: ${said.join(", ")}`);
      });
    }
  });
}
