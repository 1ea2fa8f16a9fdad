// The policy in the program (provider/manifest/enforce.ts policyTransformation), under
// `pulumi.runtime.setMocks`: deployManifest hands the manifest's `policy:` to every resource it
// declares, an integration's children too, and only when the manifest has one; the rules a
// resource breaks at level `warn` are said once per resource, on the resource.

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { policyTransformation, Webhook } from "../../provider";
import { deployManifest } from "../../provider/manifest/deploy";
import { parseManifest } from "../../provider/manifest/load";

const REPOS = [{ slug: "api" }, { slug: "web" }];

const POLICY = `policy:
  webhooks:
    secretRequired: { enforcement: warn, message: sign your hooks }
    allowedHosts: { enforcement: warn, hosts: [ci.example.test] }
    forbidSkipCertVerification: {}
`;

const ENTRIES = `webhooks:
  - repositories: [api]
    url: https://ci.example.test/hook
    events: [repo:push]
    skipCertVerification: true
pipelineVariables:
  - { repositories: [api], key: DB_PASSWORD, value: x, secured: false }
  - { repositories: [api], key: REGION, value: eu, secured: false }
knownHosts:
  - repositories: [api]
    hostname: deploy.example.test
    publicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIdcYE3H3xPfYY4tWBG6vlZ7ezyQneq1K35SiYoUPJjk
integrations:
  - id: gen
    preset: generic
    repositories: [web]
    options:
      webhooks: [{ url: "https://gen.example.org/gen", events: [repo:push] }]
`;

const manifest = (withPolicy: boolean) =>
  parseManifest(`version: 1\nworkspace: acme\n${withPolicy ? POLICY : ""}${ENTRIES}`, "bitbucket.yaml");

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** Mocks that record every custom resource registered. */
async function mocks(): Promise<Registered[]> {
  const registered: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        // Custom resources (the integration itself is a component: nothing of it reaches a provider).
        if (args.custom !== false)
          registered.push({ type: args.type.split(":").pop()!, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "bitbucket-iac",
    "test",
  );
  return registered;
}

/** Waits (up to 5 s) until `done()`, as registrations and warnings arrive once inputs resolve. */
async function until(done: () => boolean): Promise<void> {
  for (const start = Date.now(); !done() && Date.now() - start < 5000;)
    await new Promise((r) => setTimeout(r, 10));
}

const nameOf = (r: pulumi.Resource) =>
  new Promise<string>((ok) => r.urn.apply((u) => (ok(u.split("::").pop()!), u)));

/** Every warning said, as [resource name, message], sorted. */
async function said(warned: Array<[pulumi.Resource, string]>): Promise<Array<[string, string]>> {
  const named = await Promise.all(warned.map(async ([r, m]) => [await nameOf(r), m] as [string, string]));
  return named.sort(([a], [b]) => a.localeCompare(b));
}

const SECRET_WARNING =
  "policy webhooks.secretRequired: the hook has no secret: deliveries are not signed and the receiver cannot tell them from forgeries; give it a secret (secret: { generate: true }, or a reference) (sign your hooks) [policy of bitbucket.yaml]";

describe("the policy in the program (deployManifest)", () => {
  it("hands the manifest's policy: to every resource a rule can judge, an integration's children too", async () => {
    const registered = await mocks();
    const m = manifest(true);
    await deployManifest(m, () => REPOS, { warn: () => undefined });
    await until(() => registered.length >= 5);
    const policyOf = new Map(registered.map((r) => [`${r.type} ${r.name}`, r.inputs.policy]));
    assert.deepEqual(
      [...policyOf.keys()].sort(),
      [
        "PipelineKnownHost known-host/acme/api/deploy.example.test",
        "PipelineVariable variable/acme/api/DB_PASSWORD",
        "PipelineVariable variable/acme/api/REGION",
        "Webhook gen-hook-web-gen.example.org/gen",
        "Webhook webhook/acme/api/ci.example.test/hook",
      ].sort(),
    );
    for (const [key, policy] of policyOf)
      assert.deepEqual(policy, key.startsWith("PipelineKnownHost") ? undefined : m.policy, key);
  });

  it("gives no resource a policy input when the manifest has no policy: (existing stacks see no new input)", async () => {
    const registered = await mocks();
    await deployManifest(manifest(false), () => REPOS, { warn: () => undefined });
    await until(() => registered.length >= 5);
    assert.equal(registered.length, 5);
    assert.deepEqual(
      registered.filter((r) => "policy" in r.inputs).map((r) => r.name),
      [],
    );
  });

  it("says the rules each resource breaks at level warn once, on the resource, and not those at level error (its check fails them)", async () => {
    await mocks();
    const warned: Array<[pulumi.Resource, string]> = [];
    await deployManifest(manifest(true), () => REPOS, { warn: (m, r) => warned.push([r, m]) });
    await until(() => warned.length >= 3);
    await new Promise((r) => setTimeout(r, 50)); // and no more come
    assert.deepEqual(await said(warned), [
      [
        "gen-hook-web-gen.example.org/gen",
        "policy webhooks.allowedHosts: host gen.example.org is not one of the allowed hosts (ci.example.test); deliver to an allowed host, or have the policy allow this one [policy of bitbucket.yaml]",
      ],
      [
        "variable/acme/api/DB_PASSWORD",
        "policy pipelineVariables.securedWhenKeyMatches: DB_PASSWORD looks like a credential (*PASSWORD*) but is not secured: its value shows in logs and settings; make it secured (remove secured: false) and rotate the value [policy of bitbucket.yaml]",
      ],
      ["webhook/acme/api/ci.example.test/hook", SECRET_WARNING],
    ]);
  });

  it("says the default policy's warnings when the manifest has no policy:", async () => {
    await mocks();
    const warned: Array<[pulumi.Resource, string]> = [];
    await deployManifest(manifest(false), () => REPOS, { warn: (m, r) => warned.push([r, m]) });
    await until(() => warned.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      (await said(warned)).map(([name, m]) => [name, m.replace(/:.*\[/, ": ... [")]),
      [
        [
          "variable/acme/api/DB_PASSWORD",
          "policy pipelineVariables.securedWhenKeyMatches: ... [default policy]",
        ],
      ],
    );
  });

  it("prints nothing without an engine: plan runs the program under mocks and reports findings itself", async () => {
    await mocks();
    const printed: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args);
    try {
      const { resources } = await deployManifest(manifest(true), () => REPOS);
      await Promise.all(Object.values(resources).map(nameOf));
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(printed, []);
  });

  it("gives a program that builds resources in code the same: policyTransformation hands the policy over and says its warnings", async () => {
    const registered = await mocks();
    const warned: Array<[pulumi.Resource, string]> = [];
    const policy = { webhooks: { secretRequired: { enforcement: "warn" as const } } };
    const say = { warn: (m: string, r: pulumi.Resource) => void warned.push([r, m]) };
    const hook = new Webhook(
      "coded",
      { workspace: "acme", repository: "api", url: "https://ci.example.test/coded", events: ["repo:push"] },
      // Two (deployManifest's and one for the whole stack, say): the resource is still warned once.
      { transformations: [policyTransformation(policy, say), policyTransformation(undefined, say)] },
    );
    await nameOf(hook);
    await until(() => warned.length >= 1);
    await new Promise((r) => setTimeout(r, 50)); // and no second
    assert.deepEqual(registered.find((r) => r.name === "coded")?.inputs.policy, policy);
    assert.deepEqual(
      (await said(warned)).map(([name, m]) => [name, m.split(":")[0]]),
      [["coded", "policy webhooks.secretRequired"]],
    );
  });
});
