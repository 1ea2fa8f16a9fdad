// Every example manifest (and the starter bitbucket.yaml) as `pulumi up` runs it:
// 1. under `pulumi.runtime.setMocks`: the resources it declares, their names, inputs, which
//    inputs are secret, and that an integration's children wait for its consumer;
// 2. through the engine harness against the emulator: everything is created, and a second run
//    with the same manifest changes nothing.

import * as assert from "node:assert/strict";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { deployManifest } from "../../provider/manifest/deploy";
import { loadManifest } from "../../provider/manifest/load";
import { Engine } from "../harness/deploy";
import { DEFAULT_SEED, fixture, FAST_RETRIES, TOKEN } from "../harness/fixture";
import type { Seed } from "../emulator/store";

const ROOT = path.resolve(__dirname, "../..");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecretValue = (v: unknown) => typeof v === "object" && v !== null && SECRET_SIG in v;
/** Resolves an output (secret or not) to its value. */
const valueOf = <T>(o: unknown): Promise<T> =>
  new Promise((ok) => (o as pulumi.Output<T>).apply((v) => (ok(v), v)));

/** Stack config the examples read (their secrets). */
const CONFIG: Record<string, string> = {
  platformshKey: "psh-key", platformshSecret: "psh-secret",
  ampersandClientId: "amp-key", ampersandClientSecret: "amp-secret",
  shippableToken: "shippable-token", deployToken: "deploy-token",
}; // prettier-ignore

const REPOS = [
  { slug: "api" },
  { slug: "web" },
  { slug: "svc-a", project: "SVC" },
  { slug: "svc-b", project: "SVC" },
];

const SEED: Seed = {
  ...DEFAULT_SEED,
  projectRepos: { "acme/SVC": ["svc-a", "svc-b"] },
  consumers: [
    { key: "psh-key", secret: "psh-secret", scopes: ["account", "email", "repository:write", "pullrequest", "webhook"], private: true },
    // Public, as the Ampersand example declares it (its guide does not ask for a private consumer).
    { key: "amp-key", secret: "amp-secret", scopes: ["repository", "project", "webhook", "pipeline", "pipeline:variable"], private: false },
  ],
}; // prettier-ignore

/** What each example declares: [type, name] of every custom resource. */
const EXPECTED: Record<string, Array<[string, string]>> = {
  "bitbucket.yaml": [
    ["PipelineVariable", "variable/acme/api/DEPLOY_REGION"],
    ["Webhook", "webhook/acme/api/ci.example.com/bitbucket"],
  ],
  "examples/platformsh/bitbucket.yaml": [["OAuthConsumer", "oauth-consumer/platformsh"]],
  // Shippable sets its own webhooks with the token: nothing to create in Bitbucket.
  "examples/shippable/bitbucket.yaml": [],
  // Pipelines connects with its own OAuth app and posts its own webhooks: its SSH key alone.
  "examples/puppet-pipelines/bitbucket.yaml": [],
  "examples/ampersand/bitbucket.yaml": [["OAuthConsumer", "oauth-consumer/ampersand"]],
  "examples/multi-repo/bitbucket.yaml": [
    ["DeployKey", "deploy-key/acme/svc-a/wpWpGAiht1Nt"],
    ["DeployKey", "deploy-key/acme/svc-b/wpWpGAiht1Nt"],
    ["PipelineKnownHost", "known-host/acme/svc-a/deploy.example.com"],
    ["PipelineKnownHost", "known-host/acme/svc-b/deploy.example.com"],
    ["PipelineVariable", "variable/acme/svc-a/ARTIFACT_BUCKET"],
    ["PipelineVariable", "variable/acme/svc-a/DEPLOY_TOKEN"],
    ["PipelineVariable", "variable/acme/svc-a/Production/DEPLOY_TARGET"],
    ["PipelineVariable", "variable/acme/svc-b/ARTIFACT_BUCKET"],
    ["PipelineVariable", "variable/acme/svc-b/DEPLOY_TOKEN"],
    ["PipelineVariable", "variable/acme/svc-b/Production/DEPLOY_TARGET"],
    ["Webhook", "webhook/acme/svc-a/ci.example.com/hooks/bitbucket"],
    ["Webhook", "webhook/acme/svc-b/ci.example.com/hooks/bitbucket"],
  ],
};

/** Inputs that must reach the engine as secrets: [type, field]. */
const SECRET_INPUTS: Array<[string, string]> = [
  ["OAuthConsumer", "key"],
  ["OAuthConsumer", "secret"],
];

function setConfig() {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(CONFIG).map(([k, v]) => [`bitbucket-iac:${k}`, v])),
    Object.keys(CONFIG).map((k) => `bitbucket-iac:${k}`),
  );
}

describe("manifest examples under mocks", () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file} declares its resources with secrets kept secret`, async () => {
      setConfig();
      const declared: Array<{ type: string; name: string; inputs: Record<string, unknown>; at: number }> = [];
      const resolvedAt = new Map<string, number>();
      let clock = 0;
      await pulumi.runtime.setMocks(
        {
          newResource: async (a) => {
            const type = a.type.split(":").pop()!;
            declared.push({ type, name: a.name, inputs: a.inputs, at: clock++ });
            if (type === "OAuthConsumer") {
              await new Promise((r) => setTimeout(r, 30)); // a verification that takes time
              resolvedAt.set(a.name, clock++);
              return {
                id: a.name,
                state: { ...a.inputs, grantedScopes: a.inputs.scopes, missingScopes: [] },
              };
            }
            return { id: a.name, state: a.inputs };
          },
          call: (a) => a.inputs,
        },
        "bitbucket-iac",
        "examples",
      );
      const { resources } = await deployManifest(loadManifest(path.join(ROOT, file)), () => REPOS);
      await Promise.all(Object.values(resources).map((r) => new Promise((ok) => r.urn.apply(ok))));
      for (
        let i = 0;
        i < 100 && declared.filter((d) => d.type !== "Integration").length < expected.length;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const custom = declared.filter((d) => d.type !== "Integration");
      assert.deepEqual(custom.map((d) => [d.type, d.name]).sort(), [...expected].sort());
      for (const d of custom) {
        for (const [type, field] of SECRET_INPUTS)
          if (d.type === type) assert.ok(isSecretValue(d.inputs[field]), `${d.name}.${field} is secret`);
        if (d.type === "PipelineVariable" && d.inputs.secured !== false)
          assert.ok(isSecretValue(d.inputs.value), `${d.name}.value is secret`);
        if (d.type === "PipelineVariable" && d.inputs.secured === false)
          assert.equal(typeof d.inputs.value, "string");
        assert.ok(
          !JSON.stringify(d.inputs).includes("deploy-token") || isSecretValue(d.inputs.value),
          "no plain secret",
        );
      }
      // An integration's children are registered only after its consumer was verified.
      const consumer = [...resolvedAt.values()][0];
      for (const d of custom) {
        if (consumer !== undefined && /-(hook|ssh-key|key|var)-?/.test(d.name))
          assert.ok(d.at > consumer, `${d.name} waited for the consumer`);
      }
    });
  }
});

describe("manifest examples through the engine harness", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("lists repositories for selectors with the credentials in stack config, as the provider uses them", async () => {
    const f = await fixture(SEED);
    try {
      const engine = new Engine(f.harness);
      const program = async () => {
        pulumi.runtime.setAllConfig(
          {
            ...Object.fromEntries(Object.entries(CONFIG).map(([k, v]) => [`bitbucket-iac:${k}`, v])),
            "bitbucket:apiUrl": f.emulator.apiUrl,
            "bitbucket:token": TOKEN,
          },
          ["bitbucket:token"],
        );
        const { resources } = await deployManifest(
          loadManifest(path.join(ROOT, "examples/multi-repo/bitbucket.yaml")),
        );
        return Object.values(resources);
      };
      const { error, steps } = await engine.up(program);
      assert.equal(error, undefined, error?.message);
      assert.equal(steps.length, 12);
      assert.ok(f.emulator.log().includes("GET /2.0/repositories/acme"));
      await engine.destroy();
    } finally {
      await f.close();
    }
  });

  for (const file of Object.keys(EXPECTED)) {
    it(`${file}: creates everything, then a second run changes nothing`, async () => {
      const f = await fixture(SEED);
      // The program itself lists repositories for selectors, from this process.
      Object.assign(process.env, FAST_RETRIES, {
        BITBUCKET_API_URL: f.emulator.apiUrl,
        BITBUCKET_TOKEN: TOKEN,
      });
      try {
        const engine = new Engine(f.harness);
        let outputs: Record<string, unknown> = {};
        const program = async () => {
          setConfig();
          const r = await deployManifest(loadManifest(path.join(ROOT, file)));
          outputs = r.outputs;
          return Object.values(r.resources);
        };
        const first = await engine.up(program);
        assert.equal(first.error, undefined, first.error?.message);
        const custom = EXPECTED[file]!.length;
        assert.equal(first.steps.filter((s) => s.op === "create").length, custom);
        if (custom === 0) assert.deepEqual(f.emulator.log(), [], "nothing to create: not one Bitbucket call");
        // Every integration hands over its guide's remaining steps, numbered, secrets only by reference.
        const integrations = (outputs.integrations ?? {}) as Record<string, Record<string, unknown>>;
        for (const [id, outs] of Object.entries(integrations)) {
          const steps = await valueOf<string[]>(outs.instructions);
          assert.ok(steps.length > 0, `integration ${id} has instructions`);
          steps.forEach((step, n) => {
            assert.ok(step.startsWith(`${n + 1}. `), `${id} step ${n + 1} is numbered: ${step}`);
            for (const secret of Object.values(CONFIG))
              assert.ok(!step.includes(secret), `${id} step ${n + 1} holds a secret`);
          });
        }
        const second = await engine.up(program);
        assert.equal(second.error, undefined, second.error?.message);
        assert.deepEqual(
          second.steps.map((s) => s.op),
          Array(custom).fill("same"),
        );
        await engine.destroy();
      } finally {
        await f.close();
      }
    });
  }
});
