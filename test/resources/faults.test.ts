// Every resource that is created with a POST survives the answer being lost: the object is
// looked up (a few times, as lists may lag the write) and adopted, never created twice, and
// never left out of state.

import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";
import { ed25519 } from "../keys";
import { ME } from "../emulator/store";
import type { Store } from "../emulator/store";

const where = { workspace: "acme", repository: "api" };
const key = ed25519("faults");

const CASES: Array<{ type: string; raw: Props; count: (s: Store) => number; list: string }> = [
  {
    type: "Webhook",
    raw: { ...where, url: "https://hooks.example.test/f", events: ["repo:push"], secret: "s" },
    count: (s) => s.allHooks().length,
    list: "/hooks?",
  },
  {
    type: "DeployKey",
    raw: { ...where, key: key.publicLine, label: "l" },
    count: (s) => s.workspaces.get("acme")!.repos.get("api")!.deployKeys.length,
    list: "/deploy-keys?",
  },
  {
    type: "SshKey",
    raw: { user: ME.account_id, key: key.publicLine, label: "l" },
    count: (s) => s.account(ME.account_id)!.sshKeys.length,
    list: "/ssh-keys?",
  },
  {
    type: "PipelineVariable",
    raw: { ...where, key: "TOKEN", value: "v" },
    count: (s) => s.workspaces.get("acme")!.repos.get("api")!.variables.length,
    list: "/variables?",
  },
  {
    type: "PipelineKnownHost",
    raw: { ...where, hostname: "deploy.example.test", publicKey: key.publicLine },
    count: (s) => s.workspaces.get("acme")!.repos.get("api")!.knownHosts.length,
    list: "/known_hosts?",
  },
];

describe("lost answers to a create, for every resource", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  for (const c of CASES) {
    it(`${c.type}: a committed POST whose answer was a 502 is adopted, even when the list lags`, async () => {
      f.emulator.fault({ method: "POST", status: 502, commitThenFail: true });
      // The first look after the failed POST sees a list that has not caught up yet.
      f.emulator.fault({
        method: "GET",
        path: c.list,
        status: 200,
        body: { values: [], pagelen: 100, page: 1, size: 0 },
        times: 2,
      });
      const { id, outs } = await f.harness.up(c.type, c.raw);
      assert.equal(c.count(f.emulator.store), 1, "exactly one object");
      assert.equal(
        f.emulator.log().filter((l) => l.startsWith("POST /2.0")).length,
        1,
        "the POST was never repeated",
      );
      const read = await f.harness.read(c.type, id, outs);
      assert.equal(read.id, id, "state points at the object");
    });

    it(`${c.type}: a POST that failed before committing fails the run, and the next run creates it`, async () => {
      f.emulator.fault({ method: "POST", status: 503 });
      await assert.rejects(f.harness.up(c.type, c.raw), /failed \(503\)/);
      assert.equal(c.count(f.emulator.store), 0);
      await f.harness.up(c.type, c.raw);
      assert.equal(c.count(f.emulator.store), 1);
    });
  }
});
