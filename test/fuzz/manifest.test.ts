// The manifest fuzz suite (issue 19): generated manifests, valid and mutated (manifests.ts), through
// what `bitbucket-iac validate` runs (parseManifest or loadManifest, then expand offline) and, for a
// few, through the built CLI. Whatever the input: the loader's own problems only (never a
// TypeError, a RangeError or a stack), each at a line and column inside the file, one line of
// plain text each, and under a second of work per file; a valid manifest has no problem at all.
// Seeds and runs: params.ts.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { main } from "../../provider/cli/main";
import { expand } from "../../provider/manifest/expand";
import { isManifestError, loadManifest, parseManifest, type Problem } from "../../provider/manifest/load";
import { aliasBomb, damagedExample, hostileBytes, hostileOptions, mutatedText, validText } from "./manifests";
import { fuzzParams, LONG, runsOf, SEED } from "./params";

const ROOT = path.resolve(__dirname, "../..");
const FILE = "fuzz.yaml";

/** CPU time one file may take (CPU, not wall time: a loaded CI machine must not make it flaky). */
const BUDGET_MS = 1000;

/** At most this long a problem line: values are shown cut short, never whole. */
const MAX_PROBLEM_CHARS = 1000;

/** Control, format and line/paragraph separator characters: none may reach the output unescaped. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;

type Outcome = { problems: Problem[]; cpuMs: number };

/**
 * Runs `check` and measures its CPU time. Over the budget it runs once more and keeps the lesser
 * time: the process's CPU time includes the collector's threads, which may still be freeing the
 * megabytes of the case before. Work that really grows too fast is slow both times.
 */
function timed(check: () => Problem[]): Outcome {
  const once = () => {
    const before = process.cpuUsage();
    const problems = check();
    const used = process.cpuUsage(before);
    return { problems, cpuMs: (used.user + used.system) / 1000 };
  };
  const first = once();
  return first.cpuMs < BUDGET_MS ? first : { ...first, cpuMs: Math.min(first.cpuMs, once().cpuMs) };
}

/** The problems `run` throws: a ManifestError's, or anything else as a failure with its stack. */
function problemsThrownBy(run: () => void): Problem[] {
  try {
    run();
    return [];
  } catch (e) {
    if (isManifestError(e)) return e.problems;
    throw new Error(`not a ManifestError: ${e instanceof Error ? e.stack : String(e)}`, { cause: e });
  }
}

/** What `validate` does with the text: parse and check it, then expand it offline. */
const validate = (text: string): Outcome =>
  timed(() => problemsThrownBy(() => expand(parseManifest(text, FILE), () => undefined)));

/** The file's lines as the loader counts them (LineCounter breaks at \n only). */
const linesOf = (text: string) => text.split("\n");

/** Asserts what every answer to any input must be. */
function assertWellFormed(text: string, { problems, cpuMs }: Outcome, file = FILE): void {
  assert.ok(cpuMs < BUDGET_MS, `took ${cpuMs.toFixed(0)} ms of CPU (budget ${BUDGET_MS} ms)`);
  const lines = linesOf(text);
  for (const p of problems) {
    const where = `${p.loc.file}:${p.loc.line}:${p.loc.col} ${p.loc.path}`;
    assert.equal(p.loc.file, file, where);
    assert.ok(
      Number.isInteger(p.loc.line) && p.loc.line >= 1 && p.loc.line <= lines.length,
      `line outside the file (${lines.length} lines): ${where}`,
    );
    const width = lines[p.loc.line - 1]!.length;
    assert.ok(
      Number.isInteger(p.loc.col) && p.loc.col >= 1 && p.loc.col <= width + 1,
      `column outside line ${p.loc.line} (${width} characters): ${where}`,
    );
    assert.ok(p.message.length > 0, `empty message at ${where}`);
    const line = `${where}: ${p.message}`;
    assert.ok(
      line.length <= MAX_PROBLEM_CHARS,
      `a problem line of ${line.length} characters: ${line.slice(0, 200)}...`,
    );
    assert.ok(
      !UNPRINTABLE.test(line),
      `an unescaped control or format character in: ${JSON.stringify(line.slice(0, 300))}`,
    );
    assert.ok(!/\[object Object\]|\n\s+at /.test(line), `an internal detail in: ${line.slice(0, 300)}`);
  }
}

describe("fuzz: manifests through validate", function () {
  if (LONG) this.timeout(0);
  else this.timeout(60_000);

  it("accepts every generated valid manifest of either flavor, with no problem", () => {
    fc.assert(
      fc.property(validText, (text) => {
        const outcome = validate(text);
        assertWellFormed(text, outcome);
        assert.deepEqual(
          outcome.problems.map((p) => `${p.loc.line}:${p.loc.col} ${p.loc.path}: ${p.message}`),
          [],
          "a valid manifest",
        );
      }),
      fuzzParams("valid manifests", 100),
    );
  });

  it("answers mutated manifests with its own problems, inside the file, on one line each, within a second", () => {
    fc.assert(
      fc.property(mutatedText, (text) => assertWellFormed(text, validate(text))),
      fuzzParams("mutated manifests", 150),
    );
  });

  it("answers integration options of any type (what presets read) the same way", () => {
    fc.assert(
      fc.property(hostileOptions, (text) => assertWellFormed(text, validate(text))),
      fuzzParams("hostile integration options", 100),
    );
  });

  it("answers damaged examples (truncated, stray characters, tabs, BOM, CRLF) the same way", () => {
    fc.assert(
      fc.property(damagedExample, (text) => assertWellFormed(text, validate(text))),
      fuzzParams("damaged examples", 150),
    );
  });

  describe("files with hostile bytes, read as `validate <file>` reads them", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-fuzz-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads NUL, invalid UTF-8, a BOM or a cut character as one problem or a checked manifest, and exits 0 or 1 with problem lines only", async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(hostileBytes, async (bytes) => {
          const file = path.join(dir, `fuzz-${n++}.yaml`);
          fs.writeFileSync(file, bytes);
          const text = new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "");
          const outcome = timed(() =>
            problemsThrownBy(() => expand(loadManifest(file, { relativeTo: dir }), () => undefined)),
          );
          assertWellFormed(text, outcome, path.basename(file));
          // The command itself, in-process: its exit status and what it prints.
          const out: string[] = [];
          const err: string[] = [];
          const code = await main(
            ["validate", path.basename(file)],
            (s) => out.push(s),
            (s) => err.push(s),
            dir,
          );
          assertCliAnswer(path.basename(file), code, out, err);
          fs.rmSync(file);
        }),
        fuzzParams("hostile bytes", 40),
      );
    });
  });

  describe("the built CLI (node dist/provider/cli/main.js validate)", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-fuzz-cli-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 0 or 1 with problem lines only, never a stack, for a few generated files", function () {
      // Each spawn loads the whole package (1-2 s of CPU): a handful in npm test, more in a long run.
      const runs = LONG ? Math.max(3, Math.ceil(runsOf(0) / 100)) : 3;
      console.log(`      [fuzz] CLI files: seed ${SEED}, ${runs} files`);
      const samples = [
        ...fc.sample(validText, { seed: SEED, numRuns: 1 }).map((t) => Buffer.from(t)),
        ...fc.sample(mutatedText, { seed: SEED, numRuns: runs - 2 }).map((t) => Buffer.from(t)),
        ...fc.sample(hostileBytes, { seed: SEED, numRuns: 1 }),
      ];
      this.timeout(LONG ? 0 : 30_000 * samples.length);
      samples.forEach((bytes, i) => {
        const name = `fuzz-${i}.yaml`;
        fs.writeFileSync(path.join(dir, name), bytes);
        const started = Date.now();
        const r = spawnSync(
          process.execPath,
          [path.join(ROOT, "dist/provider/cli/main.js"), "validate", name],
          {
            cwd: dir,
            env: { ...process.env, INIT_CWD: dir }, // where npm says the user ran it (npx mocha sets it too)
            encoding: "utf8",
            timeout: 60_000,
          },
        );
        const ms = Date.now() - started;
        const lines = (s: string) => s.split("\n").filter((l) => l !== "");
        assert.equal(r.error, undefined, `${name}: ${String(r.error)}`);
        assertCliAnswer(name, r.status ?? -1, lines(r.stdout), lines(r.stderr));
        if (i === 0) assert.equal(r.status, 0, `the valid manifest:\n${r.stderr}`);
        console.log(`      [fuzz] ${name}: exit ${r.status} in ${ms} ms (process start included)`);
      });
    });
  });
});

/** What `validate` may answer: exit 0 and "valid", or exit 1 and problem lines with a count. */
function assertCliAnswer(name: string, code: number, out: string[], err: string[]): void {
  const all = [...out, ...err].join("\n");
  assert.ok(
    !/\n\s+at |TypeError|RangeError|ReferenceError|SyntaxError|Warning:/.test(all),
    `a stack or warning:\n${all.slice(0, 2000)}`,
  );
  if (code === 0) {
    assert.deepEqual(err, []);
    assert.equal(out.length, 1);
    assert.match(out[0]!, new RegExp(`^${name.replace(".", "\\.")}: valid \\(`));
    return;
  }
  assert.equal(code, 1, `exit status ${code}:\n${all.slice(0, 2000)}`);
  assert.deepEqual(out, []);
  const problem = new RegExp(`^${name.replace(".", "\\.")}:\\d+:\\d+ \\S`);
  for (const line of err.slice(0, -1))
    assert.ok(
      problem.test(line) || /^\.\.\. and \d+ more problems? \(fix these first\)$/.test(line),
      `not a problem line: ${JSON.stringify(line.slice(0, 300))}`,
    );
  assert.match(err.at(-1)!, /^\d+ problems?$/);
  const listed = err.slice(0, -1).filter((l) => problem.test(l)).length;
  const more = Number(/^\.\.\. and (\d+) more problems?/.exec(err.at(-2) ?? "")?.[1] ?? 0);
  assert.ok(listed > 0, `no problem listed:\n${all.slice(0, 2000)}`);
  assert.equal(
    parseInt(err.at(-1)!, 10),
    listed + more,
    `the count is the problems listed and not:\n${all.slice(0, 2000)}`,
  );
}

describe("fuzz: what the manifest fuzz suite found, as fixed examples", () => {
  const problemsOf = (text: string) => {
    const outcome = validate(text);
    assertWellFormed(text, outcome);
    return outcome.problems.map((p) => `${p.loc.line}:${p.loc.col} ${p.loc.path}: ${p.message}`);
  };

  it("reports an alias inside the value it names (&a [*a]) at the alias, instead of throwing a TypeError", () => {
    assert.deepEqual(problemsOf("version: 1\nworkspace: &a [x, *a]\n"), [
      "2:19 (top level): YAML: alias *a is inside the value it names (&a at 2:15): that value would contain itself",
    ]);
  });

  it("says an alias has no anchor, rather than that aliases expand to too many nodes", () => {
    assert.deepEqual(problemsOf("version: 1\nworkspace: *nope\n"), [
      "2:12 (top level): YAML: alias *nope names no anchor before it (write &nope on the value first)",
    ]);
  });

  it("still refuses an alias bomb at its first alias", () => {
    assert.deepEqual(problemsOf(`version: 1\nworkspace: acme\nx: ${aliasBomb(9)}\n`), [
      "3:46 (top level): YAML: aliases here expand to too many nodes (more than 100 per alias); write the entries out instead",
    ]);
  });

  it("refuses a megabyte-long unknown event, scope, preset, permission or flavor in well under a second", () => {
    const huge = "x".repeat(1_000_000);
    const texts = [
      `version: 1\nworkspace: acme\nwebhooks:\n  - url: https://h.example.test/a\n    events: [${huge}]\n`,
      `version: 1\nworkspace: acme\noauthConsumers:\n  - {id: c, name: n, scopes: [${huge}], key: {fromEnv: A}, secret: {fromEnv: B}}\n`,
      `version: 1\nworkspace: acme\nintegrations:\n  - {id: a, preset: ${huge}}\n`,
      `version: 1\nflavor: datacenter\nproject: P\naccessTokens:\n  - {name: a, permissions: [${huge}]}\n`,
      `version: 1\nflavor: ${huge}\n`,
      `{version: 1, workspace: acme, "${huge}": 1}\n`,
    ];
    for (const text of texts) {
      const [first] = problemsOf(text);
      assert.match(first ?? "", /"xxxxxxxxx+\.\.\." is not allowed here|unknown key "xxxxxxxxx+\.\.\."/);
    }
  });

  it("finds a duplicate key in a mapping of 10,000 keys in linear time", () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `  k${i}: ${i}`);
    const text = `version: 1\nworkspace: acme\nx:\n${keys.join("\n")}\n  k7: again\n`;
    assert.deepEqual(problemsOf(text), ["10004:3 (top level): YAML: Map keys must be unique"]);
  });

  it("reports each of 3,000 unknown keys in linear time (a key's position is not a scan of its mapping)", () => {
    const keys = Array.from({ length: 3_000 }, (_, i) => `k${i}: ${i}`);
    const problems = problemsOf(`version: 1\nworkspace: acme\n${keys.join("\n")}\n`);
    assert.equal(problems.length, 3_000);
    assert.match(problems.at(-1)!, /^3002:1 k2999: unknown key "k2999" \(keys here: \$schema, version, /);
  });

  it("puts a problem that follows a line break inside an unreadable token on the line it is on", () => {
    const problems = problemsOf("  x: 1\nversion: 1\n\t- id: a\n    name:");
    assert.equal(
      problems.at(-2),
      '3:8 (top level): YAML: Unexpected scalar token in YAML stream: "a\\n    name"',
    );
    assert.equal(
      problems.at(-1),
      '4:9 (top level): YAML: Unexpected map-value-ind token in YAML stream: ":"',
    );
  });

  it("reports an Ampersand option of the wrong type as a problem, instead of the preset's TypeError", () => {
    const ampersand = (read: string) =>
      [
        "version: 1",
        "workspace: acme",
        "oauthConsumers:",
        "  - { id: amp, name: A, callbackUrl: https://api.withampersand.com/callbacks/v1/oauth, scopes: [repository], key: { fromEnv: K }, secret: { fromEnv: S } }",
        "integrations:",
        `  - { id: amp, preset: ampersand, consumer: amp, options: { read: ${read} } }`,
      ].join("\n");
    for (const read of ["5", "repository", "[{ a: 1 }]"])
      assert.deepEqual(problemsOf(ampersand(read)).slice(0, 1), [
        "6:67 integrations[0].options.read: Ampersand: read: must be a list of text",
      ]);
  });

  it("keeps a preset's problem about a hostile option key on one printable line of bounded length", () => {
    const key = `${"k".repeat(3000)}\u001b[31m`;
    const text = `version: 1\nworkspace: acme\nintegrations:\n  - { id: s, preset: shippable, options: { token: { fromEnv: T }, integrationName: ci, "${key}": 1 } }\n`;
    const [first] = problemsOf(text);
    assert.match(first ?? "", /^4:42 integrations\[0\]\.options: Shippable: k{500,}\.\.\.$/);
  });

  it("shows a value with a line break or an escape sequence escaped, so it cannot forge a line of output", () => {
    assert.deepEqual(
      problemsOf('version: 1\nworkspace: "acme\\nfuzz.yaml:1:1 (top level): fine\\e[31m\\u202e"\n'),
      [
        '2:12 workspace: "acme\\nfuzz.yaml:1:1 (top level): fine\\u001b[31m\\u202e" is not valid: Bitbucket Cloud: default workspace slug for every entry.',
      ],
    );
    assert.deepEqual(
      problemsOf(
        'version: 1\nworkspace: acme\nintegrations:\n  - {id: "a\\nb", preset: generic, consumer: "x\\ny"}\n',
      ),
      [
        '4:10 integrations[0].id: "a\\nb" is not valid: Identifier other entries use to refer to this one (letters, digits, - and _).',
        '4:45 integrations[0].consumer: no OAuth consumer with id "x\\ny" (declare it under oauthConsumers)',
      ],
    );
  });

  it("shows a huge value of the wrong type cut short", () => {
    const [first] = problemsOf(
      `version: 1\nworkspace: [${Array.from({ length: 20_000 }, (_, i) => i).join(",")}]\n`,
    );
    assert.equal(
      first,
      "2:12 workspace: must be text, not [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,...",
    );
  });

  it("reports lists nested thousands of levels deep once, saying so", () => {
    for (const text of [
      `version: 1\nworkspace: acme\nwebhooks: ${"[".repeat(5000)}${"]".repeat(5000)}\n`,
      `version: 1\nworkspace: acme\nwebhooks: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n`,
      `version: 1\nworkspace: acme\nwebhooks: ${"[".repeat(100)}${"]".repeat(100)}\n`,
    ]) {
      const problems = problemsOf(text);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(
        problems[0]!,
        /^3:\d+ \(top level\): YAML: nested more than 64 levels deep; a manifest needs a few$/,
      );
    }
  });
});
