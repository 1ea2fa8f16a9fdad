// Issue 21.1 as a property: plan and `pulumi up` are one computation. Each case: a stack made by
// a real `up` of a generated manifest (or none), changes made by hand in Bitbucket (objects kept,
// changed, deleted; objects made beside them: as declared, differing, holding a write-only value),
// then `bitbucket-iac plan --state <the stack's export> --format json` of another generated
// manifest (the command line, in-process), then `up` of it through the engine harness. Plan must
// have listed exactly what up did: per resource the create, adoption, update, replace, nothing,
// conflict (up fails there with no write), and the deletes; for each update and adoption, the
// fields Bitbucket saw change (a write-only one may be listed that did not change: plan cannot
// read its value; one that changed must be listed).
//
// Issue 23.3 on the same cases: the request bill (`plan --stats`) is what each up sends, exactly
// (by method, in total, each shared collection listed once): the first up (planned without state)
// and the second, after the changes by hand and the generated change (updates, deletes, an
// integration renamed, replaces, adoptions). A second up a conflict stops sends at most the bill.
//
// One emulator and one host serve every case: the store is emptied between cases, and each run
// starts anew in the same host (Harness.newRun), as a new process would.
// `npm test`: 200 cases, seed printed. FUZZ_RUNS / FUZZ_SEED for more (`npm run test:long`).

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { Engine, type Step } from "../harness/deploy";
import { DEFAULT_SEED, fixture, TOKEN, type Fixture } from "../harness/fixture";
import type { Bill } from "../../provider/cli/bill";
import { assertBilled } from "../cli/billed";
import { run, useEmulator, workdir } from "../cli/run";
import { fuzzParams, LONG, runsOf } from "./params";
import {
  applyByHand,
  byHand,
  CONSUMER,
  manifest,
  manifestText,
  objectOf,
  resetStore,
  SECRETS,
  snapshot,
  type ByHand,
  type Manifest,
  type Seen,
} from "./plan-up";

const RUNS = runsOf(200);

/**
 * Whether the first up is planned and billed too: a plan more per case, so `npm test` does it for
 * one first manifest in three (by its text: the same cases every run), a long run for every one.
 */
const billsFirst = (m: Manifest): boolean =>
  LONG || [...manifestText(m)].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_003, 7) % 3 === 0;

interface Planned {
  action: string;
  type: string;
  name: string;
  changes: Array<{ field: string; from?: unknown; to?: unknown; writeOnly?: boolean }>;
  note?: string;
  error?: string;
}

/** What up did to each resource: its step (a create that adopted is "adopt"), or "failed". */
function upActions(steps: Step[], engine: Engine, declared: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of steps) {
    if (s.op === "rename") continue;
    const key = `${s.type}::${s.name}`;
    const adopted = s.op === "create" && engine.entry(s.type, s.name)?.outs.adopted === true;
    out.set(key, adopted ? "adopt" : s.op === "same" ? "nothing" : s.op === "retain" ? "delete" : s.op);
  }
  for (const d of declared) if (!out.has(d)) out.set(d, "failed");
  return out;
}

/**
 * Asserts that plan's fields of an update or adoption are those of the object that changed in
 * Bitbucket: every one it can read exactly; a write-only one that changed must be listed, and one
 * listed as a certain change (a secret removed) must have changed. Fields only the stack keeps
 * (allowHttp, generateSecret) are not Bitbucket's.
 */
function fieldsAgree(key: string, p: Planned, before: Seen | undefined, after: Seen | undefined): void {
  const fields = new Set([...Object.keys(before?.fields ?? {}), ...Object.keys(after?.fields ?? {})]);
  const writeOnly = new Set([...(before?.writeOnly ?? []), ...(after?.writeOnly ?? [])]);
  const diff = [...fields].filter((f) => before?.fields[f] !== after?.fields[f]).sort();
  const listed = p.changes
    .map((c) => ({ ...c, field: c.field.replace(/ \(secured\)$/, "") }))
    .filter((c) => fields.has(c.field));
  const said = `${key}: plan's fields of its ${p.action} (${JSON.stringify(p.changes)}), and what Bitbucket saw change`;
  assert.deepEqual(
    listed
      .filter((c) => !writeOnly.has(c.field))
      .map((c) => c.field)
      .sort(),
    diff.filter((f) => !writeOnly.has(f)),
    said,
  );
  for (const w of diff.filter((f) => writeOnly.has(f)))
    assert.ok(
      listed.some((c) => c.field === w),
      `${said}: ${w} changed, unlisted`,
    );
  // Certain: shown as a value, or a write-only part whose presence changes (set -> none).
  const certain = (c: Planned["changes"][number]) =>
    !c.writeOnly || (c.from !== undefined && c.to !== undefined && c.from !== "unknown" && c.from !== c.to);
  for (const c of listed.filter((c) => writeOnly.has(c.field) && certain(c)))
    assert.ok(diff.includes(c.field), `${said}: ${c.field} listed as a certain change, unchanged`);
}

describe("issue 21.1 property: plan lists exactly what pulumi up then does", function () {
  let f: Fixture;
  let restore: () => void;
  let dir: string;
  let ms = 0;
  let cases = 0;
  /** Ups whose requests were held to the bill exactly. */
  let billed = 0;
  /** How often plan predicted each action (and up did it): the cases reach every one. */
  const seen: Record<string, number> = {};
  const stackTraceLimit = Error.stackTraceLimit;
  before(async () => {
    // The SDK records a stack trace with every promise it tracks (and ts-node maps each through
    // source maps): a third of the time of a run, for traces nothing prints. Plan does the same.
    Error.stackTraceLimit = 0;
    // Plan and up wait for the SDK's registrations to drain, those gated on outputs too. A
    // registration that came later would show here as a resource up did and plan did not list.
    f = await fixture({ ...DEFAULT_SEED, consumers: [CONSUMER] });
    restore = useEmulator(f.emulator);
    dir = workdir({});
    pulumi.runtime.setAllConfig(
      {
        ...Object.fromEntries(Object.entries(SECRETS).map(([k, v]) => [`bitbucket-iac:${k}`, v])),
        "bitbucket:apiUrl": f.emulator.apiUrl,
        "bitbucket:token": TOKEN,
      },
      Object.keys(SECRETS).map((k) => `bitbucket-iac:${k}`),
    );
  });
  after(async () => {
    Error.stackTraceLimit = stackTraceLimit;
    restore?.();
    pulumi.runtime.setAllConfig({}, []);
    setProviderConfig(() => undefined);
    await f?.close();
    if (cases) {
      console.log(
        `      [plan-up] ${cases} cases, ${(ms / cases).toFixed(0)} ms each; ${billed} ups billed exactly`,
      );
      console.log(`      [plan-up] actions: ${JSON.stringify(seen)}`);
    }
  });

  const up = (engine: Engine, m: Manifest) =>
    engine.up(async () =>
      Object.values(
        (await deployManifest(parseManifest(manifestText(m), "bitbucket.yaml"), () => [{ slug: "api" }]))
          .resources,
      ),
    );

  async function check(first: Manifest | undefined, hand: ByHand, second: Manifest): Promise<void> {
    const started = Date.now();
    resetStore(f.emulator.store);
    const engine = new Engine(f.harness, { runs: 1 });
    if (first) {
      const bills = billsFirst(first);
      fs.writeFileSync(path.join(dir, "bitbucket.yaml"), manifestText(first));
      const p = bills ? await run(["plan", "--stats", "--format", "json"], dir) : undefined;
      if (p) assert.ok([0, 2].includes(p.code), `plan of the first manifest exited ${p.code}: ${p.err}`);
      f.emulator.resetLog();
      const made = await up(engine, first);
      assert.equal(made.error, undefined, `the first run fails: ${made.error?.message}`);
      if (p) {
        assertBilled((JSON.parse(p.out) as { bill: Bill }).bill, f.emulator.log(), "/2.0", "the first up");
        billed++;
      }
    }
    applyByHand(f.emulator.store, hand);
    const before = snapshot(f.emulator.store);

    fs.writeFileSync(path.join(dir, "bitbucket.yaml"), manifestText(second));
    fs.writeFileSync(path.join(dir, "state.json"), engine.checkpoint());
    const p = await run(["plan", "--stats", "--state", "state.json", "--format", "json"], dir);
    assert.ok([0, 2, 3].includes(p.code), `plan exited ${p.code}: ${p.err}`);
    const { resources: planned, bill } = JSON.parse(p.out) as { resources: Planned[]; bill: Bill };
    for (const x of planned) assert.equal(x.error, undefined, `plan could not plan ${x.name}: ${x.error}`);

    f.emulator.resetLog();
    const result = await up(engine, second);
    const log = f.emulator.log();
    const steps = planned.map((x) => `${x.action} ${x.name}${x.note ? ` (${x.note})` : ""}`);
    if (!bill.stops) {
      assertBilled(bill, log, "/2.0", `the second up, planned as\n  ${steps.join("\n  ")}\n`);
      billed++;
    } else
      assert.ok(
        log.length <= bill.total,
        `a conflict stops the second up: it sends at most the bill (${JSON.stringify(bill.byMethod)}), planned as\n  ${steps.join("\n  ")}\nand sent:\n  ${log.join("\n  ")}`,
      );
    const after = snapshot(f.emulator.store);
    const declared = new Set(planned.filter((x) => x.action !== "delete").map((x) => `${x.type}::${x.name}`));
    const did = upActions(result.steps, engine, declared);
    const stops = planned.some((x) => x.action === "conflict");
    assert.equal(
      result.error !== undefined,
      stops,
      `plan ${stops ? "has" : "has no"} conflict, and up ${result.error ? `failed: ${result.error.message}` : "succeeded"}`,
    );
    for (const x of planned) {
      const key = `${x.type}::${x.name}`;
      const upDid = did.get(key);
      seen[x.action] = (seen[x.action] ?? 0) + 1;
      did.delete(key);
      if (x.action === "delete" && stops) continue; // up stops before it deletes anything
      // A consumer plan cannot read is verified by up: recorded, or recorded again, never a write.
      const verified = x.action === "verify" && ["create", "update", "nothing"].includes(upDid ?? "");
      const expected = x.action === "conflict" ? "failed" : verified ? upDid : x.action;
      assert.equal(
        upDid,
        expected,
        `${key}: plan says ${x.action}${x.note ? ` (${x.note})` : ""}, up did ${upDid}`,
      );
      if (x.action !== "update" && x.action !== "adopt") continue;
      const id = objectOf(x.type, engine.entry(x.type, x.name)!.id);
      fieldsAgree(key, x, before.get(id), after.get(id));
    }
    assert.deepEqual([...did], [], "up did something plan did not list");
    if (p.code === 0) {
      // "No changes": nothing Bitbucket shows changed (a write-only value plan could not compare may have).
      const shown = (m: Map<string, Seen>) =>
        [...m].map(([id, o]) => [id, Object.entries(o.fields).filter(([k]) => !o.writeOnly.includes(k))]);
      assert.deepEqual(shown(after), shown(before), "plan said no changes, and Bitbucket changed");
    }
    ms += Date.now() - started;
    cases++;
  }

  it(`holds for generated stacks, changes by hand and manifests (${RUNS} cases)`, async function () {
    this.timeout(LONG ? 0 : RUNS * 3_000);
    await fc.assert(
      fc.asyncProperty(fc.option(manifest, { freq: 4, nil: undefined }), byHand, manifest, check),
      { ...fuzzParams<[Manifest | undefined, ByHand, Manifest]>("plan and up", 200), endOnFailure: true },
    );
  });
});
