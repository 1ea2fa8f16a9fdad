// Issue 22 as a property: one policy, three places, one verdict. For a generated manifest and
// policy (policy-cases.ts: the manifest's `policy:` and maybe a shared policy file), on both
// flavors:
// - the error-level findings of `validate --policy` (its problems) and of `plan --policy --format
//   json` (`policy.findings`) and the policy's failures of the provider's check in a real `up`
//   through the engine harness are the same (rule, entry) pairs;
// - the warn-level findings of validate and plan are the same (rule, path) pairs, and so are the
//   error-level ones (plan and validate place a finding at the same field);
// - validate exits 1 iff plan exits 3 with policy errors iff some resource's check fails.
//
// The check reads the shared file the host's BITBUCKET_POLICY names, as `pulumi up` reads it; a case
// without one gives the host a file whose only rule is off, which applies nothing.
//
// One emulator and one host per flavor serve every case: the store is emptied between cases, and
// each `up` starts anew in the same host (Harness.newRun), which rereads the policy file.
// `npm test`: a fixed seed and a few cases per flavor. FUZZ_RUNS / FUZZ_SEED for more.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { setProviderConfig } from "../../provider/api/auth";
import { deployManifest, type DeployResult } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";
import { RULES } from "../../provider/policy/rules";
import { Engine } from "../harness/deploy";
import { DC_SEED, dcFixture, DEFAULT_SEED, fixture, TOKEN, type Fixture } from "../harness/fixture";
import { ALL_SCOPES } from "../emulator/store";
import { run, useEmulator, workdir, type Ran } from "../cli/run";
import { fuzzParams, LONG, runsOf } from "./params";
import {
  layerOf,
  manifestText,
  NO_POLICY_FILE,
  PAIR_KEY,
  policyCase,
  policyFileText,
  SECRETS,
  sourceOf,
  type Case,
  type Flavor,
} from "./policy-cases";

const RUNS = runsOf(15);

/** `rule entry (layer)` (or `rule path (layer)`), each once, sorted. */
const set = (xs: string[]) => [...new Set(xs)].sort();
/** The entry a finding's path is in: `webhooks[0].url` -> `webhooks[0]`. */
const entryOf = (p: string) => /^\w+\[\d+\]/.exec(p)?.[0] ?? p;

interface Found {
  rule: string;
  level: "error" | "warn";
  path: string;
  layer: string;
}

/** validate's findings, from what it prints: `bitbucket.yaml:3:5 webhooks[0].url: error <rule>: ...`. */
function validateFindings(r: Ran): Found[] {
  const found: Found[] = [];
  for (const line of r.err.split("\n").filter(Boolean)) {
    const m = /^bitbucket\.yaml:\d+:\d+ (\S+): (error|warning) ([\w.]+): /.exec(line);
    if (m)
      found.push({
        path: m[1]!,
        level: m[2] === "warning" ? "warn" : "error",
        rule: m[3]!,
        layer: layerOf(sourceOf(line)),
      });
    else assert.match(line, /^\d+ problems?$/, `validate says something besides findings: ${r.err}`);
  }
  return found;
}

interface PlanJson {
  resources: Array<{ action: string; name: string; error?: string }>;
  policy: {
    errors: number;
    warnings: number;
    findings: Array<{ rule: string; level: string; source: string; loc?: { path: string } }>;
  };
}

/** Where each resource the program declared comes from, by `Type::name`: its entry's path (an integration's children: the integration's). */
function entriesOf(d: DeployResult): Map<string, string> {
  const out = new Map<string, string>();
  type WithChildren = pulumi.Resource & { __childResources?: Set<pulumi.Resource> };
  const visit = (r: WithChildren, at: string) => {
    out.set(`${pulumi.resourceType(r).split(":").pop()}::${pulumi.resourceName(r)}`, at);
    for (const child of r.__childResources ?? []) visit(child, at);
  };
  for (const [name, r] of Object.entries(d.resources)) visit(r, d.declaredAt[name]!.path);
  return out;
}

const CONSUMER = {
  key: SECRETS.consumerKey,
  secret: SECRETS.consumerSecret,
  scopes: ALL_SCOPES,
  private: true,
};

for (const flavor of ["cloud", "datacenter"] as Flavor[]) {
  describe(`issue 22 property: validate, plan and the provider's check give one verdict (${flavor})`, function () {
    let f: Fixture;
    let restore: () => void;
    let dir: string;
    let ms = 0;
    let cases = 0;
    /** How often each rule was found at error level: the cases reach every rule. */
    const seen: Record<string, number> = {};
    const stackTraceLimit = Error.stackTraceLimit;
    const dc = flavor === "datacenter";

    before(async function () {
      this.timeout(60_000);
      // As plan-up.test.ts: no stack traces the SDK records, and nothing prints.
      Error.stackTraceLimit = 0;
      dir = workdir({ "org.yaml": NO_POLICY_FILE });
      const env = { BITBUCKET_POLICY: path.join(dir, "org.yaml") };
      f = dc
        ? await dcFixture(DC_SEED, { env })
        : await fixture({ ...DEFAULT_SEED, consumers: [CONSUMER] }, { env });
      restore = useEmulator(
        f.emulator,
        dc ? { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: f.emulator.dcUrl } : {},
      );
    });
    after(async () => {
      Error.stackTraceLimit = stackTraceLimit;
      restore?.();
      pulumi.runtime.setAllConfig({}, []);
      setProviderConfig(() => undefined);
      await f?.close();
      if (cases) {
        console.log(`      [policy-verdicts] ${flavor}: ${cases} cases, ${(ms / cases).toFixed(0)} ms each`);
        console.log(`      [policy-verdicts] ${flavor}: errors by rule: ${JSON.stringify(seen)}`);
      }
    });

    /** A real `up` of the manifest in the harness's host; the policy's failures of each check, with the entry of its resource. */
    async function checked(
      c: Case,
      text: string,
    ): Promise<Array<{ rule: string; entry: string; property: string; layer: string }>> {
      const config: Record<string, string> = {
        ...Object.fromEntries(Object.entries(SECRETS).map(([k, v]) => [`bitbucket-iac:${k}`, v])),
        ...(c.pairKey !== undefined && { [`bitbucket-iac:${PAIR_KEY}`]: c.pairKey }),
        "bitbucket:apiUrl": dc ? f.emulator.dcUrl : f.emulator.apiUrl,
        "bitbucket:token": TOKEN,
        ...(dc && { "bitbucket:flavor": "datacenter" }),
      };
      pulumi.runtime.setAllConfig(
        config,
        Object.keys(config).filter((k) => k.startsWith("bitbucket-iac:")),
      );
      const engine = new Engine(f.harness, { runs: 1 });
      let declared: DeployResult | undefined;
      await engine.up(async () => {
        declared = await deployManifest(parseManifest(text, "bitbucket.yaml"), () => [
          { slug: "api" },
          { slug: "web" },
        ]);
        return Object.values(declared.resources);
      });
      const entries = entriesOf(declared!);
      return engine.checkFailures.flatMap(({ type, name, failures }) =>
        failures.map((x) => {
          const rule = /^([\w.]+): /.exec(x.reason)?.[1] ?? "";
          assert.ok(
            rule in RULES,
            `${type} ${name}: a check failure that is not the policy's: ${x.property}: ${x.reason}`,
          );
          const entry = entries.get(`${type}::${name}`);
          assert.ok(entry !== undefined, `${type} ${name} is no entry's`);
          return { rule, entry, property: x.property, layer: layerOf(sourceOf(x.reason)) };
        }),
      );
    }

    async function check(c: Case): Promise<void> {
      const started = Date.now();
      f.emulator.store.emptyObjects();
      const text = manifestText(c);
      fs.writeFileSync(path.join(dir, "bitbucket.yaml"), text);
      fs.writeFileSync(path.join(dir, "org.yaml"), c.shared ? policyFileText(c.shared) : NO_POLICY_FILE);
      const policy = c.shared ? ["--policy", "org.yaml"] : [];
      const said = `\n--- bitbucket.yaml\n${text}${c.shared ? `--- org.yaml\n${policyFileText(c.shared)}` : ""}`;

      const v = await run(["validate", ...policy], dir);
      const validated = validateFindings(v);
      const p = await run(["plan", "--format", "json", ...policy], dir);
      assert.ok([0, 2, 3].includes(p.code), `plan exited ${p.code}: ${p.err}${said}`);
      const plan = JSON.parse(p.out) as PlanJson;
      for (const x of plan.resources)
        assert.ok(
          x.error === undefined && x.action !== "conflict",
          `plan: ${x.name} ${x.action} ${x.error ?? ""}${said}`,
        );
      const planned: Found[] = plan.policy.findings.map((x) => ({
        rule: x.rule,
        level: x.level as Found["level"],
        path: x.loc?.path ?? "(no place)",
        layer: layerOf(x.source),
      }));
      const failed = await checked(c, text);

      const at = (xs: Found[], l: Found["level"], where: (p: string) => string) =>
        set(xs.filter((x) => x.level === l).map((x) => `${x.rule} ${where(x.path)} (${x.layer})`));
      const same = (p: string) => p;
      assert.deepEqual(
        at(planned, "error", same),
        at(validated, "error", same),
        `plan's errors and validate's${said}`,
      );
      assert.deepEqual(
        at(planned, "warn", same),
        at(validated, "warn", same),
        `plan's warnings and validate's${said}`,
      );
      assert.deepEqual(
        set(failed.map((x) => `${x.rule} ${x.entry} (${x.layer})`)),
        at(validated, "error", entryOf),
        `the check's failures and validate's errors${said}`,
      );
      // Where validate names the entry's field, the check names the same input.
      const inputs = set(failed.map((x) => `${x.rule} ${x.entry}.${x.property} (${x.layer})`));
      for (const e of at(validated, "error", same).filter((x) => x.split(" ")[1]!.includes(".")))
        assert.ok(
          inputs.includes(e),
          `validate's ${e} is a check failure at that input (${inputs.join("; ")})${said}`,
        );

      const errors = validated.some((x) => x.level === "error");
      assert.equal(v.code, errors ? 1 : 0, `validate's exit${said}\n${v.err}`);
      assert.equal(plan.policy.errors > 0, errors, `plan's policy errors${said}`);
      assert.equal(p.code === 3, errors, `plan exits 3 iff it finds a policy error${said}`);
      assert.equal(failed.length > 0, errors, `some check fails iff validate finds an error${said}`);
      for (const x of validated.filter((x) => x.level === "error")) seen[x.rule] = (seen[x.rule] ?? 0) + 1;
      ms += Date.now() - started;
      cases++;
    }

    it(`holds for generated manifests and policies (${RUNS} cases)`, async function () {
      this.timeout(LONG ? 0 : RUNS * 5_000);
      await fc.assert(fc.asyncProperty(policyCase(flavor), check), {
        ...fuzzParams<[Case]>(`one verdict (${flavor})`, 15),
        endOnFailure: true,
      });
    });
  });
}
