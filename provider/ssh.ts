// OpenSSH key handling shared by DeployKey, SshKey, PipelineSshKeyPair and PipelineKnownHost.
//
// A public key line is `<type> <base64 blob> [comment]`. The blob starts with the type again
// (an SSH "string": uint32 length + bytes, RFC 4253 §6.6), which is how a wrong prefix or a
// corrupt blob is caught without the network. Fingerprints are what `ssh-keygen -l` prints:
// `SHA256:` + unpadded base64 of the blob's SHA-256.
//
// Nothing here ever puts key material into an error: a private key pasted by mistake must not
// end up in a log.

import * as crypto from "crypto";

export const KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

export interface PublicKey {
  type: string;
  base64: string;
  /** Text after the blob, "" if none. */
  comment: string;
  /** `type base64`: what Bitbucket stores and what we compare. */
  normalized: string;
  /** `SHA256:...` as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** Whether the text looks like private key material (PEM or OpenSSH). */
export function looksPrivate(text: string): boolean {
  return /PRIVATE KEY/.test(text);
}

/** Reads an SSH "string" (uint32 big-endian length + bytes) at `at`. */
function sshString(buf: Buffer, at: number): { value: Buffer; next: number } | undefined {
  if (at + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > buf.length) return undefined;
  return { value: buf.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Parses a public key line. Returns the key, or a reason (never containing the input) for
 * the error message of the field that held it.
 */
export function parsePublicKey(text: unknown): PublicKey | { error: string } {
  if (typeof text !== "string" || text.trim() === "") {
    return { error: "is required: an OpenSSH public key such as the contents of id_ed25519.pub" };
  }
  if (looksPrivate(text)) {
    return {
      error:
        "holds a PRIVATE key: paste the public key instead (the .pub file, one line starting with ssh-ed25519 or ssh-rsa); treat the private key as leaked if it was committed",
    };
  }
  const parts = text.trim().split(/\s+/);
  const [type = "", b64 = ""] = parts;
  if (!KEY_TYPES.includes(type)) {
    return {
      error: `must start with a key type (${KEY_TYPES.slice(0, 3).join(", ")}, ...), not "${type.slice(0, 24)}"`,
    };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    return { error: `has a ${type} key whose base64 part is malformed (truncated or wrapped?)` };
  }
  const blob = Buffer.from(b64, "base64");
  const inner = sshString(blob, 0);
  if (!inner || inner.value.toString("latin1") !== type) {
    return { error: `says ${type} but its base64 part is not a ${type} key (damaged, or the wrong prefix)` };
  }
  return {
    type,
    base64: b64,
    comment: parts.slice(2).join(" "),
    normalized: `${type} ${b64}`,
    fingerprint: fingerprintOf(blob),
  };
}

export const isKeyError = (k: PublicKey | { error: string }): k is { error: string } => "error" in k;

/** SSH wire-format encoding of a string or mpint, for building public key blobs. */
function sshEncode(...fields: Buffer[]): Buffer {
  return Buffer.concat(
    fields.flatMap((f) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(f.length);
      return [len, f];
    }),
  );
}

/** A positive big-endian integer as an SSH mpint (leading zero when the high bit is set). */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/**
 * The public key blob inside a private key, to check a key pair belongs together.
 * OpenSSH format (`BEGIN OPENSSH PRIVATE KEY`) carries it in clear; PEM RSA/Ed25519/ECDSA
 * keys are derived with node:crypto. `encrypted` is true for a passphrase-protected key.
 * Undefined when the text is not a private key we can read.
 */
export function privateKeyInfo(pem: string): { blob?: Buffer; encrypted: boolean } | undefined {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (openssh) {
    const buf = Buffer.from((openssh[1] ?? "").replace(/\s+/g, ""), "base64");
    const magic = "openssh-key-v1\0";
    if (buf.subarray(0, magic.length).toString("latin1") !== magic) return undefined;
    const cipher = sshString(buf, magic.length);
    const kdf = cipher && sshString(buf, cipher.next);
    const kdfOpts = kdf && sshString(buf, kdf.next);
    if (!kdfOpts || kdfOpts.next + 4 > buf.length) return undefined;
    const pub = sshString(buf, kdfOpts.next + 4);
    return { blob: pub?.value, encrypted: cipher.value.toString() !== "none" };
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return undefined;
  if (/ENCRYPTED/.test(pem)) return { encrypted: true };
  try {
    const jwk = crypto.createPublicKey(crypto.createPrivateKey(pem)).export({ format: "jwk" });
    const b = (s?: string) => Buffer.from(s ?? "", "base64url");
    if (jwk.kty === "RSA")
      return { blob: sshEncode(Buffer.from("ssh-rsa"), mpint(b(jwk.e)), mpint(b(jwk.n))), encrypted: false };
    if (jwk.kty === "OKP" && jwk.crv === "Ed25519")
      return { blob: sshEncode(Buffer.from("ssh-ed25519"), b(jwk.x)), encrypted: false };
    if (jwk.kty === "EC") {
      const curve = { "P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521" }[jwk.crv ?? ""];
      if (!curve) return { encrypted: false };
      const point = Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]);
      return {
        blob: sshEncode(Buffer.from(`ecdsa-sha2-${curve}`), Buffer.from(curve), point),
        encrypted: false,
      };
    }
    return { encrypted: false };
  } catch {
    return undefined;
  }
}
