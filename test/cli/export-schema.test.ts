// The `$schema` line `export` writes first names a schema file on this machine, so an editor reads
// it offline: the project's installed copy, relative to the written file, else the running CLI's.
// (test/install/tarball.test.ts checks the same from a project that installed the packed package.)

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { SCHEMA_FILE } from "../../provider/manifest/load";
import { schemaReference } from "../../provider/cli/schema-ref";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { tempDir } from "../hooks";
import { run, useEmulator } from "./run";

const ROOT = path.resolve(__dirname, "../..");
const INSTALLED = "node_modules/bitbucket-iac/schema/manifest.schema.json";

/** A project with the package's schema installed (only the file: that is what is looked for). */
function project(): string {
  const dir = tempDir("bbiac-schema-ref-");
  fs.mkdirSync(path.join(dir, path.dirname(INSTALLED)), { recursive: true });
  fs.writeFileSync(path.join(dir, INSTALLED), "{}");
  return dir;
}

describe("the $schema an exported manifest names", () => {
  it("is the project's installed schema, relative to the file, from the project or any directory below", () => {
    const dir = project();
    fs.mkdirSync(path.join(dir, "infra", "prod"), { recursive: true });
    assert.equal(schemaReference(dir), `./${INSTALLED}`);
    assert.equal(schemaReference(path.join(dir, "infra", "prod")), `../../${INSTALLED}`);
  });

  it("is the running CLI's own schema, as an absolute path, outside a project that installed it", () => {
    const dir = tempDir("bbiac-schema-ref-");
    assert.equal(SCHEMA_FILE, fs.realpathSync(path.join(ROOT, "schema", "manifest.schema.json")));
    assert.equal(schemaReference(dir), SCHEMA_FILE);
    // The name alone is not enough: a node_modules/bitbucket-iac without the schema is not it.
    fs.mkdirSync(path.join(dir, "node_modules", "bitbucket-iac"), { recursive: true });
    assert.equal(schemaReference(dir), SCHEMA_FILE);
  });

  describe("`bitbucket-iac export`", () => {
    let emu: Emulator;
    let restore: () => void;
    before(async () => {
      emu = await startEmulator({
        workspaces: { acme: ["api"] },
        tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      });
      restore = useEmulator(emu);
    });
    after(async () => {
      restore();
      await emu.close();
    });

    it("writes it first, for the file where -o puts it, or the directory when it prints the manifest", async () => {
      const dir = project();
      fs.mkdirSync(path.join(dir, "infra"));
      const nested = await run(["export", "--workspace", "acme", "-o", "infra/bitbucket.yaml"], dir);
      assert.equal(nested.code, 0, nested.err);
      const text = fs.readFileSync(path.join(dir, "infra", "bitbucket.yaml"), "utf8");
      assert.equal(text.split("\n")[0], `# yaml-language-server: $schema=../${INSTALLED}`);
      assert.match(text.split("\n")[1]!, /^# Exported by `bitbucket-iac export --workspace acme`\.$/);

      const printed = await run(["export", "--workspace", "acme"], dir);
      assert.equal(printed.code, 0, printed.err);
      assert.equal(printed.out.split("\n")[0], `# yaml-language-server: $schema=./${INSTALLED}`);

      const elsewhere = tempDir("bbiac-schema-ref-");
      const outside = await run(["export", "--workspace", "acme", "-o", path.join(elsewhere, "b.yaml")], dir);
      assert.equal(outside.code, 0, outside.err);
      assert.equal(
        fs.readFileSync(path.join(elsewhere, "b.yaml"), "utf8").split("\n")[0],
        `# yaml-language-server: $schema=${SCHEMA_FILE}`,
      );
      // What it names validates it: the file is a manifest the CLI accepts.
      assert.equal((await run(["validate", "infra/bitbucket.yaml"], dir)).code, 0);
    });
  });
});
