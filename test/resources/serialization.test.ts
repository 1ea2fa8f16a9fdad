import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Webhook } from "../../provider";
import { setProviderConfig } from "../../provider/api/auth";
import { captureProviders, Harness } from "../harness/engine";
import { FAST_RETRIES, TOKEN } from "../harness/fixture";
import { startEmulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";

describe("serialized provider", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    setProviderConfig(() => undefined);
  });

  it("holds no token, credential or webhook secret, and no path of this checkout", async () => {
    Object.assign(process.env, {
      BITBUCKET_TOKEN: "env-token-5d1e",
      BITBUCKET_API_TOKEN: "env-api-token-77aa",
      BITBUCKET_OAUTH_CLIENT_SECRET: "env-oauth-secret-90fe",
    });
    setProviderConfig((k) => (k === "bitbucket:token" ? "config-token-c0c0" : undefined));
    const { providers, declared } = await captureProviders(() => [
      new Webhook("ser", {
        workspace: "acme",
        url: "https://hooks.example.test/s",
        events: ["repo:push"],
        secret: "hook-secret-4b4b",
      }),
    ]);
    const text = providers.Webhook ?? "";
    assert.ok(text.includes('type: "Webhook"'), "a provider was captured");
    // Stored twice in every resource's state (inputs and outputs): issue 23 brought it from 977 B to ~550 B.
    assert.ok(text.length <= 600, `the serialized provider is a thin shim (${text.length} bytes)`);
    for (const s of [
      "env-token-5d1e",
      "env-api-token-77aa",
      "env-oauth-secret-90fe",
      "config-token-c0c0",
      "hook-secret-4b4b",
      process.cwd(),
    ]) {
      assert.ok(!text.includes(s), `serialized provider contains ${s}`);
    }
    // The implementation is the installed package's, resolved where the host runs; nothing else.
    const requires = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    assert.deepEqual(requires, ["bitbucket-iac/runtime"]);
    // The secret is declared as a secret input (the engine encrypts it in state), even though given as plain text.
    const inputs = declared.find((d) => d.name === "ser")?.inputs;
    assert.deepEqual(inputs?.secret, {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: "hook-secret-4b4b",
    });
  });

  it("works when the host runs from another working directory", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-cwd-"));
    // A Pulumi project elsewhere: its own folder, with bitbucket-iac's dependencies installed.
    fs.symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"), "dir");
    const emu = await startEmulator({
      workspaces: { acme: ["api"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    const { providers } = await captureProviders(() => [
      new Webhook("cwd", { workspace: "acme", url: "https://hooks.example.test/s", events: ["repo:push"] }),
    ]);
    const h = await Harness.start(providers, {
      cwd: dir,
      env: { ...FAST_RETRIES, BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN },
    });
    try {
      const { id } = await h.up("Webhook", {
        workspace: "acme",
        repository: "api",
        url: "https://hooks.example.test/s",
        events: ["repo:push"],
      });
      assert.match(id, /^acme\/api\/\{[0-9a-f-]{36}\}$/);
      assert.equal(emu.store.allHooks().length, 1);
    } finally {
      h.close();
      await emu.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the package to install when the Pulumi project lacks it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-bare-"));
    const { providers } = await captureProviders(() => [
      new Webhook("bare", { workspace: "acme", url: "https://hooks.example.test/s", events: ["repo:push"] }),
    ]);
    const h = await Harness.start(providers, { cwd: dir });
    try {
      await assert.rejects(
        h.check("Webhook", { workspace: "acme", url: "https://hooks.example.test/s", events: ["repo:push"] }),
        /Cannot find module 'bitbucket-iac\/runtime'/,
      );
    } finally {
      h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads credentials from the host's environment when no stack config is set", async () => {
    const emu = await startEmulator({
      workspaces: { acme: ["api"] },
      users: { "me@example.test:api-tok": { scopes: ["webhook", "repository"] } },
    });
    const { providers } = await captureProviders(() => [
      new Webhook("env", { workspace: "acme", url: "https://hooks.example.test/e", events: ["repo:push"] }),
    ]);
    const h = await Harness.start(providers, {
      env: {
        ...FAST_RETRIES,
        BITBUCKET_API_URL: emu.apiUrl,
        BITBUCKET_USERNAME: "me@example.test",
        BITBUCKET_API_TOKEN: "api-tok",
      },
    });
    try {
      await h.up("Webhook", {
        workspace: "acme",
        repository: "api",
        url: "https://hooks.example.test/e",
        events: ["repo:push"],
      });
      assert.equal(emu.store.allHooks().length, 1);
      const noCreds = await Harness.start(providers, {
        env: { ...FAST_RETRIES, BITBUCKET_API_URL: emu.apiUrl },
      });
      try {
        await assert.rejects(
          noCreds.up("Webhook", {
            workspace: "acme",
            repository: "api",
            url: "https://hooks.example.test/f",
            events: ["repo:push"],
          }),
          /create webhook https:\/\/hooks\.example\.test\/f on acme\/api: no Bitbucket credentials: set BITBUCKET_TOKEN/,
        );
      } finally {
        noCreds.close();
      }
    } finally {
      h.close();
      await emu.close();
    }
  });
});
