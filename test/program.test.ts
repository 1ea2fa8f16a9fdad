import * as assert from "node:assert/strict";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

describe("program (Pulumi.yaml main)", () => {
  it("declares the configured webhook with its secret marked secret", async () => {
    const declared: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
    pulumi.runtime.setAllConfig(
      {
        "bitbucket-iac:workspace": "acme",
        "bitbucket-iac:repository": "api",
        "bitbucket-iac:webhookUrl": "https://hooks.example.test/p",
        "bitbucket-iac:webhookEvents": '["repo:push","pullrequest:created"]',
        "bitbucket-iac:webhookSecret": "program-secret",
      },
      ["bitbucket-iac:webhookSecret"],
    );
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          declared.push({ type: args.type, name: args.name, inputs: args.inputs });
          return { id: "id", state: { ...args.inputs, uuid: "{u}", secretSet: true } };
        },
        call: (args) => args.inputs,
      },
      "bitbucket-iac",
      "test",
    );
    const mod = (await import(path.resolve(__dirname, "../provider/program.ts"))) as {
      webhookUuid: pulumi.Output<string>;
    };
    const uuid = await new Promise((r) => mod.webhookUuid.apply(r));
    assert.equal(uuid, "{u}");
    assert.equal(declared.length, 1);
    const [w] = declared;
    assert.equal(w?.type, "pulumi-nodejs:dynamic/bitbucket:Webhook");
    assert.equal(w?.name, "webhook");
    assert.equal(w?.inputs.workspace, "acme");
    assert.deepEqual(w?.inputs.events, ["repo:push", "pullrequest:created"]);
    assert.deepEqual(w?.inputs.secret, {
      [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270",
      value: "program-secret",
    });
  });
});
