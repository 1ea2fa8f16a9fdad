// A plain pipeline variable whose key names a credential is written by export as Bitbucket shows
// it (the round trip needs its value), so export says so, on stderr and in the file's header,
// before anyone commits the file. Secured variables and other plain ones are not named.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { byHand, run, useEmulator, workdir } from "./run";

const WARNING =
  "variable AWS_SECRET_ACCESS_KEY on acme/api is not secured and looks like a credential (*SECRET*): its value is written here as Bitbucket shows it; take it out of the file, make the variable secured in Bitbucket and rotate it";

describe("bitbucket-iac export of a plain variable that looks like a credential", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;

  before(async () => {
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    restore = useEmulator(emu);
    const variables = "/repositories/acme/api/pipelines_config/variables";
    await byHand(emu, "POST", variables, {
      key: "AWS_SECRET_ACCESS_KEY",
      value: "wJalr-example",
      secured: false,
    });
    await byHand(emu, "POST", variables, { key: "REGION", value: "eu-west-1", secured: false });
    await byHand(emu, "POST", variables, { key: "DEPLOY_TOKEN", value: "t0", secured: true });
  });
  after(async () => {
    restore();
    await emu.close();
  });

  it("warns on stderr and in the file's header, naming only that variable, and still writes its value", async () => {
    const dir = workdir({});
    const r = await run(["export", "--workspace", "acme", "-o", "exported.yaml"], dir);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.err.split("\n").filter((l) => l.includes("warning")),
      [`  warning: ${WARNING}`],
    );
    const text = fs.readFileSync(path.join(dir, "exported.yaml"), "utf8");
    assert.match(
      text,
      new RegExp(
        `^# Before you commit this file:\\n#\\s+${WARNING.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`,
        "m",
      ),
    );
    assert.match(text, /value: wJalr-example/, "the round trip keeps the value");
    assert.doesNotMatch(text, /REGION.*looks like|DEPLOY_TOKEN.*looks like/);
  });
});
