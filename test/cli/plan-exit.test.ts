// Issue 21.7: exit codes that gate a pull request. 0 no changes, 2 changes, 3 when `pulumi up`
// would stop (a conflict, or a resource plan could not read), 1 a run error, 64 a usage error. The
// pipeline example's `|| [ $? -eq 2 ]` lets changes pass and fails the step on a conflict.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { DEFAULT_SEED } from "../harness/fixture";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "./run";

const key = ed25519("ci@example.test");
const manifest = (adopt: boolean) =>
  `version: 1\nworkspace: acme\ndeployKeys:\n  - repositories: [api]\n    key: ${key.publicLine}\n    label: CI clone\n${adopt ? "    adopt: true\n" : ""}`;

describe("bitbucket-iac plan: exit codes that gate a pull request", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  let dir: string;

  beforeEach(async () => {
    emu = await startEmulator(DEFAULT_SEED);
    restore = useEmulator(emu);
    dir = workdir({ "conflict.yaml": manifest(false), "adopt.yaml": manifest(true) });
    await byHand(emu, "POST", "/repositories/acme/api/deploy-keys", {
      key: key.publicLine,
      label: "by hand",
    });
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  it("exits 3 for a single conflict, and 2 once the entry says adopt: true", async () => {
    const conflict = await run(["plan", "conflict.yaml"], dir);
    assert.equal(conflict.code, 3, conflict.out);
    assert.match(conflict.out, /^! conflict +deploy key .* on acme\/api$/m);
    const adopt = await run(["plan", "adopt.yaml"], dir);
    assert.equal(adopt.code, 2, adopt.out);
    assert.match(adopt.out, /^< adopt +deploy key .* on acme\/api$/m);
  });

  it("exits 2 and lists the step when adopting a hook without a secret sets the declared one: (none) -> (set)", async () => {
    await byHand(emu, "POST", "/repositories/acme/api/hooks", {
      url: "https://hooks.example.test/ci",
      events: ["repo:push"],
      active: true,
    });
    fs.writeFileSync(
      path.join(dir, "secret.yaml"),
      "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://hooks.example.test/ci\n    events: [repo:push]\n    secret: { fromEnv: HOOK_SECRET }\n    adopt: true\n",
    );
    const r = await run(["plan", "secret.yaml"], dir);
    assert.equal(r.code, 2, r.out);
    assert.match(
      r.out,
      /^< adopt +webhook https:\/\/hooks\.example\.test\/ci on acme\/api\n.*\n {4}secret: \(none\) -> \(set\)$/m,
    );
    assert.match(
      r.out,
      /Plan: 0 to create, 0 to update, 0 to delete, 1 to adopt with changes; 0 unchanged\.$/,
    );
  });

  for (const example of ["pipelines", "shards"])
    it(`fails each plan step of examples/${example}/bitbucket-pipelines.yml on 3 and lets 2 pass`, () => {
      const yml = fs.readFileSync(
        path.join(__dirname, `../../examples/${example}/bitbucket-pipelines.yml`),
        "utf8",
      );
      const plans = yml.split("\n").filter((l) => /^\s*- npx bitbucket-iac plan /.test(l));
      assert.ok(plans.length > 0, "the pipeline plans");
      for (const line of plans) {
        assert.match(line, /\|\| \[ \$\? -eq 2 \]$/, "the plan step ends with || [ $? -eq 2 ]");
        const gate = line.replace(/^\s*- npx bitbucket-iac plan .*? \|\|/, "(exit $CODE) ||");
        const passes = (code: number) => {
          try {
            execFileSync("sh", ["-c", gate], { env: { CODE: String(code) } });
            return true;
          } catch {
            return false;
          }
        };
        assert.deepEqual([0, 1, 2, 3].map(passes), [true, false, true, false], line);
      }
    });
});
