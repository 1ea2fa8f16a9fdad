// The command line's own process does not serialize the providers of the resources its program
// declares under mocks (provider/cli/unserialized.ts): `validate`, like every command (one
// main.ts), never opens the SDK's inspector session (its closure/v8 modules, loaded by a first
// serialization, stay unloaded), and loads the SDK's modules the package uses, not its index
// (provider/pulumi.ts). An SDK that moved the module keeps its own serializer. A program that
// imports the package, like the engine harness, keeps the SDK's serializer.

import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { UNSERIALIZED } from "../../provider/cli/unserialized";
import { tempDir } from "../hooks";
import { run, workdir } from "./run";

const CLI = path.join(__dirname, "../../dist/provider/cli/main.js");

const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://ci.example.com/hook
    events: [repo:push]
`;

/** The modules a command line process loaded, as it exits (a preloaded probe reports them). */
function modulesLoadedBy(
  args: string[],
  cwd: string,
): { status: number | null; stdout: string; loaded: string[] } {
  const report = path.join(tempDir("bbiac-probe-"), "loaded.json");
  const probe = path.join(path.dirname(report), "probe.js");
  fs.writeFileSync(
    probe,
    `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = spawnSync(process.execPath, ["--require", probe, CLI, ...args], {
    cwd,
    encoding: "utf8",
    timeout: 30_000,
  });
  return {
    status: r.status,
    stdout: r.stdout,
    loaded: JSON.parse(fs.readFileSync(report, "utf8")) as string[],
  };
}

describe("the command line's process does not serialize providers", function () {
  this.timeout(60_000);

  it("validate declares the manifest's resources without opening the SDK's inspector session", () => {
    const dir = workdir({ "bitbucket.yaml": MANIFEST });
    const r = modulesLoadedBy(["validate"], dir);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^bitbucket\.yaml: valid \(\d+ resources? /);
    assert.deepEqual(
      r.loaded.filter((f) => /closure[\\/]v8(Hooks)?\.js$/.test(f)),
      [],
    );
  });

  it("validate loads the SDK's modules the package uses (provider/pulumi.ts), not its index or automation API", () => {
    const dir = workdir({ "bitbucket.yaml": MANIFEST });
    const r = modulesLoadedBy(["validate"], dir);
    assert.equal(r.status, 0);
    const sdk = r.loaded.filter((f) => f.includes(`${path.sep}@pulumi${path.sep}pulumi${path.sep}`));
    assert.ok(
      sdk.some((f) => f.endsWith(path.join("pulumi", "dynamic", "index.js"))),
      "the dynamic resources are loaded",
    );
    assert.deepEqual(
      sdk.filter((f) => /pulumi[\\/](index|automation[\\/]index|runtime[\\/]index)\.js$/.test(f)),
      [],
    );
  });

  it("an SDK without the serializer's module where it is looked for: the command line keeps the SDK's own", () => {
    const dir = workdir({ "bitbucket.yaml": MANIFEST });
    // Our lookup of the module fails; the SDK's own (relative) require still finds it.
    const moved = path.join(dir, "moved.js");
    fs.writeFileSync(
      moved,
      `const Module = require("module"); const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "@pulumi/pulumi/runtime/closure/serializeClosure") throw Object.assign(new Error("moved"), { code: "MODULE_NOT_FOUND" });
  return resolve.call(this, request, ...rest);
};\n`,
    );
    const r = spawnSync(process.execPath, ["--require", moved, CLI, "validate"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^bitbucket\.yaml: valid /);
  });

  it("a name the stand-in lacks is the SDK module's own, loaded when asked", () => {
    const script = `require(${JSON.stringify(path.join(__dirname, "../../dist/provider/cli/unserialized.js"))}).skipProviderSerialization();
const m = require(require.resolve("@pulumi/pulumi/runtime/closure/serializeClosure"));
m.serializeFunction(() => 1).then((f) => console.log(JSON.stringify({ esModule: m.__esModule, text: f.text })));`;
    const r = spawnSync(process.execPath, ["-e", script], {
      cwd: path.join(__dirname, "../.."),
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { esModule: true, text: UNSERIALIZED });
  });

  it("a process that imports the command line keeps the SDK's serializer", async () => {
    const dir = workdir({ "bitbucket.yaml": MANIFEST });
    const r = await run(["validate"], dir);
    assert.equal(r.code, 0, r.err);
    // The module the SDK's dynamic resources call (not pulumi.runtime's copy of its export).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure") as typeof pulumi.runtime;
    const answer = 42;
    const serialized = await closure.serializeFunction(() => answer);
    assert.notEqual(serialized.text, UNSERIALIZED);
    assert.match(serialized.text, /answer/);
  });
});
