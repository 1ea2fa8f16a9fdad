import * as assert from "node:assert/strict";
import { fixture, type Fixture } from "../harness/fixture";
import type { Props } from "../harness/engine";

const enc = encodeURIComponent;
const URL_A = "https://hooks.example.test/a";

function hook(over: Props = {}): Props {
  return { workspace: "acme", repository: "api", url: URL_A, events: ["repo:push"], ...over };
}

describe("Webhook", () => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture()));
  afterEach(async () => f.close());

  it("creates a repository webhook with one list and one POST, and keeps the secret out of state", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook({ secret: "s3cret", description: "CI" }));
    assert.deepEqual(f.emulator.log(), [
      "GET /2.0/repositories/acme/api/hooks",
      "POST /2.0/repositories/acme/api/hooks",
    ]);
    const [stored] = f.emulator.store.allHooks();
    assert.equal(stored?.secret, "s3cret");
    assert.equal(id, `acme/api/${stored?.uuid}`);
    assert.equal(outs.uuid, stored?.uuid);
    assert.equal(outs.secretSet, true);
    assert.equal(outs.description, "CI");
    assert.ok(!JSON.stringify(outs).includes("s3cret"), "outputs must not hold the secret");
    assert.match(String(outs.secretHash), /^hmac-sha256:[0-9a-f]{32}:[0-9a-f]{64}$/);
  });

  it("reports no change for the same inputs with events in another order and the same secret, with no HTTP call", async () => {
    const { id, outs } = await f.harness.up(
      "Webhook",
      hook({ events: ["repo:push", "pullrequest:created"], secret: "s3cret" }),
    );
    f.emulator.resetLog();
    const diff = await f.harness.plan(
      "Webhook",
      id,
      outs,
      hook({ events: ["pullrequest:created", "repo:push"], secret: "s3cret" }),
    );
    assert.equal(diff.changes, false);
    assert.deepEqual(diff.replaces, []);
    assert.deepEqual(f.emulator.log(), []);
  });

  it("updates events in place and keeps the secret Bitbucket hides", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook({ secret: "s3cret" }));
    const next = hook({ events: ["repo:push", "pullrequest:created"], secret: "s3cret" });
    const diff = await f.harness.plan("Webhook", id, outs, next);
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    f.emulator.resetLog();
    const updated = await f.harness.update("Webhook", id, outs, diff.inputs);
    assert.deepEqual(f.emulator.log(), [`PUT /2.0/repositories/acme/api/hooks/${enc(String(outs.uuid))}`]);
    const put = f.emulator.entries()[0]?.requestBody as Props;
    assert.equal("secret" in put, false, "an unchanged secret is not sent");
    assert.deepEqual(updated.outs.events, ["pullrequest:created", "repo:push"]);
    assert.equal(f.emulator.store.allHooks()[0]?.secret, "s3cret");
    const read = await f.harness.read("Webhook", id, updated.outs);
    assert.equal(read.props.secretSet, true);
    assert.equal(read.props.secretHash, outs.secretHash);
  });

  it("sends a changed secret, and removes a dropped one with an empty string", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook({ secret: "one" }));
    const d1 = await f.harness.plan("Webhook", id, outs, hook({ secret: "two" }));
    assert.equal(d1.changes, true);
    const u1 = await f.harness.update("Webhook", id, outs, d1.inputs);
    assert.equal(f.emulator.store.allHooks()[0]?.secret, "two");
    assert.notEqual(u1.outs.secretHash, outs.secretHash);

    const d2 = await f.harness.plan("Webhook", id, u1.outs, hook());
    assert.equal(d2.changes, true);
    f.emulator.resetLog();
    const u2 = await f.harness.update("Webhook", id, u1.outs, d2.inputs);
    assert.equal((f.emulator.entries()[0]?.requestBody as Props).secret, "");
    assert.equal(f.emulator.store.allHooks()[0]?.secret, undefined);
    assert.equal(u2.outs.secretSet, false);
    assert.equal(u2.outs.secretHash, undefined);
    assert.equal((await f.harness.plan("Webhook", id, u2.outs, hook())).changes, false);
  });

  it("generates a secret, keeps it across runs and sets the same one again if removed by hand", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook({ generateSecret: true }));
    const stored = f.emulator.store.allHooks()[0]!;
    assert.match(String(outs.generatedSecret), /^[0-9a-f]{64}$/);
    assert.equal(stored.secret, outs.generatedSecret);
    assert.equal((await f.harness.plan("Webhook", id, outs, hook({ generateSecret: true }))).changes, false);
    delete stored.secret;
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    const read = await f.harness.read("Webhook", id, outs);
    assert.equal(read.props.secretSet, false);
    assert.equal(read.props.generatedSecret, outs.generatedSecret);
    const d = await f.harness.plan("Webhook", id, read.props, hook({ generateSecret: true }));
    assert.equal(d.changes, true);
    const { outs: after } = await f.harness.update("Webhook", id, read.props, d.inputs);
    assert.equal(stored.secret, outs.generatedSecret, "the platform keeps working: same secret");
    assert.equal(after.generatedSecret, outs.generatedSecret);
    const both = await f.harness.check("Webhook", hook({ generateSecret: true, secret: "x" }));
    assert.deepEqual(both.failures, [
      { property: "generateSecret", reason: "give secret or generateSecret: true, not both" },
    ]);
  });

  it("updates url, description, active and skipCertVerification in place", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    const next = hook({
      url: "https://hooks.example.test/b",
      description: "moved",
      active: false,
      skipCertVerification: true,
    });
    const diff = await f.harness.plan("Webhook", id, outs, next);
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    const { outs: after } = await f.harness.update("Webhook", id, outs, diff.inputs);
    const stored = f.emulator.store.allHooks()[0];
    assert.deepEqual(
      [stored?.url, stored?.description, stored?.active, stored?.skip_cert_verification],
      ["https://hooks.example.test/b", "moved", false, true],
    );
    assert.equal((await f.harness.plan("Webhook", id, after, next)).changes, false);
  });

  it("replaces the webhook when the repository or workspace changes", async () => {
    f.emulator.store.addRepo("other", "api");
    const { id, outs } = await f.harness.up("Webhook", hook());
    assert.deepEqual((await f.harness.plan("Webhook", id, outs, hook({ repository: "web" }))).replaces, [
      "repository",
    ]);
    assert.deepEqual((await f.harness.plan("Webhook", id, outs, hook({ workspace: "other" }))).replaces, [
      "workspace",
    ]);
    const toWorkspace = await f.harness.plan("Webhook", id, outs, {
      workspace: "acme",
      url: URL_A,
      events: ["repo:push"],
    });
    assert.deepEqual(toWorkspace.replaces, ["repository"]);
    assert.equal(toWorkspace.deleteBeforeReplace, false);
    // The engine creates the replacement, then deletes the old one.
    const created = await f.harness.create("Webhook", toWorkspace.inputs);
    await f.harness.delete("Webhook", id, outs);
    assert.equal(f.emulator.store.workspaces.get("acme")?.repos.get("api")?.hooks.length, 0);
    assert.equal(f.emulator.store.workspaces.get("acme")?.hooks[0]?.uuid, created.outs.uuid);
  });

  it("manages a workspace webhook through /workspaces/{ws}/hooks", async () => {
    const { id, outs } = await f.harness.up("Webhook", {
      workspace: "acme",
      url: URL_A,
      events: ["repo:push"],
      secret: "w",
    });
    assert.equal(id, `acme/${outs.uuid}`);
    assert.equal(outs.repository, undefined);
    const diff = await f.harness.plan("Webhook", id, outs, {
      workspace: "acme",
      url: URL_A,
      events: ["repo:push", "repo:updated"],
      secret: "w",
    });
    const { outs: after } = await f.harness.update("Webhook", id, outs, diff.inputs);
    assert.deepEqual(after.events, ["repo:push", "repo:updated"]);
    assert.equal((await f.harness.read("Webhook", id, after)).id, id);
    await f.harness.newRun(); // a later run deletes it: within one run the engine never deletes a resource it diffed without replace (#19.1)
    await f.harness.delete("Webhook", id, after);
    assert.deepEqual(f.emulator.log().slice(-1), [
      `DELETE /2.0/workspaces/acme/hooks/${enc(String(outs.uuid))}`,
    ]);
    assert.equal(f.emulator.store.allHooks().length, 0);
    assert.equal((await f.harness.read("Webhook", id, after)).id, "");
  });

  it("reads a hook deleted out of band as gone, and deleting it again succeeds", async () => {
    const { id, outs } = await f.harness.up("Webhook", hook());
    f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks.length = 0;
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)
    const read = await f.harness.read("Webhook", id, outs);
    assert.equal(read.id, "");
    await f.harness.delete("Webhook", id, outs);
  });

  it("reports a hook changed out of band, and the next update restores it", async () => {
    const desired = hook({ secret: "s3cret", events: ["repo:push", "pullrequest:created"] });
    const { id, outs } = await f.harness.up("Webhook", desired);
    const stored = f.emulator.store.allHooks()[0]!;
    Object.assign(stored, { url: "https://evil.example.test/", events: ["repo:push"], active: false });
    delete stored.secret;
    await f.harness.newRun(); // changed by hand: seen by the next run (a new run, fresh listings)

    const read = await f.harness.read("Webhook", id, outs);
    assert.equal(read.props.url, "https://evil.example.test/");
    assert.deepEqual(read.props.events, ["repo:push"]);
    assert.equal(read.props.active, false);
    assert.equal(read.props.secretSet, false);
    assert.equal(read.props.secretHash, undefined);
    assert.equal(read.inputs?.url, "https://evil.example.test/");

    const diff = await f.harness.plan("Webhook", id, read.props, desired);
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    await f.harness.update("Webhook", id, read.props, diff.inputs);
    assert.deepEqual(
      [stored.url, stored.events, stored.active, stored.secret],
      [URL_A, ["pullrequest:created", "repo:push"], true, "s3cret"],
    );
  });

  it("adopts an identical existing hook silently, with no write, and says so in outputs and the log", async () => {
    f.emulator.store.addHook("acme", "api", {
      uuid: "{11111111-2222-3333-4444-555555555555}",
      url: URL_A,
      description: "same",
    });
    const { id, outs } = await f.harness.up("Webhook", hook({ description: "same" }));
    assert.equal(id, "acme/api/{11111111-2222-3333-4444-555555555555}");
    assert.deepEqual(f.emulator.log(), ["GET /2.0/repositories/acme/api/hooks"]);
    assert.equal(outs.adopted, true);
    await f.harness.expectStderr(
      /adopted the existing webhook https:\/\/hooks\.example\.test\/a on acme\/api \(acme\/api\/\{11111111-[^)]*\): identical to the declaration/,
    );
  });

  it("refuses to take over a platform's hook that differs (events, a secret), with zero writes, naming the differences", async () => {
    f.emulator.store.addHook("acme", "api", {
      uuid: "{11111111-2222-3333-4444-555555555555}",
      url: URL_A,
      events: ["repo:push", "pullrequest:created"],
      secret: "platform-secret",
    });
    await assert.rejects(
      f.harness.up("Webhook", hook({ description: "managed", secret: "ours" })),
      (e: Error) =>
        e.message.includes(
          "create webhook https://hooks.example.test/a on acme/api: it already exists in Bitbucket and differs from this declaration " +
            '(description: "" in Bitbucket; events: ["pullrequest:created", "repo:push"] in Bitbucket; secret: set in Bitbucket, write-only, cannot be compared). ' +
            "Nothing was changed. To take it over and bring it to the declared state, set adopt: true",
        ) && !e.message.includes("platform-secret"),
    );
    assert.deepEqual(f.emulator.log(), ["GET /2.0/repositories/acme/api/hooks"], "zero writes");
    const [stored] = f.emulator.store.allHooks();
    assert.deepEqual(
      [stored?.events, stored?.secret],
      [["repo:push", "pullrequest:created"], "platform-secret"],
    );
  });

  it("takes over a differing hook with adopt: true, bringing it to the declaration", async () => {
    f.emulator.store.addHook("acme", "api", {
      uuid: "{11111111-2222-3333-4444-555555555555}",
      url: URL_A,
      description: "by hand",
      secret: "old",
    });
    const { id, outs } = await f.harness.up(
      "Webhook",
      hook({ description: "managed", secret: "s", adopt: true }),
    );
    assert.equal(id, "acme/api/{11111111-2222-3333-4444-555555555555}");
    assert.deepEqual(f.emulator.log(), [
      "GET /2.0/repositories/acme/api/hooks",
      "PUT /2.0/repositories/acme/api/hooks/%7B11111111-2222-3333-4444-555555555555%7D",
    ]);
    assert.equal(f.emulator.store.allHooks().length, 1);
    assert.deepEqual([outs.description, outs.adopted], ["managed", true]);
    assert.equal(f.emulator.store.allHooks()[0]?.secret, "s");
    await f.harness.expectStderr(
      /adopted the existing webhook .* changing description: "by hand" in Bitbucket; secret: set in Bitbucket/,
    );
    // adopt never causes a diff of its own.
    const diff = await f.harness.plan("Webhook", id, outs, hook({ description: "managed", secret: "s" }));
    assert.equal(diff.changes, false);
  });

  for (const [field, apiField, liveValue] of [
    ["active", "active", false],
    ["skipCertVerification", "skip_cert_verification", true],
  ] as const) {
    it(`refuses an existing hook that differs only in ${field}, with zero writes; adopt: true takes it over and sets ${field}`, async () => {
      const uuid = "{11111111-2222-3333-4444-555555555555}";
      f.emulator.store.addHook("acme", "api", { uuid, url: URL_A, [apiField]: liveValue });
      const stored = () => f.emulator.store.allHooks()[0]?.[apiField];
      const declared = { [field]: !liveValue };
      await assert.rejects(f.harness.up("Webhook", hook(declared)), (e: Error) =>
        e.message.includes(
          "create webhook https://hooks.example.test/a on acme/api: it already exists in Bitbucket and differs from this declaration " +
            `(${field}: ${liveValue} in Bitbucket). Nothing was changed. To take it over and bring it to the declared state, set adopt: true`,
        ),
      );
      assert.deepEqual(f.emulator.log(), ["GET /2.0/repositories/acme/api/hooks"], "zero writes");
      assert.equal(stored(), liveValue);

      await f.harness.newRun(); // the next run, with adopt: true
      f.emulator.resetLog();
      const { id, outs } = await f.harness.up("Webhook", hook({ ...declared, adopt: true }));
      assert.equal(id, `acme/api/${uuid}`);
      assert.deepEqual(f.emulator.log(), [
        "GET /2.0/repositories/acme/api/hooks",
        `PUT /2.0/repositories/acme/api/hooks/${enc(uuid)}`,
      ]);
      assert.equal(f.emulator.store.allHooks().length, 1);
      assert.equal(stored(), !liveValue);
      assert.deepEqual([outs[field], outs.adopted], [!liveValue, true]);
    });
  }

  it("never adopts a read-only hook installed by a Connect app", async () => {
    f.emulator.store.addHook("acme", "api", {
      uuid: "{99999999-2222-3333-4444-555555555555}",
      url: URL_A,
      read_only: true,
      source: "connect",
    });
    const { outs } = await f.harness.up("Webhook", hook());
    assert.notEqual(outs.uuid, "{99999999-2222-3333-4444-555555555555}");
    assert.equal(f.emulator.store.allHooks().length, 2);
  });

  it("finds an existing hook to adopt on any page of a long list", async () => {
    for (let i = 0; i < 230; i++) {
      f.emulator.store.addHook("acme", "api", {
        uuid: `{00000000-0000-0000-0000-${String(i).padStart(12, "0")}}`,
        url: `https://hooks.example.test/n${i}`,
      });
    }
    const { outs } = await f.harness.up("Webhook", hook({ url: "https://hooks.example.test/n215" }));
    assert.equal(outs.uuid, "{00000000-0000-0000-0000-000000000215}");
    assert.deepEqual(f.emulator.log().filter((l) => l.startsWith("GET")).length, 3);
    assert.equal(f.emulator.store.allHooks().length, 230);
  });

  it("fails on a missing repository with Bitbucket's message and the object named", async () => {
    await assert.rejects(
      f.harness.up("Webhook", hook({ repository: "nope" })),
      /create webhook https:\/\/hooks\.example\.test\/a on acme\/nope: GET \/repositories\/acme\/nope\/hooks failed \(404\): Repository acme\/nope not found/,
    );
  });

  it("names the missing scopes when the token lacks them", async () => {
    const weak = await fixture(undefined, { config: { "bitbucket:token": "weak" } });
    try {
      weak.emulator.store.tokens.set("weak", { kind: "oauth", scopes: ["webhook"] });
      await assert.rejects(
        weak.harness.up("Webhook", hook({ events: ["pullrequest:created"] })),
        /POST \/repositories\/acme\/api\/hooks failed \(403\): Your credentials lack one or more required privilege scopes\. - the credentials need scope\(s\) webhook, pullrequest but were granted webhook/,
      );
    } finally {
      await weak.close();
    }
  });
});

describe("Webhook check", () => {
  let f: Fixture;
  before(async () => (f = await fixture()));
  after(async () => f.close());

  const failures = async (raw: Props) => (await f.harness.check("Webhook", raw)).failures;

  it("normalizes: trims, sorts events, applies defaults, drops an empty secret", async () => {
    const { inputs, failures: fs } = await f.harness.check("Webhook", {
      workspace: " acme ", repository: "api", url: ` ${URL_A} `, events: ["repo:push", "issue:created"], secret: "",
    }); // prettier-ignore
    assert.deepEqual(fs, []);
    assert.deepEqual(inputs, {
      flavor: "cloud", workspace: "acme", repository: "api", url: URL_A, description: "", events: ["issue:created", "repo:push"],
      active: true, generateSecret: false, skipCertVerification: false, allowHttp: false, adopt: false,
    }); // prettier-ignore
  });

  it("refuses empty and duplicate events", async () => {
    assert.deepEqual(await failures(hook({ events: [] })), [
      { property: "events", reason: 'events must list at least one event, e.g. ["repo:push"]' },
    ]);
    assert.deepEqual(await failures(hook({ events: ["repo:push", "repo:push"] })), [
      { property: "events[1]", reason: '"repo:push" is listed twice (Bitbucket rejects duplicate events)' },
    ]);
  });

  it("refuses an unknown event and lists close matches", async () => {
    assert.deepEqual(await failures(hook({ events: ["repo:psuh"] })), [
      {
        property: "events[0]",
        reason: 'unknown event "repo:psuh"; did you mean repo:push, repo:fork, repo:updated?',
      },
    ]);
    const [f2] = await failures(hook({ events: ["pullrequest:merged"] }));
    assert.equal(f2?.property, "events[0]");
    assert.match(f2!.reason, /^unknown event "pullrequest:merged"; did you mean pullrequest:/);
  });

  it("refuses a non-https URL unless allowHttp is set", async () => {
    assert.deepEqual(await failures(hook({ url: "http://hooks.example.test/a" })), [
      {
        property: "url",
        reason:
          '"http://hooks.example.test/a" is not https: payloads would travel in plain text; use https, or set allowHttp: true',
      },
    ]);
    assert.deepEqual(await failures(hook({ url: "http://hooks.example.test/a", allowHttp: true })), []);
    assert.deepEqual(await failures(hook({ url: "not a url" })), [
      { property: "url", reason: '"not a url" is not a valid URL' },
    ]);
    assert.deepEqual(await failures(hook({ url: "ftp://x.test/" })), [
      { property: "url", reason: '"ftp://x.test/" must be an https URL' },
    ]);
  });

  it("refuses a secret over 128 characters without echoing it", async () => {
    const secret = "x".repeat(129);
    const fs = await failures(hook({ secret }));
    assert.deepEqual(fs, [
      { property: "secret", reason: "secret is 129 characters; Bitbucket allows at most 128" },
    ]);
    assert.deepEqual(await failures(hook({ secret: "x".repeat(128) })), []);
  });

  it("refuses a missing workspace and reports every problem at once", async () => {
    const fs = await failures({ url: "", events: [] });
    assert.deepEqual(
      fs.map((x) => x.property),
      ["workspace", "url", "events"],
    );
    assert.equal(fs[0]?.reason, "workspace is required: the workspace slug, e.g. acme");
  });
});
