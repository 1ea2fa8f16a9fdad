// The README's install from a release tarball, as a new user runs it: `npm pack` in a checkout,
// then, in a new project, the README's `npm install ./bitbucket-iac-<version>.tgz @pulumi/pulumi`.
// npm says nothing about this package's scripts (the tarball has none that install runs), the
// checkout's package.json is as it was, the CLI and `require` work, the schema is shipped once and
// found where `export`'s `$schema` says, and nothing links the package into itself.
// (test/package.test.ts type-checks a strict project against the same kind of tarball.)

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { tempDir } from "../hooks";
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

const TARBALL = `bitbucket-iac-${VERSION}.tgz`;

describe("install from a release tarball, as the README says", function () {
  this.timeout(600_000);
  let checkout: string;
  let project: string;
  let packageJson: string;
  let packed: Ran;
  let installed: Ran;

  before(async () => {
    checkout = sourceCopy();
    // `npm ci` there: this checkout's node_modules stands in for it.
    fs.symlinkSync(
      path.join(__dirname, "../../node_modules"),
      path.join(checkout, "node_modules"),
      "junction",
    );
    packageJson = fs.readFileSync(path.join(checkout, "package.json"), "utf8");
    project = newProject();
    packed = await run("npm", ["pack", "--pack-destination", project], checkout);
    assert.equal(packed.code, 0, packed.stderr);
    installed = await run("npm", installArgs(README_INSTALLS[0]!), project);
    assert.equal(installed.code, 0, installed.stderr);
  });
  after(() => remove(project, checkout));

  it("packs with the build, and leaves the checkout's package.json as it was", () => {
    assert.equal(packed.stdout.trim().split("\n").pop(), TARBALL);
    assert.match(
      packed.stdout,
      /^> bitbucket-iac@[\d.]+ prepack\n> npm run build && node .ci\/pack-manifest.js strip$/m,
    );
    assert.equal(fs.readFileSync(path.join(checkout, "package.json"), "utf8"), packageJson);
    assert.ok(!fs.existsSync(path.join(checkout, "package.json.packing")));
  });

  it("installs with the README's command, npm saying nothing about this package", () => {
    assert.equal(README_INSTALLS[0], `npm install ./${TARBALL} @pulumi/pulumi`);
    assert.deepEqual(linesNaming(installed.stdout + installed.stderr), []);
    const pkg = JSON.parse(
      fs.readFileSync(path.join(project, "node_modules/bitbucket-iac/package.json"), "utf8"),
    ) as {
      scripts: Record<string, string>;
    };
    for (const script of ["preinstall", "install", "postinstall", "prepare", "postprepare"])
      assert.equal(pkg.scripts[script], undefined, `the installed package.json has no ${script} script`);
  });

  it("ships the schema once, at the path package.json exports it, and no package inside the package", () => {
    const pkg = path.join(project, "node_modules", "bitbucket-iac");
    assert.deepEqual(filesNamed(pkg, /\.schema\.json$/), ["schema/manifest.schema.json"]);
    assert.ok(!fs.existsSync(path.join(pkg, "node_modules")), "no node_modules/bitbucket-iac/node_modules");
  });

  it("runs `npx bitbucket-iac validate` and the library from the project", async () => {
    const ok = await run("npx", ["--no-install", "bitbucket-iac", "validate"], project);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^bitbucket.yaml: valid \(1 resource/);
    fs.writeFileSync(path.join(project, "bad.yaml"), "version: 1\nworkspace: acme\nwebhook: []\n");
    const bad = await cli(project, ["validate", "bad.yaml"]);
    assert.equal(bad.code, 1);
    // The schema, read where the package ships it, answers.
    assert.match(
      bad.stderr,
      /^bad.yaml:3:1 webhook: unknown key "webhook"; did you mean "webhooks"\? \(keys here: \$schema, /m,
    );
    const lib = await run(
      process.execPath,
      [
        "-e",
        `const m = require("bitbucket-iac");
         const specs = m.loadManifest("bitbucket.yaml");
         console.log(typeof m.deployManifest, specs.webhooks.length, require.resolve("bitbucket-iac/schema/manifest.schema.json"))`,
      ],
      project,
    );
    assert.equal(lib.code, 0, lib.stderr);
    assert.equal(
      lib.stdout.trim(),
      `function 1 ${fs.realpathSync(project)}/node_modules/bitbucket-iac/schema/manifest.schema.json`,
    );
  });

  describe("`bitbucket-iac export` there", () => {
    let emu: Emulator;
    before(async () => {
      emu = await startEmulator({
        workspaces: { acme: ["api"] },
        tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      });
    });
    after(() => emu.close());

    const exported = async (output: string) => {
      const env = { ...process.env, BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN };
      const r = await cli(project, ["export", "--workspace", "acme", "-o", output], env);
      assert.equal(r.code, 0, r.stderr);
      const file = path.resolve(project, output);
      const schema = /^# yaml-language-server: \$schema=(.+)$/m.exec(fs.readFileSync(file, "utf8"))![1]!;
      return { schema, at: path.resolve(path.dirname(file), schema) };
    };

    it("names the schema the project installed, relative to the file, and the file is there", async () => {
      const root = await exported("exported.yaml");
      assert.equal(root.schema, "./node_modules/bitbucket-iac/schema/manifest.schema.json");
      fs.mkdirSync(path.join(project, "infra"));
      const nested = await exported("infra/exported.yaml");
      assert.equal(nested.schema, "../node_modules/bitbucket-iac/schema/manifest.schema.json");
      for (const { at } of [root, nested]) assert.ok(fs.existsSync(at), at);
    });

    it("names the running CLI's own schema, by absolute path, for a file outside the project", async () => {
      const outside = await exported(path.join(tempDir("bbiac-elsewhere-"), "exported.yaml"));
      assert.equal(
        outside.schema,
        fs.realpathSync(path.join(project, "node_modules/bitbucket-iac/schema/manifest.schema.json")),
      );
    });
  });
});
