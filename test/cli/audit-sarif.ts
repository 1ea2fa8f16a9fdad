// What every SARIF report of `audit` must be: the shape SARIF 2.1.0 requires (§3.13 sarifLog:
// version and runs; §3.14 run: tool; §3.19 toolComponent: name; §3.49 reportingDescriptor: id;
// §3.27 result: message with text; level one of none, note, warning, error), our rules with their
// help, and each result pointing at its rule and a logical location; and valid against the SARIF
// 2.1.0 JSON schema (test/fixtures/sarif, with its source).

import * as assert from "node:assert/strict";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import * as fs from "fs";
import * as path from "path";
import { RULES } from "../../provider/policy/rules";

const SCHEMA = path.resolve(__dirname, "../fixtures/sarif/sarif-2.1.0-rtm.5.json");

let compiled: ValidateFunction | undefined;

/** The SARIF 2.1.0 schema's validator, compiled once per process (policy-inert checks 300 reports). */
function schemaValidator(): ValidateFunction {
  compiled ??= compileSchema();
  return compiled;
}

function compileSchema(): ValidateFunction {
  // The schema is draft-04: its `id` is draft-07's `$id`; nothing else of it differs for ajv.
  const {
    $schema: _,
    id,
    ...schema
  } = JSON.parse(fs.readFileSync(SCHEMA, "utf8")) as Record<string, unknown>;
  // One of its patterns is not valid in Unicode mode (`]` after a group): ajv compiles them without it.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile({ ...schema, $id: String(id) });
}

interface Sarif {
  version: string;
  $schema?: string;
  runs: Array<{
    tool: {
      driver: {
        name: string;
        version?: string;
        rules: Array<{ id: string; shortDescription?: { text: string }; help?: { text: string } }>;
      };
    };
    results: Array<{
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: Array<{ logicalLocations: Array<{ name: string; kind?: string }> }>;
    }>;
  }>;
}

/** Checks a SARIF report of audit; returns `rule object` for each result, sorted. */
export function checkSarif(text: string): string[] {
  const log = JSON.parse(text) as Sarif;
  const validate = schemaValidator();
  if (!validate(log)) assert.fail(`not valid SARIF 2.1.0: ${JSON.stringify(validate.errors, null, 2)}`);
  assert.equal(log.version, "2.1.0");
  assert.equal(log.runs.length, 1, "one run");
  const [run] = log.runs;
  assert.equal(run!.tool.driver.name, "bitbucket-iac");
  assert.match(run!.tool.driver.version ?? "", /^\d+\.\d+\.\d+/);
  const rules = run!.tool.driver.rules;
  assert.deepEqual(
    rules.map((r) => r.id),
    Object.keys(RULES),
    "every rule, in the order of RULES",
  );
  for (const r of rules) {
    assert.ok((r.shortDescription?.text ?? "").length > 10, `${r.id} has a short description`);
    assert.ok((r.help?.text ?? "").length > 40, `${r.id} has a help text`);
  }
  for (const res of run!.results) {
    assert.ok(["error", "warning"].includes(res.level), res.level);
    assert.equal(rules[res.ruleIndex]?.id, res.ruleId, "ruleIndex points at the rule");
    assert.ok(res.message.text.length > 0);
    assert.equal(res.locations.length, 1);
    assert.equal(res.locations[0]!.logicalLocations[0]!.kind, "resource");
  }
  return run!.results.map((r) => `${r.ruleId} ${r.locations[0]!.logicalLocations[0]!.name}`).sort();
}
