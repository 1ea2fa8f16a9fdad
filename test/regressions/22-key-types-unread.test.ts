// Issue 22 review: `keys.keyTypes` is an allow-list, but it judged only keys this tool can parse.
// A live key of a type it does not take (ssh-dss: Data Center servers and old Cloud accounts may
// still hold DSA keys) did not parse, so audit passed it under any keyTypes rule: the one key the
// rule exists to find. Now such a key is judged by the type its line names, and shown by its
// type and fingerprint; a value not known yet (a preview) is still no finding.

import * as assert from "node:assert/strict";
import { judge } from "../../provider/policy/evaluate";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { ed25519 } from "../keys";
import { run, useEmulator, workdir } from "../cli/run";

/** A DSA public key (ssh-keygen -t dsa; `ssh-keygen -l` prints the fingerprint below), which parsePublicKey refuses. */
const DSA =
  "ssh-dss AAAAB3NzaC1kc3MAAACBAPX31OV0v3Mq3+MTG2Z049FoREPh8bWkWl31S/rCFF/Fl2JMFzZGeYP63t5MdBvgc/gXyiX6+HBex9Cpc8kH/qTJ2KSPUH5xmVzqB2ZF/7ZEw9H3VXpiXnwdqDfBdd9vw4uZCcotLb9jS8cGQeeGFwoZxAQ9l+zHLQOYJaLn6iDxAAAAFQDK0afDaol4OUtKbLPa9KamAMsQ0QAAAIBGyWW0lCVBsPnQKlZenSBvxFmn5Q7LXx5KRoeB9CsUoz26/5jdT54YId4rZ0z+ByNke0Lq9VTpKUIMJNGpfTSArRJIpfj6qH2l/OUxO4LvkkMJQQ7Z0nm4r9No+KtqR7wfE1SMXRAFcrM2QgVgZzhGZHexr+1ict+zo8ybNk38CwAAAIEAjHDV4uTjxSm9z863Sg3jFvWflOB7253OheZjJ8CYneHiPc9zkNO61GDH9K+XEURoslwdxjrpcS+NJA/Si9kHzbhQDpwre2/MPnHbEJhPbudJ8MUzSrGhnISS1P/0ZD8EiBep8wHqMeldG7CoO069C2trMOgUH1735CP0cI64Cag= dsa@example.test";

const POLICY = `version: 1
policy:
  keys:
    keyTypes: { allow: [ssh-ed25519, ssh-rsa] }
`;

const layers = [
  { source: "policy file org.yaml", policy: { keys: { keyTypes: { allow: ["ssh-ed25519"] } } } },
];

describe("issue 22: keys.keyTypes judges keys of types this tool cannot parse", () => {
  it("finds a DSA key by the type its line names", () => {
    assert.deepEqual(judge({ kind: "key", key: DSA }, layers), [
      {
        rule: "keys.keyTypes",
        level: "error",
        field: "key",
        message:
          "the key is ssh-dss, not one of ssh-ed25519; make a new key of an allowed type (ssh-keygen -t ed25519)",
        source: "policy file org.yaml",
      },
    ]);
  });

  it("finds nothing in a value that is no key line (an unknown value in a preview, an empty input)", () => {
    for (const key of ["04da6b54-80e4-46f7-96ec-b56ff0331ba9", "", "-----BEGIN OPENSSH PRIVATE KEY----- x"])
      assert.deepEqual(judge({ kind: "key", key }, layers), [], key);
  });

  describe("audit", function () {
    this.timeout(60_000);
    let emu: Emulator;
    let restore: (() => void) | undefined;
    const dir = workdir({ "org.yaml": POLICY });
    before(async () => {
      emu = await startEmulator({
        workspaces: { acme: ["api"] },
        tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
        dc: { projects: { PROJ: ["api"] } },
      });
      // Keys added as a server that took DSA once holds them (the emulator parses what it is given).
      emu.store.addDeployKey("acme", "api", ed25519().publicLine, "old-dsa").key = DSA.split(" ")
        .slice(0, 2)
        .join(" ");
      emu.store.dc.addAccessKey("PROJ", "api", ed25519().publicLine, "REPO_READ", "old-dsa").text = DSA;
    });
    afterEach(() => restore?.());
    after(async () => emu.close());

    const keyFindings = async (args: string[]) => {
      const r = await run(["audit", ...args, "--policy", "org.yaml", "--format", "json"], dir);
      const report = JSON.parse(r.out) as {
        findings: Array<{ object: string; rule: string; message: string }>;
      };
      return { code: r.code, found: report.findings.filter((f) => f.rule === "keys.keyTypes") };
    };

    it("finds a DSA deploy key on Bitbucket Cloud, named by its type and fingerprint", async () => {
      restore = useEmulator(emu);
      const { code, found } = await keyFindings(["--workspace", "acme"]);
      assert.equal(code, 3);
      assert.deepEqual(found, [
        {
          ...found[0],
          object:
            'deploy key ssh-dss SHA256:K7oLnNQXzFZS6MwPJcaVRonGl0oztzJdM74LZs/cn48 "old-dsa" on acme/api',
          message:
            "the key is ssh-dss, not one of ssh-ed25519, ssh-rsa; make a new key of an allowed type (ssh-keygen -t ed25519)",
        },
      ]);
    });

    it("finds a DSA access key on Data Center", async () => {
      restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
      const { code, found } = await keyFindings(["--project", "PROJ"]);
      assert.equal(code, 3);
      assert.deepEqual(
        found.map((f) => f.object),
        [
          'access key ssh-dss SHA256:K7oLnNQXzFZS6MwPJcaVRonGl0oztzJdM74LZs/cn48 "old-dsa" on PROJ/api (REPO_READ)',
        ],
      );
    });
  });
});
