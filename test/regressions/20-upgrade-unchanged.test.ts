// Issue 20: the manifest's kinds become descriptors, and "an up after the change over a stack made
// before it is all same". test/fixtures/upgrade-20/<flavor>.json holds a stack the code of
// 3fa4604 (before the change) made from <flavor>.yaml through the engine harness: every kind,
// every preset of the flavor, webhook secrets from config, the environment and generated, a URL
// with a query, selectors, retainOnDelete. Each flavor's state goes into a fresh Engine and its
// Bitbucket objects into a fresh emulator; one `up` of the same manifest with the code of today
// must then change nothing: every step "same", the same resources registered the same way (URN,
// parent, aliases, options), the same state, the same stack outputs, and no write to Bitbucket.
// test/fixtures/make-stack-before-20.ts made the recordings (read its header before regenerating).

import * as assert from "node:assert/strict";
import * as fs from "fs";
import { Engine, type StateEntry } from "../harness/deploy";
import type { Fixture } from "../harness/fixture";
import {
  manifestFile,
  readRecording,
  resolveRecording,
  restoreStore,
  start,
  storeData,
  up,
  type Flavor,
  type Recording,
  type Registration,
  type Run,
  SECRET,
} from "../harness/recorded-stack";

const FLAVORS: Record<Flavor, string> = { cloud: "Bitbucket Cloud", datacenter: "Bitbucket Data Center" };

const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? "undefined";
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

/**
 * Where two values differ, one line per path (`inputs.description: "CI" -> (none)`); `hidden`
 * paths (secrets) say only that they changed.
 */
function differences(before: unknown, after: unknown, at = "", hidden = new Set<string>()): string[] {
  const isRecord = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  // A secret output, as the recording shows it: its value is compared, never printed.
  const secret = (x: unknown) => isRecord(x) && Object.keys(x).join() === SECRET;
  if (secret(before) !== secret(after))
    return [`${at}: ${secret(before) ? "secret" : "plain"} -> ${secret(after) ? "secret" : "plain"}`];
  if (secret(before)) hidden.add(`${at ? `${at}.` : ""}${SECRET}`);
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => differences(before[k], after[k], at ? `${at}.${k}` : k, hidden));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (hidden.has(at)) return [`${at}: (secret) changed`];
  const side = (x: unknown) => (x === undefined ? "(none)" : shown(x));
  return [`${at}: ${side(before)} -> ${side(after)}`];
}

/** `Type name` of a resource or registration. */
const named = (r: { type: string; name: string }) => `${r.type} ${r.name}`;

/** What differs between two lists of records keyed by `key`: gone, new, and changed fields. */
function listDifferences<T extends { type: string; name: string }>(
  before: T[],
  after: T[],
  key: (t: T) => string,
  hidden: (t: T) => Set<string> = () => new Set(),
): string[] {
  const was = new Map(before.map((t) => [key(t), t]));
  const now = new Map(after.map((t) => [key(t), t]));
  const lines: string[] = [];
  for (const [k, t] of was) if (!now.has(k)) lines.push(`- ${named(t)}: no longer there`);
  for (const [k, t] of now) if (!was.has(k)) lines.push(`+ ${named(t)}: new`);
  for (const [k, t] of was) {
    const n = now.get(k);
    if (n) lines.push(...differences(t, n, "", hidden(t)).map((d) => `~ ${named(t)} ${d}`));
  }
  return lines;
}

const failure = (what: string, lines: string[]) =>
  `${what} (${lines.length}):\n  ${lines.join("\n  ")}\n` +
  "If the change is meant, the stack's shape changed: see test/fixtures/make-stack-before-20.ts before regenerating.";

const stateKey = (e: StateEntry) => `${e.type}::${e.name}`;
const registrationKey = (r: Registration) => `${r.parent}::${r.type}::${r.name}`;

describe("issue 20: a stack made before the kinds became descriptors upgrades with no change", function () {
  this.timeout(60_000);

  for (const [flavor, title] of Object.entries(FLAVORS) as Array<[Flavor, string]>) {
    describe(title, () => {
      let f: Fixture | undefined;
      let recording: Recording;
      let run: Run;
      let engine: Engine;
      let storeBefore: unknown;

      before(async () => {
        const committed = readRecording(flavor);
        f = await start(flavor, committed.setup.seed, committed.clock);
        recording = resolveRecording(flavor, f.emulator);
        restoreStore(f.emulator.store, recording.store);
        engine = new Engine(f.harness);
        for (const e of recording.state) engine.state.set(stateKey(e), structuredClone(e));
        storeBefore = storeData(f.emulator.store);
        f.emulator.resetLog();
        run = await up(engine, f, flavor, manifestFile(flavor), recording.setup, recording.clock);
      });
      after(async () => f?.close());

      const ran = () => assert.equal(run.error, undefined, `the up failed: ${run.error?.message}`);

      it("replays the manifest the stack was recorded from", () => {
        assert.equal(
          fs.readFileSync(manifestFile(flavor), "utf8"),
          recording.manifest,
          `${manifestFile(flavor)} differs from the manifest ${flavor}.json was recorded from: a changed manifest is a new stack; see test/fixtures/make-stack-before-20.ts`,
        );
        assert.ok(recording.state.length > 10, "the recording holds the stack");
      });

      it("runs an up in which every step is the same: nothing created, updated, replaced, deleted or renamed", () => {
        ran();
        const notSame = run.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.type} ${s.name}`);
        assert.deepEqual(notSame, [], failure("steps that are not the same", notSame));
        assert.deepEqual(
          run.steps.map(named).sort(),
          recording.state.map(named).sort(),
          "one step per resource of the stack",
        );
      });

      it("registers the same resources: types, names, parents, aliases and options", () => {
        ran();
        const lines = listDifferences(recording.registrations, run.registrations, registrationKey);
        assert.deepEqual(lines, [], failure("registrations that differ", lines));
        const custom = (rs: Registration[]) =>
          rs
            .filter((r) => r.custom)
            .map((r) => `${r.type.split(":").pop()} ${r.name}`)
            .sort();
        assert.deepEqual(
          custom(run.registrations),
          recording.state.map(named).sort(),
          "a resource per state entry",
        );
      });

      it("leaves the state as it was: ids, inputs, outputs, retainOnDelete and which values are secret", () => {
        ran();
        const secretPaths = (e: StateEntry) =>
          new Set([
            ...(e.secretInputs ?? []).map((k) => `inputs.${k}`),
            ...(e.secretOutputs ?? []).map((k) => `outs.${k}`),
          ]);
        const lines = listDifferences(recording.state, [...engine.state.values()], stateKey, secretPaths);
        assert.deepEqual(lines, [], failure("state that differs", lines));
      });

      it("exports the same stack outputs, secret values and their secrecy included", () => {
        ran();
        const lines = differences(recording.outputs, run.outputs);
        assert.deepEqual(lines, [], failure("stack outputs that differ", lines));
      });

      it("writes nothing to Bitbucket", () => {
        ran();
        const writes = f!.emulator.log().filter((l) => !l.startsWith("GET "));
        assert.deepEqual(writes, [], failure("requests that write", writes));
        assert.deepEqual(storeData(f!.emulator.store), storeBefore, "the emulator's objects are unchanged");
      });
    });
  }
});
