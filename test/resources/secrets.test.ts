// Secrets never leave where they belong: not in the serialized provider, not in any output
// that is not marked secret, not in an error message, not in what the host prints.

import * as assert from "node:assert/strict";
import {
  DeployKey,
  OAuthConsumer,
  PipelineKnownHost,
  PipelineSshKeyPair,
  PipelineVariable,
  SshKey,
  Webhook,
} from "../../provider";
import { captureProviders } from "../harness/engine";
import { fixture, type Fixture } from "../harness/fixture";
import { ed25519 } from "../keys";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const HOOK_SECRET = "hook-secret-9f3e";
const VAR_VALUE = "variable-value-77c1";
const key = ed25519("secrets@test");
const PRIVATE_BODY = key.privateOpenssh!.split("\n")[1]!.slice(0, 24);
const CONSUMER_KEY = "consumer-key-5e5e";
const CONSUMER_SECRET = "consumer-secret-6f6f";
const all = [HOOK_SECRET, VAR_VALUE, PRIVATE_BODY, CONSUMER_KEY, CONSUMER_SECRET];

const leaks = (text: string) => all.filter((s) => text.includes(s));

describe("secrets", () => {
  it("are in no serialized provider, and every secret input is marked secret", async () => {
    const where = { workspace: "acme", repository: "api" };
    const { providers, declared } = await captureProviders(() => [
      new Webhook("s", {
        ...where,
        url: "https://hooks.example.test/s",
        events: ["repo:push"],
        secret: HOOK_SECRET,
      }),
      new DeployKey("s", { ...where, key: key.publicLine }),
      new SshKey("s", { key: key.publicLine }),
      new PipelineVariable("s", { ...where, key: "K", value: VAR_VALUE }),
      new PipelineVariable("plain", { ...where, key: "P", value: "shown", secured: false }),
      new PipelineSshKeyPair("s", { ...where, privateKey: key.privateOpenssh!, publicKey: key.publicLine }),
      new PipelineKnownHost("s", { ...where, hostname: "h.example.test", publicKey: key.publicLine }),
      new OAuthConsumer("s", {
        workspace: "acme",
        name: "C",
        scopes: ["webhook"],
        key: CONSUMER_KEY,
        secret: CONSUMER_SECRET,
      }),
    ]);
    assert.equal(Object.keys(providers).length, 7);
    for (const [type, text] of Object.entries(providers)) assert.deepEqual(leaks(text), [], type);
    const input = (type: string, name: string, field: string) =>
      declared.find((d) => d.type.endsWith(`:${type}`) && d.name === name)?.inputs[field] as
        Record<string, unknown> | string;
    assert.equal(
      (input("Webhook", "s", "secret") as Record<string, unknown>)[SECRET_SIG] !== undefined,
      true,
    );
    assert.equal(
      (input("PipelineVariable", "s", "value") as Record<string, unknown>)[SECRET_SIG] !== undefined,
      true,
    );
    assert.equal(
      (input("PipelineSshKeyPair", "s", "privateKey") as Record<string, unknown>)[SECRET_SIG] !== undefined,
      true,
    );
    assert.equal(
      input("PipelineVariable", "plain", "value"),
      "shown",
      "a variable that is not secured stays readable",
    );
  });

  describe("through the host", () => {
    let f: Fixture;
    before(async () => (f = await fixture()));
    after(async () => f.close());
    const where = { workspace: "acme", repository: "api" };

    it("are in no output that is not marked secret", async () => {
      const outs = [
        (
          await f.harness.up("Webhook", {
            ...where,
            url: "https://hooks.example.test/s",
            events: ["repo:push"],
            secret: HOOK_SECRET,
          })
        ).outs,
        (await f.harness.up("PipelineVariable", { ...where, key: "K", value: VAR_VALUE })).outs,
        (await f.harness.up("PipelineVariable", { workspace: "acme", key: "K", value: VAR_VALUE })).outs,
        (
          await f.harness.up("PipelineVariable", {
            ...where,
            environment: "Test",
            key: "K",
            value: VAR_VALUE,
          })
        ).outs,
        (
          await f.harness.up("PipelineSshKeyPair", {
            ...where,
            privateKey: key.privateOpenssh!,
            publicKey: key.publicLine,
          })
        ).outs,
      ];
      const SECRET_OUTPUTS = ["secretHash", "valueHash", "privateKeyHash"];
      for (const o of outs) {
        const plain = Object.fromEntries(Object.entries(o).filter(([k]) => !SECRET_OUTPUTS.includes(k)));
        assert.deepEqual(leaks(JSON.stringify(plain)), []);
        // Even the hashed ones hold a salted HMAC, not the value.
        assert.deepEqual(leaks(JSON.stringify(o)), []);
      }
    });

    it("are in no error message and nothing the host prints", async () => {
      f.emulator.fault({ method: "POST", status: 500, times: 10 });
      f.emulator.fault({
        method: "PUT",
        status: 400,
        times: 10,
        body: { type: "error", error: { message: "Bad request" } },
      });
      const errors = await Promise.all([
        f.harness
          .up("Webhook", {
            ...where,
            url: "https://hooks.example.test/e",
            events: ["repo:push"],
            secret: HOOK_SECRET,
          })
          .catch((e: Error) => e.message),
        f.harness
          .up("PipelineVariable", { ...where, key: "E", value: VAR_VALUE })
          .catch((e: Error) => e.message),
        f.harness
          .up("PipelineSshKeyPair", {
            ...where,
            repository: "web",
            privateKey: key.privateOpenssh!,
            publicKey: key.publicLine,
          })
          .catch((e: Error) => e.message),
        f.harness
          .check("Webhook", {
            ...where,
            url: "https://hooks.example.test/e",
            events: ["repo:push"],
            secret: HOOK_SECRET.repeat(20),
          })
          .then((c) => JSON.stringify(c.failures)),
        f.harness
          .check("PipelineSshKeyPair", {
            ...where,
            privateKey: key.privateOpenssh!,
            publicKey: ed25519().publicLine,
          })
          .then((c) => JSON.stringify(c.failures)),
        f.harness
          .check("DeployKey", { ...where, key: key.privateOpenssh! })
          .then((c) => JSON.stringify(c.failures)),
      ]);
      f.emulator.clearFaults();
      assert.equal(errors.length, 6);
      for (const m of errors) {
        assert.equal(typeof m, "string");
        assert.ok(String(m).length > 20, String(m));
        assert.deepEqual(leaks(String(m)), [], String(m));
      }
      assert.match(String(errors[1]), /create variable E on acme\/api: POST .* failed \(500\)/);
      assert.match(
        String(errors[2]),
        /set the Pipelines SSH key pair of acme\/web: PUT .* failed \(400\): Bad request/,
      );
      assert.deepEqual(leaks(f.harness.stderr), []);
    });
  });
});
