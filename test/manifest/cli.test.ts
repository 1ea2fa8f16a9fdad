import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../provider/cli/main";
import { MAX_MANIFEST_BYTES, MAX_SHOWN_PROBLEMS } from "../../provider/manifest/load";
import { run as runIn } from "../cli/run";

const ROOT = path.resolve(__dirname, "../..");

const run = (args: string[]) => runIn(args, ROOT);

describe("bitbucket-iac validate", () => {
  it("accepts a valid manifest and says how many resources it found offline", async () => {
    const r = await run(["validate", path.join(ROOT, "examples/platformsh/bitbucket.yaml")]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /bitbucket.yaml: valid \(2 resources from explicit repository lists; selectors are resolved by pulumi up\)/,
    );
  });

  it("says a manifest of selectors only is valid with entries to be resolved, not with 0 resources", async () => {
    const r = await run(["validate", path.join(ROOT, "examples/multi-repo/bitbucket.yaml")]);
    assert.equal(r.code, 0);
    const entries = (
      fs.readFileSync(path.join(ROOT, "examples/multi-repo/bitbucket.yaml"), "utf8").match(/^ {2}- /gm) ?? []
    ).length;
    assert.ok(entries > 1);
    assert.equal(
      r.out,
      `${path.join(ROOT, "examples/multi-repo/bitbucket.yaml")}: valid (${entries} entries, over repositories chosen by selectors: \`bitbucket-iac plan\` lists them and shows each resource)`,
    );
    assert.doesNotMatch(r.out, /0 resources/);
  });

  it("reads the bitbucket.yaml of a directory given, and names a directory without one", async () => {
    const dir = await runIn(["validate", "examples/multi-repo"], ROOT);
    assert.equal(dir.code, 0);
    assert.match(dir.out, /^examples\/multi-repo\/bitbucket\.yaml: valid \(/);
    const none = await runIn(["validate", "examples"], ROOT);
    assert.equal(none.code, 64);
    assert.match(
      none.err,
      /^bitbucket-iac validate: examples is a directory with no bitbucket\.yaml in it: give the manifest's path \(bitbucket-iac validate path\/to\/bitbucket\.yaml\)\n/,
    );
    assert.doesNotMatch(none.err, /:1:1/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-"));
    try {
      const plan = await runIn(["plan", "."], empty);
      assert.equal(plan.code, 64, "a usage error, never 2 (changes)");
      assert.match(plan.err, /^bitbucket-iac plan: \. is a directory with no bitbucket\.yaml in it/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("says to quote a number or true/false where text is wanted, and not for other wrong types", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-"));
    try {
      const file = path.join(dir, "bitbucket.yaml");
      fs.writeFileSync(
        file,
        "version: 1\nworkspace: acme\npipelineVariables:\n  - { repositories: [app], key: PORT, value: 42, secured: false }\n  - { repositories: [app], key: TLS, value: true, secured: false }\n  - { repositories: [app], key: LIST, value: [a], secured: false }\n",
      );
      const r = await runIn(["validate", "bitbucket.yaml"], dir);
      assert.equal(r.code, 1);
      const quote = ": put it in quotes, as written, to keep it as text";
      assert.deepEqual(r.err.split("\n"), [
        `bitbucket.yaml:4:46 pipelineVariables[0].value: must be text, not 42${quote}`,
        `bitbucket.yaml:5:45 pipelineVariables[1].value: must be text, not true${quote}`,
        'bitbucket.yaml:6:46 pipelineVariables[2].value: must be text, not ["a"]',
        "3 problems",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints every problem with its position and exits 1", async () => {
    const r = await run(["validate", path.join(ROOT, "test/fixtures/bad/35-many-problems-at-once.yaml")]);
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.err.split("\n").map((l) => l.replace(/^.*35-many-problems-at-once\.yaml:/, "")),
      [
        '6:14 webhooks[0].events[0]: "repo:psuh" is not allowed here; did you mean "repo:push", "repo:fork", "repo:updated"?',
        "7:13 webhooks[0].secret: a secret cannot be written in the manifest: use { fromConfig: <name> } and run `pulumi config set --secret <name> <value>`, or { fromEnv: <NAME> }, or { generate: true } for a random one kept in state",
        '10:10 pipelineVariables[0].key: "bad-name" is not valid: Variable name: ASCII letters, digits and underscores, not starting with a digit.',
        "3 problems",
      ],
    );
  });

  describe("hostile or wrong files (issue 8.8)", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: string | Buffer) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, content);
      return f;
    };

    it("refuses a file over the size limit before parsing it, at file:1:1", async () => {
      const big = file("big.yaml", "version: 1\n" + "# padding\n".repeat(MAX_MANIFEST_BYTES / 10 + 1));
      const started = Date.now();
      const r = await run(["validate", big]);
      assert.equal(r.code, 1);
      assert.match(r.err, /big\.yaml:1:1 \(file\): the manifest is 4\.0 MiB; at most 4 MiB is read/);
      assert.ok(Date.now() - started < 2000, "refused without parsing");
    });

    it("says 'not a text file' for binary input, never a stack", async () => {
      const bin = file(
        "image.yaml",
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
      );
      assert.deepEqual((await run(["validate", bin])).err.split("\n"), [
        `${path.relative(process.cwd(), bin)}:1:1 (file): not a text file: a manifest is YAML text in UTF-8 (is this the right file?)`,
        "1 problem",
      ]);
      const latin1 = file("latin1.yaml", Buffer.from("version: 1\nworkspace: caf\xe9\n", "latin1"));
      assert.match((await run(["validate", latin1])).err, /latin1\.yaml:1:1 \(file\): not a text file/);
    });

    it("prints at most 50 problems of a junk file, then how many more, each with its position", async () => {
      const junk = Array.from({ length: 400 }, (_, i) => `key${i}: ${i}`).join("\n");
      const r = await run(["validate", file("junk.yaml", `version: 1\n${junk}\n`)]);
      const lines = r.err.split("\n");
      assert.equal(r.code, 1);
      assert.equal(lines.length, MAX_SHOWN_PROBLEMS + 2);
      for (const l of lines.slice(0, MAX_SHOWN_PROBLEMS)) assert.match(l, /^\S*junk\.yaml:\d+:\d+ /);
      assert.deepEqual(lines.slice(-2), ["... and 350 more problems (fix these first)", "400 problems"]);
    });

    it("reports a YAML alias bomb at the first alias, quickly and without a stack", async () => {
      const r = await run(["validate", path.join(ROOT, "test/fixtures/bad/40-yaml-alias-bomb.yaml")]);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /40-yaml-alias-bomb\.yaml:4:10 \(top level\): YAML: aliases here expand to too many nodes/,
      );
      assert.doesNotMatch(r.err, /ReferenceError|\s+at /);
    });
  });

  it("explains its usage and exits 64 on an unknown command, option or extra argument", async () => {
    const lint = await run(["lint"]);
    assert.equal(lint.code, 64);
    assert.match(
      lint.err,
      /^bitbucket-iac: unknown command "lint"\n\nbitbucket-iac: Bitbucket integration setup as code/,
    );
    assert.match(
      (await run(["validate", "--strict"])).err,
      /^bitbucket-iac validate: unknown option --strict\n\nusage: bitbucket-iac validate \[file\] \[--policy FILE\]/,
    );
    assert.match((await run(["validate", "a.yaml", "b.yaml"])).err, /^bitbucket-iac validate: give one file/);
    assert.equal((await run([])).code, 64);
  });

  it("prints help to stdout with exit 0, for the tool and for validate, and its version", async () => {
    for (const args of [["--help"], ["-h"]]) {
      const r = await run(args);
      assert.deepEqual([r.code, r.err], [0, ""]);
      assert.match(
        r.out,
        /^bitbucket-iac: .*\n\nusage: bitbucket-iac <command> \[options\]\n\ncommands:\n {2}validate \[file\]/,
      );
    }
    for (const args of [
      ["validate", "--help"],
      ["validate", "-h"],
      ["validate", "x.yaml", "-h"],
    ]) {
      const r = await run(args);
      assert.deepEqual([r.code, r.err], [0, ""]);
      assert.match(
        r.out,
        /^usage: bitbucket-iac validate \[file\] \[--policy FILE\] \[--only SHARD \| --shards\]\n/,
      );
    }
    const v = await run(["--version"]);
    assert.deepEqual(v, {
      code: 0,
      out: JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version,
      err: "",
    });
    // Everywhere a user may look for them: -v, `version`, after a command; `help` and `help <command>`.
    for (const args of [
      ["-v"],
      ["version"],
      ["validate", "--version"],
      ["plan", "-v"],
      ["audit", "--version"],
    ])
      assert.deepEqual(await run(args), v, args.join(" "));
    const help = await run(["help"]);
    assert.deepEqual([help.code, help.err], [0, ""]);
    assert.equal(help.out, (await run(["--help"])).out);
    for (const command of ["validate", "plan", "export", "audit"]) {
      const r = await run(["help", command]);
      assert.deepEqual([r.code, r.err], [0, ""], `help ${command}`);
      assert.equal(r.out, (await run([command, "--help"])).out);
      assert.match(r.out, new RegExp(`^usage: bitbucket-iac ${command}`));
    }
    const unknown = await run(["help", "lint"]);
    assert.equal(unknown.code, 64);
    assert.match(unknown.err, /^bitbucket-iac: unknown command "lint"/);
    assert.match(
      (await run(["--help"])).out,
      /-v, --version {5}print the version \(also: bitbucket-iac version\)/,
    );
  });

  it("reads and names files relative to where the user ran it (npm's INIT_CWD), with a hint that fits the command line", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ["validate", "broken.yaml"],
      (s) => out.push(s),
      (s) => err.push(s),
      path.join(ROOT, "examples"),
    );
    assert.equal(code, 1);
    assert.match(err[0]!, /^broken\.yaml:6:14 webhooks\[0\]\.events\[0\]/);
    const missing = await run(["validate", "nope.yaml"]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.err,
      /nope\.yaml:1:1 \(file\): cannot read the manifest: no such file \(give its path: bitbucket-iac validate path\/to\/bitbucket\.yaml\)/,
    );
    const viaNpm = spawnSync("npm", ["run", "--silent", "validate", "--", "broken.yaml"], {
      cwd: path.join(ROOT, "examples"),
      encoding: "utf8",
    });
    assert.equal(viaNpm.status, 1);
    assert.match(viaNpm.stderr, /^broken\.yaml:6:14 /m);
  });

  it("prints exactly the README's transcript for examples/broken.yaml", async () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const transcript = /\$ npm run validate -- examples\/broken\.yaml\n([\s\S]*?)\n\s*```/.exec(readme)![1]!;
    const r = await run(["validate", "examples/broken.yaml"]);
    assert.deepEqual(
      r.err.split("\n"),
      transcript.split("\n").map((l) => l.trim()),
    );
  });

  it("runs as `npm run validate` from the repository", async () => {
    const out = execFileSync("npm", ["run", "--silent", "validate"], { cwd: ROOT }).toString();
    assert.match(out, /^bitbucket.yaml: valid \(2 resources/);
  });
});
