// `export` reads each repository's kinds in parallel; what it writes and lists must not depend on
// which answer comes first. One repository holds a value of every write-only kind (a hook secret,
// a secured variable, a secured deployment variable, a key pair); each run slows a different
// collection, and the `pulumi config set` lines come out in one order every time: webhooks,
// variables (the repository's, then each environment's), key pairs, as before export read
// through the kinds' descriptors.

import * as assert from "node:assert/strict";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { ed25519 } from "../keys";
import { byHand, run, useEmulator, workdir } from "./run";

describe("bitbucket-iac export: the order of what it lists", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore: () => void;

  before(async () => {
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    restore = useEmulator(emu);
    const repo = "/repositories/acme/api";
    await byHand(emu, "POST", `${repo}/hooks`, {
      url: "https://ci.example.test/hook",
      events: ["repo:push"],
      secret: "hook-secret",
    });
    await byHand(emu, "POST", `${repo}/pipelines_config/variables`, {
      key: "TOKEN",
      value: "v",
      secured: true,
    });
    const envs = (await byHand(emu, "GET", `${repo}/environments`)) as {
      values: Array<{ uuid: string; name: string }>;
    };
    const staging = envs.values.find((e) => e.name === "Staging")!;
    await byHand(
      emu,
      "POST",
      `${repo}/deployments_config/environments/${encodeURIComponent(staging.uuid)}/variables`,
      {
        key: "DEPLOY",
        value: "d",
        secured: true,
      },
    );
    const pair = ed25519();
    await byHand(emu, "PUT", `${repo}/pipelines_config/ssh/key_pair`, {
      private_key: pair.privatePem,
      public_key: pair.publicLine,
    });
  });
  after(async () => {
    restore();
    await emu.close();
  });

  /** The config keys export lists, in the order it lists them. */
  const keysListed = async (): Promise<string[]> => {
    const ran = await run(["export", "--workspace", "acme", "-o", "exported.yaml"], workdir({}));
    assert.equal(ran.code, 0, ran.err);
    return [...ran.err.matchAll(/pulumi config set --secret (\S+)/g)].map((m) => m[1]!);
  };

  it("lists the config keys in the order of the kinds, whichever collection answers last", async () => {
    const expected = [
      /^webhook-secret-api-/,
      /^variable-api-TOKEN$/,
      /^deployment-variable-api-Staging-DEPLOY$/,
      /^ssh-key-pair-api$/,
    ];
    const slowed = ["", "/hooks", "/pipelines_config/variables", "/ssh/key_pair", "/environments"];
    const orders: string[][] = [];
    for (const path of slowed) {
      emu.clearFaults();
      if (path) emu.fault({ path, delayMs: 300, times: 10 });
      orders.push(await keysListed());
    }
    emu.clearFaults();
    for (const [i, order] of orders.entries()) {
      assert.equal(order.length, expected.length, `slowed ${slowed[i] || "nothing"}: ${order.join(", ")}`);
      order.forEach((key, j) =>
        assert.match(key, expected[j]!, `slowed ${slowed[i] || "nothing"}: ${order.join(", ")}`),
      );
    }
  });
});
