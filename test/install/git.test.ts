// The README's install from git, as a new user runs it: `npm install git+<repository-url>#<tag>
// @pulumi/pulumi` in a new project, against a repository made of this checkout's files (a commit
// and a tag, served by file://). npm clones it, installs the development dependencies in its
// temporary clone (from the npm cache) and runs `prepare` there: the build and nothing else lands
// in the project, and the only script npm names is the build.

import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  README_INSTALLS,
  VERSION,
  cli,
  filesNamed,
  installArgs,
  linesNaming,
  newProject,
  remove,
  run,
  sourceCopy,
  type Ran,
} from "./setup";

const TAG = `v${VERSION}`;

/** A git repository of the checkout's files as they are now (committed or not), tagged TAG. */
function repository(): string {
  const dir = sourceCopy();
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=install test", "-c", "user.email=install@example.test", ...args], {
      cwd: dir,
      stdio: "pipe",
    });
  git("init", "--quiet");
  git("add", "--all");
  git("commit", "--quiet", "--no-verify", "--message", "install test");
  git("tag", TAG);
  return dir;
}

describe("install from git, as the README says", function () {
  this.timeout(900_000);
  let repo: string;
  let project: string;
  let installed: Ran;

  before(async () => {
    repo = repository();
    project = newProject();
    const line = README_INSTALLS[1]!;
    assert.equal(line, "npm install git+<repository-url>#<tag> @pulumi/pulumi");
    installed = await run(
      "npm",
      installArgs(line, { "<repository-url>": `file://${repo}`, "<tag>": TAG }),
      project,
      process.env,
      840_000,
    );
    assert.equal(installed.code, 0, installed.stderr);
  });
  after(() => remove(project, repo));

  it("builds the package in npm's clone: the project gets the compiled code, not the build's tools", () => {
    const pkg = path.join(project, "node_modules", "bitbucket-iac");
    for (const f of ["dist/provider/index.js", "dist/provider/index.d.ts", "dist/provider/cli/main.js"])
      assert.ok(fs.existsSync(path.join(pkg, f)), `${f} is built`);
    assert.deepEqual(filesNamed(pkg, /\.schema\.json$/), ["schema/manifest.schema.json"]);
    assert.ok(!fs.existsSync(path.join(pkg, "node_modules")), "no node_modules/bitbucket-iac/node_modules");
    for (const dev of ["typescript", "mocha", "ts-node", "eslint"])
      assert.ok(
        !fs.existsSync(path.join(project, "node_modules", dev)),
        `${dev} is not installed in the project`,
      );
  });

  it("names only the build among this package's scripts, if npm names scripts at all", () => {
    // npm 11 lists install scripts not yet covered by allowScripts; older npm says nothing.
    assert.deepEqual(
      linesNaming(installed.stdout + installed.stderr).filter(
        (l) => l !== `npm warn install-scripts   bitbucket-iac@${VERSION} (prepare: npm run build)`,
      ),
      [],
    );
    assert.doesNotMatch(installed.stdout + installed.stderr, /link-self/);
  });

  it("runs `npx bitbucket-iac validate` and the library from the project", async () => {
    const ok = await run("npx", ["--no-install", "bitbucket-iac", "validate"], project);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^bitbucket.yaml: valid \(1 resource/);
    const version = await cli(project, ["--version"]);
    assert.equal(version.stdout.trim(), VERSION);
    const lib = await run(
      process.execPath,
      ["-e", `console.log(typeof require("bitbucket-iac").deployManifest)`],
      project,
    );
    assert.equal(lib.stdout.trim(), "function", lib.stderr);
  });
});
