// The arithmetic behind `npm run bench -- --scale`'s PASS and FAIL (bench/scale.ts): the growth
// ratio, the growth per resource, a target at its boundary, and every target over made-up runs, so
// that the verdicts the bench prints cannot rot unseen. The property runs with a fixed seed;
// FUZZ_SEED and FUZZ_RUNS change it.

import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import {
  evaluateTargets,
  growthPerResource,
  growthRatio,
  judge,
  notMeasured,
  SCALE_TARGETS,
  sizes,
  type Phase,
  type Run,
  type Verdict,
  type Who,
} from "../../bench/scale";

const SEED = Number(process.env.FUZZ_SEED ?? 23);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

const KIB = 1024;
const NAMES = ["up", "no-op up", "refresh", "destroy"];

/** A phase at `msPerResource` for `resources`, with the host's peak RSS and the state it left. */
const phase = (
  name: string,
  resources: number,
  msPerResource: number,
  rss: number,
  stateBytes = 1500,
): Phase => ({
  name,
  ms: msPerResource * resources,
  hostStartMs: 1000,
  requests: resources,
  refused: 0,
  rss,
  programRss: 300 * 2 ** 20,
  stateBytes: name === "destroy" ? 0 : stateBytes,
  failed: 0,
});

/**
 * A run of 4 resources per repository: every phase at `ms` per resource (`override` changes one),
 * and a host whose peak RSS is 100 MiB plus `rssPerResource` bytes per resource.
 */
function run(
  who: Who,
  repos: number,
  ms = 10,
  override: Partial<Record<string, Partial<Phase> & { msPerResource?: number }>> = {},
  rssPerResource = 20 * KIB,
): Run {
  const resources = repos * 4;
  return {
    who,
    repos,
    resources,
    phases: NAMES.map((name) => {
      const { msPerResource, ...rest } = override[name] ?? {};
      return {
        ...phase(name, resources, msPerResource ?? ms, 100 * 2 ** 20 + rssPerResource * resources),
        ...rest,
      };
    }),
  };
}

/** Floor and Cloud at two sizes, every target met (floor 10 ms/resource, ours 5 everywhere). */
const passing = (): Run[] => [
  run("floor", 250),
  run("cloud", 250, 5),
  run("floor", 2000),
  run("cloud", 2000, 5),
];

const verdict = (vs: Verdict[], what: string): Verdict => {
  const v = vs.find((x) => x.what.startsWith(what));
  assert.ok(v, `no verdict "${what}" in:\n${vs.map((x) => x.what).join("\n")}`);
  return v;
};

const failing = (vs: Verdict[]) => vs.filter((v) => v.status === "FAIL").map((v) => v.what);

describe("scale bench targets", () => {
  it("takes the growth ratio as the value at the largest size over the value at the smallest, in any order", () => {
    const points = [
      { resources: 8000, value: 23 },
      { resources: 1000, value: 20 },
      { resources: 4000, value: 99 },
    ];
    assert.equal(growthRatio(points), 1.15);
  });

  it("has no growth ratio or growth per resource with a single size", () => {
    assert.equal(growthRatio([{ resources: 1000, value: 5 }]), undefined);
    assert.equal(growthRatio([]), undefined);
    assert.equal(
      growthPerResource([
        { resources: 1000, value: 5 },
        { resources: 1000, value: 7 },
      ]),
      undefined,
    );
  });

  it("takes the growth per resource as the difference over the resources between the two ends", () => {
    const mib = 2 ** 20;
    const perResource = growthPerResource([
      { resources: 8000, value: 400 * mib },
      { resources: 1000, value: 120 * mib },
    ]);
    assert.equal(perResource, (280 * mib) / 7000);
  });

  it("depends only on the smallest and the largest size, whatever comes between or in which order", () => {
    const point = fc.record({
      resources: fc.integer({ min: 1, max: 10_000 }),
      value: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(point, { minLength: 2, maxLength: 8, selector: (p) => p.resources }),
        fc.nat(),
        (points, shift) => {
          const sorted = [...points].sort((a, b) => a.resources - b.resources);
          const ends = [sorted[0]!, sorted.at(-1)!];
          const shuffled = points.map((_, i) => points[(i + shift) % points.length]!);
          assert.equal(growthRatio(shuffled), growthRatio(ends));
          assert.equal(growthPerResource(shuffled), growthPerResource(ends));
          assert.equal(growthRatio(ends), ends[1]!.value / ends[0]!.value);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("passes a value just at its limit and fails one just over it", () => {
    assert.equal(judge("growth", 1.15, 1.15).status, "PASS");
    assert.equal(judge("growth", 1.1500001, 1.15).status, "FAIL");
    assert.equal(judge("state", 1945, SCALE_TARGETS.maxStateBytes).status, "PASS");
    assert.equal(judge("state", 1946, SCALE_TARGETS.maxStateBytes).status, "FAIL");
    assert.equal(judge("growth", Infinity, 1.15).status, "FAIL");
    assert.equal(judge("growth", NaN, 1.15).status, "FAIL");
  });

  it("fails a value that was not measured, saying why, and leaves one that cannot be computed n/a", () => {
    assert.deepEqual(judge("x", undefined, 1, notMeasured("at N = 500 (the phase failed)")), {
      status: "FAIL",
      what: "x",
      limit: 1,
      why: "not measured at N = 500 (the phase failed)",
    });
    assert.equal(judge("x", undefined, 1).status, "FAIL");
    assert.equal(
      judge("x", undefined, 1, { status: "n/a", why: "one size: nothing to compare" }).status,
      "n/a",
    );
  });

  it("passes every target of a run that meets them all, ten per flavor", () => {
    const vs = evaluateTargets(passing());
    assert.deepEqual(failing(vs), []);
    assert.equal(vs.length, 10);
    assert.ok(vs.every((v) => v.status === "PASS"));
    assert.ok(
      vs.every((v) => v.what.startsWith("Cloud ")),
      "the floor is the reference, never judged",
    );
  });

  it("fails the growth of the one phase whose ms per resource grows past 1.15x, and only that one", () => {
    const runs = passing();
    runs[3] = run("cloud", 2000, 5, { refresh: { msPerResource: 6 } });
    const vs = evaluateTargets(runs);
    assert.deepEqual(failing(vs), ["Cloud refresh: ms/resource growth, N = 250 to 2000"]);
    assert.equal(verdict(vs, "Cloud refresh: ms/resource growth").value, 1.2);
  });

  it("passes a growth of exactly 1.15x", () => {
    const runs = passing();
    runs[1] = run("cloud", 250, 20);
    runs[3] = run("cloud", 2000, 23);
    // 23 ms/resource against the floor's 10 fails no-op up; growth itself is at its limit.
    assert.deepEqual(failing(evaluateTargets(runs)), [
      "Cloud no-op up: ms/resource over the floor's, N = 2000",
    ]);
  });

  it("judges no-op up against the floor at the largest size: 0.6x passes, more fails", () => {
    const at = (msPerResource: number) => {
      const runs = passing();
      runs[1] = run("cloud", 250, 10, { "no-op up": { msPerResource } });
      runs[3] = run("cloud", 2000, 10, { "no-op up": { msPerResource } });
      return verdict(evaluateTargets(runs), "Cloud no-op up: ms/resource over the floor's");
    };
    assert.equal(at(6).status, "PASS");
    assert.equal(at(6).value, 0.6);
    assert.equal(at(6.5).status, "FAIL");
    // The floor at a smaller size does not count: only the floor run at the largest N does.
    const runs = passing();
    runs[0] = run("floor", 250, 1);
    assert.equal(
      verdict(evaluateTargets(runs), "Cloud no-op up: ms/resource over the floor's").status,
      "PASS",
    );
  });

  it("fails no-op up when the floor's no-op up at the largest size failed", () => {
    const runs = passing();
    runs[2] = { ...runs[2]!, phases: runs[2]!.phases.slice(0, 1) };
    const v = verdict(evaluateTargets(runs), "Cloud no-op up: ms/resource over the floor's");
    assert.equal(v.status, "FAIL");
    assert.equal(v.why, "not measured at N = 2000 (the floor's failed)");
  });

  it("fails state over 1945 bytes per resource at any size and phase", () => {
    const runs = passing();
    runs[1] = run("cloud", 250, 5, { refresh: { stateBytes: 1946 } });
    const vs = evaluateTargets(runs);
    assert.deepEqual(failing(vs), ["Cloud state: bytes/resource, largest over every size and phase"]);
    assert.equal(verdict(vs, "Cloud state").value, 1946);
  });

  it("passes host RSS growing 40 KiB per resource and fails 41", () => {
    const at = (kib: number) => {
      const runs = passing();
      // From 20 KiB a resource at 1,000 resources to `kib` KiB for each of the 7,000 added.
      runs[3] = run("cloud", 2000, 5, {}, (KIB * (20 * 1000 + kib * 7000)) / 8000);
      return verdict(evaluateTargets(runs), "Cloud up: host RSS growth");
    };
    assert.equal(at(40).status, "PASS");
    assert.ok(Math.abs(at(40).value! - 40) < 1e-9);
    assert.equal(at(41).status, "FAIL");
  });

  it("fails the targets of a phase that failed at some size, saying where", () => {
    const runs = passing();
    const failed = run("cloud", 2000, 5, { refresh: { failed: 3, error: "3 operations failed" } });
    runs[3] = { ...failed, phases: failed.phases.slice(0, 3) };
    const vs = evaluateTargets(runs);
    assert.deepEqual(failing(vs), [
      "Cloud refresh: ms/resource growth, N = 250 to 2000",
      "Cloud refresh: host RSS growth, KiB/resource, N = 250 to 2000",
      "Cloud destroy: ms/resource growth, N = 250 to 2000",
      "Cloud destroy: host RSS growth, KiB/resource, N = 250 to 2000",
    ]);
    assert.equal(
      verdict(vs, "Cloud destroy: ms/resource").why,
      "not measured at N = 2000 (the phase failed)",
    );
  });

  it("judges each flavor on its own sizes, and leaves growth n/a for a flavor run at one size", () => {
    const runs = [...passing(), run("dc", 2000, 20)];
    const vs = evaluateTargets(runs);
    assert.equal(verdict(vs, "Data Center up: ms/resource growth").status, "n/a");
    assert.equal(verdict(vs, "Data Center up: host RSS growth").status, "n/a");
    assert.deepEqual(failing(vs), ["Data Center no-op up: ms/resource over the floor's, N = 2000"]);
  });

  it("reads sizes smallest first, once each, 250 to 2000 repositories by default", () => {
    assert.deepEqual(sizes(undefined), [250, 500, 1000, 2000]);
    assert.deepEqual(sizes("50,20,x,20,0"), [20, 50]);
  });
});
