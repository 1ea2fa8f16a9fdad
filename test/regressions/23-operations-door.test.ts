// Issue 23: `pulumi up` hands the host every resource's create at once. Each waiting inside the
// provider held its whole call chain (lookups, request, retries): about a third of what a waiting
// operation cost the host in memory (BENCHMARKS.md). Operations now wait at a door that lets in
// eight per request slot (`bitbucket:concurrency`), in the order they came; the requests inside
// still go through the connection's limiter. Seen from Bitbucket: with one request slot, at most
// eight operations have listed their repository before the first one writes.

import * as assert from "node:assert/strict";
import { setProviderConfig } from "../../provider/api/auth";
import { clearCache } from "../../provider/api/cache";
import { provider } from "../../provider/runtime";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";

const REPOS = 20;

describe("issue 23: operations wait at a door, in the order they came", () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: Array.from({ length: REPOS }, (_, i) => `r${i}`) },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
  });
  after(async () => {
    setProviderConfig(() => undefined);
    clearCache();
    await emu.close();
  });

  it("lets in eight operations per request slot, and every one of many completes", async () => {
    setProviderConfig(
      (k) => ({ "bitbucket:apiUrl": emu.apiUrl, "bitbucket:token": TOKEN, "bitbucket:concurrency": "1" })[k],
    );
    const p = provider("PipelineVariable");
    const made = await Promise.all(
      Array.from({ length: REPOS }, (_, i) =>
        p.create({ workspace: "acme", repository: `r${i}`, key: "REGION", value: "eu", secured: false }),
      ),
    );
    assert.equal(made.length, REPOS);
    assert.equal(new Set(made.map((m) => m.id)).size, REPOS, "each made its own variable");
    const log = emu.log();
    const firstWrite = log.findIndex((l) => l.startsWith("POST "));
    const listedBefore = log.slice(0, firstWrite).filter((l) => l.startsWith("GET ")).length;
    assert.equal(
      listedBefore,
      8,
      `listings before the first write:\n${log.slice(0, firstWrite + 1).join("\n")}`,
    );
    assert.equal(log.filter((l) => l.startsWith("POST ")).length, REPOS);
  });
});
