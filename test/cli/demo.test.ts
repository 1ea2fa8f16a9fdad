import * as assert from "node:assert/strict";
import { spawn } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

/** Runs `npm run demo` as the README's quick start does, without a pulumi CLI on PATH. */
function demo(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", "demo"], {
      cwd: ROOT,
      env: { ...process.env, PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("npm run demo", function () {
  this.timeout(120_000);

  it("starts the emulator, validates, plans in Markdown, and says what it would run without a pulumi CLI", async () => {
    const r = await demo();
    assert.equal(r.code, 0, r.out);
    const steps = r.out.split("\n").filter((l) => l.startsWith("$ ") || l.startsWith("(exit"));
    assert.deepEqual(steps, [
      "$ bitbucket-iac validate examples/demo/bitbucket.yaml",
      "(exit 0)",
      "$ bitbucket-iac plan examples/demo/bitbucket.yaml --format markdown --stats",
      "(exit 2)",
    ]);
    assert.match(r.out, /examples\/demo\/bitbucket\.yaml: valid \(7 resources/);
    assert.match(r.out, /<!-- bitbucket-iac plan -->\n### bitbucket-iac plan: 7 changes\n/);
    assert.match(
      r.out,
      /- \*\*adopt\*\* deploy key .* on acme\/web {2}\n.*\n {2}- label: `"added by hand"` → `"CI clone"`/,
    );
    assert.match(
      r.out,
      /\*\*Plan: 6 to create, 0 to update, 0 to delete, 1 to adopt with changes; 0 unchanged\.\*\*/,
    );
    assert.match(r.out, /7 pages or objects read, each at most 1 time/);
    assert.match(r.out, /No `pulumi` CLI on PATH, so the demo stops here\. With it/);
    assert.match(r.out, /pulumi up --yes +# BITBUCKET_API_URL\/BITBUCKET_TOKEN point at the emulator/);
  });
});
