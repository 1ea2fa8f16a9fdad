// Issue 23: the program records no stack trace per tracked promise (half of `up`'s CPU on a large
// stack), yet every resource still carries its source position, and the limit comes back once
// the program's registrations have settled.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { mockRegistrations } from "../../provider/cli/declared";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";

const MANIFEST = `version: 1
workspace: acme
webhooks:
  - { repositories: [api], url: "https://ci.example.test/push", events: [repo:push] }
pipelineVariables:
  - { repositories: [api], key: REGION, value: eu-west-1, secured: false }
`;

interface Request {
  getName(): string;
  getSourceposition?(): { getUri(): string; getLine(): number } | undefined;
}

describe("issue 23: no stack trace per promise in the program", () => {
  const saved = Error.stackTraceLimit;
  afterEach(() => {
    Error.stackTraceLimit = saved;
  });

  it("declares with stack traces off, keeps each resource's source position, and restores the limit after", async () => {
    Error.stackTraceLimit = 17;
    const limits: number[] = [];
    await mockRegistrations("test", async (_type, name, inputs) => {
      limits.push(Error.stackTraceLimit);
      return { id: `${name}-id`, state: inputs };
    });
    const positions = new Map<string, string>();
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: Request, cb: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      const at = req.getSourceposition?.();
      if (at) positions.set(req.getName(), `${at.getUri()}:${at.getLine()}`);
      return register(req, cb);
    };
    const { resources } = await deployManifest(parseManifest(MANIFEST, "bitbucket.yaml"));
    assert.equal(Error.stackTraceLimit, 0, "off while the registrations are under way");
    await Promise.all(Object.values(resources).map((r) => new Promise((done) => r.urn.apply(done))));
    await new Promise((r) => setImmediate(r));
    assert.equal(Error.stackTraceLimit, 17, "the program's own limit is back once they settled");
    assert.deepEqual(limits, [0, 0]);
    assert.deepEqual([...positions.keys()].sort(), Object.keys(resources).sort());
    for (const [name, at] of positions) {
      assert.match(at, /provider\/(resources|kinds|manifest)\/[a-z-]+\.ts:\d+$/, `${name}: ${at}`);
    }
  });

  it("restores the limit when the manifest cannot be declared", async () => {
    Error.stackTraceLimit = 9;
    await mockRegistrations("test", async (_type, name, inputs) => ({ id: `${name}-id`, state: inputs }));
    const failing = Object.assign(() => {
      throw new Error("the workspace could not be listed");
    }, {});
    const m = parseManifest(MANIFEST.replace("[api]", '"svc-*"'), "bitbucket.yaml");
    await assert.rejects(() => deployManifest(m, failing), /could not be listed/);
    assert.equal(Error.stackTraceLimit, 9);
  });
});
