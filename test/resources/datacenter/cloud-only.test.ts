import * as assert from "node:assert/strict";
import { dcFixture, type Fixture } from "../../harness/fixture";
import { ed25519 } from "../../keys";

describe("Cloud-only resources on a Data Center connection", () => {
  let f: Fixture;
  before(async () => (f = await dcFixture()));
  after(async () => f.close());

  it("are refused at check (preview), each saying what to do instead, with no request", async () => {
    const k = ed25519();
    const where = { workspace: "acme", repository: "api" };
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        "PipelineVariable",
        { ...where, key: "K", value: "v", secured: false },
        /Data Center has no Pipelines; keep build variables in your CI server/,
      ],
      [
        "PipelineKnownHost",
        { ...where, hostname: "h.example.test", publicKey: k.publicLine },
        /keep known hosts in your CI server/,
      ],
      [
        "PipelineSshKeyPair",
        { ...where, privateKey: k.privatePem, publicKey: k.publicLine },
        /add the public key as a DeployKey or SshKey/,
      ],
      [
        "OAuthConsumer",
        { workspace: "acme", name: "c", scopes: [], key: "k", secret: "s" },
        /OAuth links are made by an admin in the UI/,
      ],
    ];
    for (const [type, props, instead] of cases) {
      const { failures } = await f.harness.check(type, props);
      const flavor = failures.find((x) => x.property === "flavor");
      assert.match(
        String(flavor?.reason),
        new RegExp(`^${type} is Bitbucket Cloud only, but the connection is Bitbucket Data Center`),
      );
      assert.match(String(flavor?.reason), instead);
    }
    assert.deepEqual(f.emulator.log(), []);
  });
});
