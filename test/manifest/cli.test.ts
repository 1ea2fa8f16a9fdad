import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as path from "path";
import { main } from "../../provider/cli/main";

const ROOT = path.resolve(__dirname, "../..");

function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(
    args,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("bitbucket-iac validate", () => {
  it("accepts a valid manifest and says how many resources it found offline", () => {
    const r = run(["validate", path.join(ROOT, "examples/shippable/bitbucket.yaml")]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /bitbucket.yaml: valid \(3 resources from explicit repository lists; selectors are resolved by pulumi up\)/,
    );
  });

  it("prints every problem with its position and exits 1", () => {
    const r = run(["validate", path.join(ROOT, "test/fixtures/bad/35-many-problems-at-once.yaml")]);
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.err.split("\n").map((l) => l.replace(/^.*35-many-problems-at-once\.yaml:/, "")),
      [
        '6:14 webhooks[0].events[0]: "repo:psuh" is not allowed here; did you mean "repo:push", "repo:fork", "repo:updated"?',
        "7:13 webhooks[0].secret: a secret cannot be written in the manifest: use { fromConfig: <name> } and run `pulumi config set --secret <name> <value>`, or { fromEnv: <NAME> }, or { generate: true } for a random one kept in state",
        '10:10 pipelineVariables[0].key: "bad-name" is not valid: Variable name: ASCII letters, digits and underscores, not starting with a digit.',
        "3 problems",
      ],
    );
  });

  it("explains its usage and exits 2 on anything else", () => {
    assert.deepEqual(run(["lint"]), {
      code: 2,
      out: "",
      err: "usage: bitbucket-iac validate [bitbucket.yaml]",
    });
  });

  it("runs as `npm run validate` from the repository", () => {
    const out = execFileSync("node", ["provider/cli/bin.js", "validate"], { cwd: ROOT }).toString();
    assert.match(out, /^bitbucket.yaml: valid \(2 resources/);
  });
});
