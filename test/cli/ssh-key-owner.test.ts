// Issue 24 item 5: an SSH key of the credentials' own Cloud account is named by the account's name
// (Cloud's user object: display_name, nickname), not its {uuid}, in plan and in pulumi up's
// messages. The uuid stays what it is: the identifier in the API path, the resource id and state.

import * as assert from "node:assert/strict";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES, ME } from "../emulator/store";
import { fixture, TOKEN, type Fixture } from "../harness/fixture";
import type { HostError } from "../harness/engine";
import { ed25519 } from "../keys";
import { keyShown } from "../../provider/ssh";
import { run, useEmulator, workdir } from "./run";

const laptop = ed25519("me@laptop");
const fp = keyShown(laptop.publicLine).split(" ")[1]!;
const MANIFEST = `version: 1
workspace: acme
sshKeys:
  - key: ${laptop.publicLine}
    label: laptop
`;

describe("an SSH key's owner in plan", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;
  const dir = workdir({ "bitbucket.yaml": MANIFEST });
  const me = () => emu.store.account(ME.account_id)!;

  beforeEach(async () => {
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    restore = useEmulator(emu);
  });
  afterEach(async () => {
    restore();
    await emu.close();
  });

  it("names the account by its display name and nickname, in text, Markdown and JSON, and lists its keys by uuid", async () => {
    const text = await run(["plan"], dir);
    assert.equal(text.code, 2, text.err);
    assert.match(
      text.out,
      new RegExp(`\\n\\+ create {3}SSH key ${fp.replace(/[+/]/g, "\\$&")} of Me Example \\(me\\)\\n`),
    );
    assert.doesNotMatch(text.out, /\{[0-9a-f-]{36}\}/, "no uuid shown");
    assert.deepEqual(emu.log(), [
      "GET /2.0/user",
      `GET /2.0/users/${encodeURIComponent(me().uuid)}/ssh-keys`,
    ]);
    const md = await run(["plan", "--format", "markdown"], dir);
    assert.ok(md.out.includes(`- **create** SSH key ${fp} of Me Example (me)  \n`), md.out);
    const json = JSON.parse((await run(["plan", "--format", "json"], dir)).out) as {
      resources: Array<{ what: string }>;
    };
    assert.deepEqual(
      json.resources.map((r) => r.what),
      [`SSH key ${fp} of Me Example (me)`],
    );
  });

  it("says the nickname alone when it is the display name, and escapes what could forge a line", async () => {
    me().display_name = "me";
    assert.match((await run(["plan"], dir)).out, / of me\n/);
    me().display_name = "Ops\n+ create   webhook https://evil.example.test";
    const r = await run(["plan"], dir);
    assert.ok(
      r.out.includes(`SSH key ${fp} of Ops\\n+ create   webhook https://evil.example.test (me)\n`),
      r.out,
    );
    assert.equal(r.out.split("\n").filter((l) => l.startsWith("+ create")).length, 1);
  });
});

describe("an SSH key's owner in pulumi up", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());
  const me = () => f.emulator.store.account(ME.account_id)!;

  it("names the account in a failed create, and keeps its uuid in the id and state", async () => {
    f.emulator.fault({
      method: "POST",
      path: "/ssh-keys",
      status: 400,
      body: { type: "error", error: { message: "Bad request" } },
    });
    const failed = await f.harness.up("SshKey", { key: laptop.publicLine }).then(
      () => assert.fail("created"),
      (e: HostError) => e,
    );
    assert.ok(
      failed.message.startsWith(
        `create SSH key ${fp} of Me Example (me): POST /users/${encodeURIComponent(me().uuid)}/ssh-keys failed (400): Bad request`,
      ),
      failed.message,
    );
    const { id, outs } = await f.harness.up("SshKey", { key: laptop.publicLine });
    assert.equal(id, `${me().uuid}/${me().sshKeys[0]!.uuid}`);
    assert.equal(outs.owner, me().uuid);
  });
});
