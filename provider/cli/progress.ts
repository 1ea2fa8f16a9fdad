// Progress of a long run (plan or export over many repositories), on stderr so stdout stays
// the result: on a terminal one line rewritten in place; elsewhere (CI logs, pipes) a plain line
// at every tenth of the way, and none for runs too short to need one.

export interface Progress {
  /** One more of `total` done. */
  tick(): void;
  /** Clears the terminal line (the result follows on stdout). */
  done(): void;
}

/** Fewer items than this print nothing where the output is not a terminal. */
const QUIET_BELOW = 20;

export function progress(
  label: string,
  total: number,
  stream: { isTTY?: boolean; write(s: string): unknown } = process.stderr,
): Progress {
  let n = 0;
  let shown = 0;
  const line = () => `${label}: ${n}/${total}`;
  return {
    tick() {
      n++;
      if (stream.isTTY) {
        stream.write(`\r${line()}`);
      } else if (total >= QUIET_BELOW && Math.floor((n * 10) / total) > shown) {
        shown = Math.floor((n * 10) / total);
        stream.write(`${line()}\n`);
      }
    },
    done() {
      if (stream.isTTY && n > 0) stream.write(`\r${" ".repeat(line().length)}\r`);
    },
  };
}
