import * as assert from "node:assert/strict";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

describe("program (Pulumi.yaml main)", () => {
  it("loads the manifest named by stack config, declares it, and exports what it made", async () => {
    const declared: string[] = [];
    pulumi.runtime.setAllConfig({ "bitbucket-iac:manifest": path.resolve(__dirname, "../bitbucket.yaml") });
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          declared.push(`${args.type.split(":").pop()} ${args.name}`);
          return {
            id: `${args.name}-id`,
            state: { ...args.inputs, uuid: `{${args.name}}`, generatedSecret: "g" },
          };
        },
        call: (args) => args.inputs,
      },
      "bitbucket-iac",
      "test",
    );
    const program = (await import(path.resolve(__dirname, "../provider/program.ts"))) as unknown as {
      default: () => Promise<Record<string, Record<string, pulumi.Output<string>>>>;
    };
    const outputs = await program.default();
    const uuid = await new Promise((r) =>
      outputs.webhooks!["webhook/acme/api/ci.example.com/bitbucket"]!.apply(r),
    );
    await new Promise((r) => outputs.pipelineVariables!["variable/acme/api/DEPLOY_REGION"]!.apply(r));
    assert.deepEqual(declared.sort(), [
      "PipelineVariable variable/acme/api/DEPLOY_REGION",
      "Webhook webhook/acme/api/ci.example.com/bitbucket",
    ]);
    assert.equal(uuid, "{webhook/acme/api/ci.example.com/bitbucket}");
    assert.ok("generatedSecrets" in outputs, "the generated webhook secret is exported");
    assert.equal(
      await (outputs.generatedSecrets as unknown as { isSecret: Promise<boolean> }).isSecret,
      true,
    );
  });

  it("fails with the manifest's problems, positions included", async () => {
    pulumi.runtime.setAllConfig({
      "bitbucket-iac:manifest": path.resolve(__dirname, "fixtures/bad/13-literal-webhook-secret.yaml"),
    });
    const program = (await import(path.resolve(__dirname, "../provider/program.ts"))) as unknown as {
      default: () => Promise<unknown>;
    };
    await assert.rejects(
      program.default(),
      /13-literal-webhook-secret.yaml:7:13 webhooks\[0\].secret: a secret cannot be written in the manifest/,
    );
  });
});
