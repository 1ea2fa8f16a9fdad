// OpenSSH key handling shared by DeployKey, SshKey, PipelineSshKeyPair and PipelineKnownHost.
//
// A public key line is `<type> <base64 blob> [comment]`. The blob starts with the type again
// (an SSH "string": uint32 length + bytes, RFC 4253 §6.6), which is how a wrong prefix or a
// corrupt blob is caught without the network. Fingerprints are what `ssh-keygen -l` prints:
// `SHA256:` + unpadded base64 of the blob's SHA-256.
//
// Public keys are parsed here (exact messages, and the FIDO `sk-` types); private keys by sshpk.
// Nothing here ever puts key material into an error: a private key pasted by mistake must not
// end up in a log.

import * as crypto from "crypto";
import * as sshpk from "sshpk";

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
  /** The key's size as `ssh-keygen -l` prints it: an RSA modulus's bits, 256 for Ed25519, the curve's for ECDSA. */
  bits: number;
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
    bits: bitsOf(type, blob, inner.next),
  };
}

/**
 * A key's size from its blob (RFC 4253 §6.6): `ssh-rsa` is string type, mpint e, mpint n, and its
 * size is n's bit length; the others' size is their curve's.
 */
function bitsOf(type: string, blob: Buffer, at: number): number {
  if (type !== "ssh-rsa") return /nistp384/.test(type) ? 384 : /nistp521/.test(type) ? 521 : 256;
  const n = sshString(blob, sshString(blob, at)?.next ?? blob.length);
  if (!n) return 0;
  const bytes = n.value.subarray(n.value.findIndex((b) => b !== 0));
  return bytes.length === 0 ? 0 : (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
}

export const isKeyError = (k: PublicKey | { error: string }): k is { error: string } => "error" in k;

/**
 * A public key as people compare them: `ssh-ed25519 SHA256:...`; a key of a type this tool does not
 * take (ssh-dss) by its type and its blob's fingerprint too; the text itself when it is no key line.
 */
export function keyShown(text: string): string {
  const k = parsePublicKey(text);
  if (!isKeyError(k)) return `${k.type} ${k.fingerprint}`;
  const [type = "", b64 = ""] = text.trim().split(/\s+/);
  return /^[a-z][a-z0-9.@-]{0,63}$/i.test(type) && /^[A-Za-z0-9+/]+={0,2}$/.test(b64)
    ? `${type} ${fingerprintOf(Buffer.from(b64, "base64"))}`
    : text;
}

/**
 * The public key blob inside a private key (OpenSSH or PEM, via sshpk), to check a key pair
 * belongs together. `encrypted` is true for a passphrase-protected key. Undefined when the
 * text is not a private key we can read. sshpk's own messages are dropped: they may quote input.
 */
export function privateKeyInfo(text: string): { blob?: Buffer; encrypted: boolean } | undefined {
  if (!/PRIVATE KEY-----/.test(text)) return undefined;
  if (/ENCRYPTED/.test(text)) return { encrypted: true }; // PKCS#8 or legacy PEM with a passphrase
  try {
    const key = sshpk.parsePrivateKey(text, "auto");
    return { blob: key.toPublic().toBuffer("rfc4253"), encrypted: false };
  } catch (e) {
    return (e as { name?: string }).name === "KeyEncryptedError" ? { encrypted: true } : undefined;
  }
}
