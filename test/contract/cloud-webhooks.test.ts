import * as assert from "node:assert/strict";
import axios from "axios";
import { CLOUD_WEBHOOK_EVENTS } from "../../provider";
import { fixture, TOKEN, type Fixture } from "../harness/fixture";
import { CLOUD_SPEC, Contract, requireSpec } from "./openapi";

describe("contract: webhooks and hook_events against the Cloud OpenAPI spec", function () {
  let contract: Contract;
  let f: Fixture;

  before(async function () {
    requireSpec(this, CLOUD_SPEC);
    contract = new Contract();
    f = await fixture();
  });
  after(async () => f?.close());

  it("keeps our event list equal to the spec's webhook_subscription events enum", () => {
    const schema = contract.schema("webhook_subscription") as {
      allOf: Array<{ properties?: { events?: { items: { enum: string[] } } } }>;
    };
    const specEvents = schema.allOf[1]?.properties?.events?.items.enum ?? [];
    assert.deepEqual([...CLOUD_WEBHOOK_EVENTS].sort(), [...specEvents].sort());
  });

  it("validates every request the provider sends and every response the emulator gives", async () => {
    const h = f.harness;
    const base = { workspace: "acme", url: "https://hooks.example.test/c", events: ["repo:push"] };
    // Repository hook: create, read, update (secret set, changed, removed), delete, read gone.
    const repo = await h.up("Webhook", { ...base, repository: "api", secret: "one" });
    await h.read("Webhook", repo.id, repo.outs);
    const d1 = await h.plan("Webhook", repo.id, repo.outs, {
      ...base,
      repository: "api",
      secret: "two",
      events: ["repo:push", "pullrequest:created"],
    });
    const u1 = await h.update("Webhook", repo.id, repo.outs, d1.inputs);
    const d2 = await h.plan("Webhook", repo.id, u1.outs, {
      ...base,
      repository: "api",
      description: "no secret",
    });
    const u2 = await h.update("Webhook", repo.id, u1.outs, d2.inputs);
    await h.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    await h.delete("Webhook", repo.id, u2.outs);
    await h.read("Webhook", repo.id, u2.outs);
    await h.delete("Webhook", repo.id, u2.outs);
    // Workspace hook, adopted on the second create.
    const ws = await h.up("Webhook", { ...base, secret: "w" });
    await h.up("Webhook", { ...base, description: "adopted", adopt: true });
    await h.delete("Webhook", ws.id, ws.outs);
    // Many hooks: paginated listing with `next`.
    for (let i = 0; i < 12; i++)
      await h.up("Webhook", { ...base, repository: "web", url: `https://hooks.example.test/p${i}` });
    await h.up("Webhook", { ...base, repository: "web", url: "https://hooks.example.test/p3" });
    // Errors: unknown repository (404), missing scopes (403), a PUT without url (400), bad token (401).
    await h.up("Webhook", { ...base, repository: "missing" }).catch(() => undefined);
    f.emulator.store.tokens.set("weak", { kind: "oauth", scopes: ["webhook"] });
    const api = axios.create({ baseURL: f.emulator.apiUrl, validateStatus: () => true });
    await api.post(
      "/repositories/acme/web/hooks",
      { url: "https://hooks.example.test/x", events: ["issue:created"] },
      { headers: { Authorization: "Bearer weak" } },
    );
    const first = f.emulator.store.workspaces.get("acme")!.repos.get("web")!.hooks[0]!;
    await api.put(
      `/repositories/acme/web/hooks/${encodeURIComponent(first.uuid)}`,
      { events: ["repo:push"] },
      { headers: { Authorization: `Bearer ${TOKEN}` } },
    );
    await api.get("/repositories/acme/web/hooks", { headers: { Authorization: "Bearer expired-or-wrong" } });
    await api.get("/repositories/acme/web/hooks?pagelen=5&page=2", {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    // hook_events: public.
    await api.get("/hook_events");
    await api.get("/hook_events/repository");
    await api.get("/hook_events/workspace?page=2");
    await api.get("/hook_events/team");

    const entries = f.emulator.entries();
    const statuses = new Set(entries.map((e) => e.status));
    for (const s of [200, 201, 204, 400, 401, 403, 404])
      assert.ok(statuses.has(s), `the scenario produced a ${s}`);
    assert.ok(
      entries.some((e) => e.query.includes("page=2")),
      "the scenario followed a next link",
    );
    const problems = entries.flatMap((e) => contract.check(e));
    assert.deepEqual(problems, []);
  });

  it("catches a response or request that departs from the spec", () => {
    const entry = {
      method: "POST", path: "/2.0/repositories/acme/api/hooks", query: "?verbose=1", at: 0, responseHeaders: {},
      requestBody: { url: "https://hooks.example.test/", events: ["repo:merged"] },
      status: 200, responseBody: { uuid: 5 },
    }; // prettier-ignore
    const problems = contract.check(entry);
    assert.ok(
      problems.some((p) => p.includes('query parameter "verbose" is not declared')),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.includes("request /events/0 must be equal to one of the allowed values")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.includes("status 200 is not declared (declared: 201, 403, 404)")),
      problems.join("\n"),
    );
    const created = contract.check({
      ...entry,
      query: "",
      requestBody: undefined,
      status: 201,
      responseBody: { uuid: 5 },
    });
    assert.ok(
      created.some((p) => p.includes("must have required property 'type'")),
      created.join("\n"),
    );
    assert.ok(
      created.some((p) => p.includes("/uuid must be string")),
      created.join("\n"),
    );
    assert.deepEqual(contract.check({ ...entry, path: "/2.0/repositories/acme/api/hookz", status: 201 }), [
      "POST /2.0/repositories/acme/api/hookz -> 201: no such path in the spec",
    ]);
  });
});
