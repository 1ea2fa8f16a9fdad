import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { MODULES } from "./modules";

const ROOT = path.resolve(__dirname, "..", "..");
const matches = (glob: string) => fs.globSync(glob, { cwd: ROOT });

describe("the mutation modules (test/mutation/modules.ts)", () => {
  it("name files and tests that exist: every glob matches at least one", () => {
    const empty = MODULES.flatMap((m) =>
      [...m.mutate.filter((g) => !g.startsWith("!")), ...m.spec]
        .filter((g) => matches(g).length === 0)
        .map((g) => `${m.name}: ${g}`),
    );
    assert.deepEqual(empty, []);
  });

  it("mutate every source file of provider/api, provider/resources, provider/kinds and provider/manifest, each in one module", () => {
    const owners = new Map<string, string[]>();
    for (const m of MODULES) {
      const excluded = new Set(m.mutate.filter((g) => g.startsWith("!")).flatMap((g) => matches(g.slice(1))));
      for (const g of m.mutate.filter((x) => !x.startsWith("!")))
        for (const f of matches(g).filter((f) => !excluded.has(f)))
          owners.set(f, [...(owners.get(f) ?? []), m.name]);
    }
    const sources = [
      "provider/api/*.ts",
      "provider/resources/*.ts",
      "provider/kinds/*.ts",
      "provider/manifest/*.ts",
    ]
      .flatMap(matches)
      .filter((f) => f !== path.join("provider", "resources", "shim.ts")); // loads the runtime; nothing to mutate
    const wrong = sources
      .filter((f) => owners.get(f)?.length !== 1)
      .map((f) => `${f}: ${owners.get(f)?.join(", ") ?? "none"}`);
    assert.deepEqual(wrong, []);
    assert.ok(owners.has(path.join("provider", "cli", "plan.ts")), "plan is mutated");
  });

  it("run every test file of test/manifest against the manifest module, and each once", () => {
    const manifest = MODULES.find((m) => m.name === "manifest")!;
    const listed = manifest.spec.flatMap(matches);
    assert.deepEqual(
      matches("test/manifest/*.test.ts").filter((f) => !listed.includes(f)),
      [],
      "a new test file under test/manifest is missing from the module's spec",
    );
    assert.equal(new Set(listed).size, listed.length, "no test file is listed twice");
  });
});
