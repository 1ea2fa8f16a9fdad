// The TypeScript examples in README.md run as written: each is executed as a Pulumi program
// under mocks (with "bitbucket-iac" pointing at this checkout), and every resource it declares
// passes its provider's own check.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { webhookProvider } from "../provider/resources/webhook";
import { deployKeyProvider } from "../provider/resources/deploy-key";
import { sshKeyProvider } from "../provider/resources/ssh-key";
import { pipelineVariableProvider } from "../provider/resources/pipeline-variable";
import { pipelineSshKeyPairProvider } from "../provider/resources/pipeline-ssh-key-pair";
import { pipelineKnownHostProvider } from "../provider/resources/pipeline-known-host";
import { accessTokenProvider } from "../provider/resources/access-token";
import { ed25519 } from "./keys";
import { expand } from "../provider/manifest/expand";
import { parseManifest } from "../provider/manifest/load";
import { RULES } from "../provider/policy/rules";

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "bin", "readme-snippets");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const PROVIDERS: Record<string, pulumi.dynamic.ResourceProvider> = {
  Webhook: webhookProvider,
  DeployKey: deployKeyProvider,
  SshKey: sshKeyProvider,
  PipelineVariable: pipelineVariableProvider,
  PipelineSshKeyPair: pipelineSshKeyPairProvider,
  PipelineKnownHost: pipelineKnownHostProvider,
  AccessToken: accessTokenProvider,
};

const unwrap = (v: unknown): unknown =>
  v && typeof v === "object" && SECRET_SIG in v ? (v as unknown as { value: unknown }).value : v;

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const snippets = [
  ...fs.readFileSync(path.join(ROOT, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
].map((m) => m[1]!);

describe("README examples", () => {
  const manifests = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it("has a Cloud manifest example that validates and expands as written", () => {
    assert.equal(manifests.length, 3);
    const specs = expand(parseManifest(manifests[0]!, "README.md"), () => [
      { slug: "api" },
      { slug: "web" },
      { slug: "svc-a", project: "SVC" },
    ]);
    assert.deepEqual([...new Set(specs.map((s) => s.type))].sort(), [
      "DeployKey",
      "Integration",
      "OAuthConsumer",
      "PipelineKnownHost",
      "PipelineSshKeyPair",
      "PipelineVariable",
      "SshKey",
      "Webhook",
    ]);
  });

  it("has a Data Center manifest example that validates and expands as written", () => {
    const m = parseManifest(manifests[2]!, "README.md");
    assert.equal(m.flavor, "datacenter");
    const specs = expand(m, (project) => (project === "PROJ" ? [{ slug: "api" }, { slug: "svc-a" }] : []));
    assert.deepEqual(
      specs.map((s) => [s.type, s.name]),
      [
        ["Integration", "platformsh"],
        ["Webhook", "webhook/PROJ/*/ci.example.com/bitbucket"],
        ["Webhook", "webhook/PROJ/svc-a/jenkins.example.com/bitbucket-hook/"],
        ["DeployKey", "deploy-key/PROJ/*/P1ZvzG0nG3sC"],
        ["AccessToken", "access-token/PROJ/api/release-job"],
        ["SshKey", "ssh-key/ci-bot/8qhBfu3z3eOh"],
      ],
    );
  });

  it("has a policy file example that validates and sets every rule", () => {
    const m = parseManifest(manifests[1]!, "README.md");
    assert.deepEqual(Object.keys(m.at), ["version", "policy"]);
    const rules = Object.entries(m.policy ?? {}).flatMap(([section, r]) =>
      Object.keys(r as object).map((k) => `${section}.${k}`),
    );
    assert.deepEqual(rules.sort(), Object.keys(RULES).sort());
    for (const rule of rules)
      assert.match(README, new RegExp(`^\\| \`${rule.replace(".", "\\.")}\` +\\|`, "m"));
  });

  it("runs every ```ts example, each one importing resources from bitbucket-iac", () => {
    assert.equal(
      snippets.length,
      README.match(/^```ts$/gm)?.length,
      "each ```ts fence is an example run below",
    );
    for (const code of snippets) assert.match(code, /^import \{ \w+(, \w+)* \} from "bitbucket-iac";$/m);
  });

  snippets.forEach((code, n) => {
    it(`example ${n + 1} declares resources that pass their checks`, async () => {
      const key = ed25519("readme@example.test");
      pulumi.runtime.setAllConfig(
        Object.fromEntries(
          Object.entries({
            webhookSecret: "readme-secret",
            hookSecret: "readme-hook-secret",
            ciPublicKey: key.publicLine,
            puppetPublicKey: ed25519().publicLine,
            deployToken: "t",
            sonarToken: "s",
            buildPrivateKey: key.privateOpenssh!,
            buildPublicKey: key.publicLine,
            deployHostKey: ed25519().publicLine,
          }).map(([k, v]) => [`bitbucket-iac:${k}`, v]),
        ),
      );
      const declared: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
      await pulumi.runtime.setMocks(
        {
          newResource: (a) => {
            declared.push({ type: a.type.split(":").pop()!, name: a.name, inputs: a.inputs });
            return { id: `${a.name}-id`, state: a.inputs };
          },
          call: (a) => a.inputs,
        },
        "bitbucket-iac",
        "readme",
      );
      fs.mkdirSync(OUT, { recursive: true });
      const file = path.join(OUT, `example-${n + 1}.ts`);
      fs.writeFileSync(
        file,
        code.replace(/from "bitbucket-iac"/g, `from ${JSON.stringify(path.join(ROOT, "provider"))}`),
      );
      await import(file);
      const expected = [...code.matchAll(/new (\w+)\(/g)].length;
      for (let i = 0; i < 100 && declared.length < expected; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(declared.length, expected, "every `new` in the example registered a resource");
      for (const d of declared) {
        const provider = PROVIDERS[d.type];
        assert.ok(provider?.check, `unknown type ${d.type}`);
        const raw = Object.fromEntries(
          Object.entries(d.inputs)
            .filter(([k]) => k !== "__provider")
            .map(([k, v]) => [k, unwrap(v)]),
        );
        const { failures } = await provider.check({}, raw);
        assert.deepEqual(failures, [], `${d.type} ${d.name}`);
      }
    });
  });
});
