// Reading a file of bounded size, whatever it is: a regular file, a pipe (`<(cat file)`), a FIFO or
// a device. stat's size is 0 for pipes and devices (and /dev/zero never ends), so the limit is
// held against the bytes read: at most limit + 1 of them, in chunks, and the byte past the limit
// refuses the file. Synchronous, like its callers (the manifest loader, `plan --state`).

import * as fs from "fs";

/** Bytes asked of each read. */
const CHUNK_BYTES = 64 * 1024;

/** What readLimited throws for a file over its limit (branch on `code`: classes do not survive serialization). */
export interface TooLarge extends Error {
  code: "E_TOO_LARGE";
  /** The limit, in bytes. */
  limit: number;
  /** The size of a regular file; undefined for a pipe or device, known only to be over the limit. */
  size?: number;
}

export const isTooLarge = (e: unknown): e is TooLarge =>
  (e as { code?: unknown } | undefined)?.code === "E_TOO_LARGE";

/** Bytes as people read them: 4 MiB, 6.5 MiB. */
export const mib = (bytes: number): string => `${+(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The bytes of `file`, at most `limit` of them, read from the file itself whatever stat says.
 * Throws a TooLarge when there are more, and fs's own error (ENOENT, EISDIR, ...) when it cannot be
 * read. Opening a FIFO waits for its writer, as `cat` does.
 */
export function readLimited(file: string, limit: number): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit + 1 - total));
      const n = readSome(fd, chunk);
      if (n === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw tooLarge(file, fd, limit);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One read; a descriptor opened non-blocking (a shell's pipe) that has nothing yet is waited on. */
function readSome(fd: number, into: Buffer): number {
  for (;;) {
    try {
      return fs.readSync(fd, into, 0, into.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

function tooLarge(file: string, fd: number, limit: number): TooLarge {
  const st = fs.fstatSync(fd);
  const size = st.isFile() ? st.size : undefined;
  return Object.assign(
    new Error(
      `${file}: ${size !== undefined ? mib(size) : `more than ${mib(limit)}`}, over the limit of ${mib(limit)}`,
    ),
    { code: "E_TOO_LARGE" as const, limit, ...(size !== undefined && { size }) },
  );
}
