// Whether a process still runs: the harness tests that check a host ended (host-orphan, pool-reuse).

/** True while `pid` runs (or is not yet reaped by its parent). */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
