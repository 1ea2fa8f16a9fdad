// Real keys for tests. SSH keys, made with node:crypto so no ssh-keygen is needed: an OpenSSH public
// line, the private key as PKCS#8 PEM, and (Ed25519) the same private key in OpenSSH format.

import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const str = (b: Buffer | string) => {
  const buf = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
};
const mpint = (b: Buffer) => ((b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);

export interface TestKey {
  /** `type base64 comment` */
  publicLine: string;
  /** `type base64` */
  normalized: string;
  privatePem: string;
  /** OpenSSH-format private key (Ed25519 only). */
  privateOpenssh?: string;
}

export function ed25519(comment = "test@example.test"): TestKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const pub = Buffer.from(jwk.x ?? "", "base64url");
  const seed = Buffer.from(jwk.d ?? "", "base64url");
  const blob = Buffer.concat([str("ssh-ed25519"), str(pub)]);
  const normalized = `ssh-ed25519 ${blob.toString("base64")}`;
  void publicKey;
  // openssh-key-v1, unencrypted (PROTOCOL.key in OpenSSH's sources).
  const check = crypto.randomBytes(4);
  let priv = Buffer.concat([
    check,
    check,
    str("ssh-ed25519"),
    str(pub),
    str(Buffer.concat([seed, pub])),
    str(comment),
  ]);
  for (let i = 1; priv.length % 8 !== 0; i++) priv = Buffer.concat([priv, Buffer.from([i])]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    str("none"),
    str("none"),
    str(""),
    Buffer.from([0, 0, 0, 1]),
    str(blob),
    str(priv),
  ]);
  const b64 = body.toString("base64").replace(/(.{70})/g, "$1\n");
  return {
    publicLine: `${normalized} ${comment}`,
    normalized,
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    privateOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
  };
}

/** The same Ed25519 key protected by a passphrase, in OpenSSH format (bcrypt KDF, aes256-ctr), as `ssh-keygen -p` writes it. */
export function encryptedOpenssh(k: TestKey): string {
  const blob = Buffer.from(k.normalized.split(" ")[1]!, "base64");
  const kdfOptions = Buffer.concat([str(crypto.randomBytes(16)), Buffer.from([0, 0, 0, 16])]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"), str("aes256-ctr"), str("bcrypt"), str(kdfOptions),
    Buffer.from([0, 0, 0, 1]), str(blob), str(crypto.randomBytes(160)),
  ]); // prettier-ignore
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString("base64").replace(/(.{70})/g, "$1\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** An RSA key of `bits` bits (default 2048; 1024 for a key a policy's minRsaBits refuses). */
export function rsa(comment = "rsa@example.test", bits = 2048): TestKey {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: bits });
  const jwk = privateKey.export({ format: "jwk" });
  const blob = Buffer.concat([
    str("ssh-rsa"),
    str(mpint(Buffer.from(jwk.e ?? "", "base64url"))),
    str(mpint(Buffer.from(jwk.n ?? "", "base64url"))),
  ]);
  const normalized = `ssh-rsa ${blob.toString("base64")}`;
  return {
    publicLine: `${normalized} ${comment}`,
    normalized,
    privatePem: privateKey.export({ format: "pem", type: "pkcs1" }).toString(),
  };
}

/** An ECDSA key on NIST P-256 (`ecdsa-sha2-nistp256`): a type a policy's keyTypes may leave out. */
export function ecdsa(comment = "ecdsa@example.test"): TestKey {
  const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  // RFC 5656 §3.1: string type, string curve, string Q (the uncompressed point 0x04 || x || y).
  const q = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? "", "base64url"),
    Buffer.from(jwk.y ?? "", "base64url"),
  ]);
  const blob = Buffer.concat([str("ecdsa-sha2-nistp256"), str("nistp256"), str(q)]);
  const normalized = `ecdsa-sha2-nistp256 ${blob.toString("base64")}`;
  return {
    publicLine: `${normalized} ${comment}`,
    normalized,
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

/** A self-signed certificate for 127.0.0.1, made now by openssl (nothing secret is committed). */
export function selfSigned(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-tls-"));
  try {
    const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ]),
      { stdio: "ignore", timeout: 20_000 },
    );
    return { key: fs.readFileSync(key, "utf8"), cert: fs.readFileSync(cert, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
