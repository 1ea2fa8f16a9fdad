import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parsePublicKey, privateKeyInfo, fingerprintOf, isKeyError } from "../provider/ssh";
import { ed25519, rsa } from "./keys";

const hasSshKeygen = (() => {
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
    return true;
  } catch (e) {
    return (e as { status?: number }).status !== undefined && (e as { code?: string }).code !== "ENOENT";
  }
})();

describe("SSH keys", () => {
  it("splits type, base64 and comment, and normalizes whitespace", () => {
    const k = ed25519("me@laptop");
    const parsed = parsePublicKey(`  ${k.normalized.replace(" ", "   ")}   me@laptop  \n`);
    assert.ok(!isKeyError(parsed));
    assert.equal(parsed.normalized, k.normalized);
    assert.equal(parsed.comment, "me@laptop");
    assert.match(parsed.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("prints the fingerprint ssh-keygen -l prints", function () {
    if (!hasSshKeygen) {
      console.log("    SKIPPED: ssh-keygen is not installed; fingerprints not cross-checked");
      return this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-key-"));
    try {
      for (const k of [ed25519(), rsa()]) {
        fs.writeFileSync(path.join(dir, "k.pub"), k.publicLine + "\n");
        const out = execFileSync("ssh-keygen", ["-l", "-f", path.join(dir, "k.pub")]).toString();
        const parsed = parsePublicKey(k.publicLine);
        assert.ok(!isKeyError(parsed));
        assert.equal(out.split(" ")[1], parsed.fingerprint);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a wrong type prefix, bad base64 and a blob of another type", () => {
    const k = ed25519();
    const b64 = k.normalized.split(" ")[1]!;
    assert.deepEqual(parsePublicKey(`ssh-foo ${b64}`), {
      error: 'must start with a key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...), not "ssh-foo"',
    });
    assert.deepEqual(parsePublicKey(`ssh-ed25519 ${b64.slice(0, -3)}`), {
      error: "has a ssh-ed25519 key whose base64 part is malformed (truncated or wrapped?)",
    });
    assert.deepEqual(parsePublicKey(`ssh-rsa ${b64}`), {
      error: "says ssh-rsa but its base64 part is not a ssh-rsa key (damaged, or the wrong prefix)",
    });
    assert.deepEqual(parsePublicKey(""), {
      error: "is required: an OpenSSH public key such as the contents of id_ed25519.pub",
    });
  });

  it("recognizes a private key pasted by mistake and never echoes it", () => {
    const k = ed25519();
    for (const text of [k.privatePem, k.privateOpenssh!, rsa().privatePem]) {
      const r = parsePublicKey(text);
      assert.ok(isKeyError(r));
      assert.match(r.error, /^holds a PRIVATE key: paste the public key instead/);
      const body = text.split("\n")[1]!;
      assert.ok(!r.error.includes(body.slice(0, 20)));
    }
  });

  it("finds the public key inside OpenSSH and PEM private keys", () => {
    const e = ed25519();
    const r = rsa();
    const fp = (line: string) => (parsePublicKey(line) as { fingerprint: string }).fingerprint;
    assert.equal(fingerprintOf(privateKeyInfo(e.privateOpenssh!)!.blob!), fp(e.publicLine));
    assert.equal(fingerprintOf(privateKeyInfo(e.privatePem)!.blob!), fp(e.publicLine));
    assert.equal(fingerprintOf(privateKeyInfo(r.privatePem)!.blob!), fp(r.publicLine));
    assert.equal(privateKeyInfo(e.privateOpenssh!)!.encrypted, false);
    assert.equal(privateKeyInfo("not a key"), undefined);
  });
});
