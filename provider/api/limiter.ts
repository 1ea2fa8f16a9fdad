// One concurrency limiter for every resource in the process. Pulumi runs resource
// operations in parallel, and each resource's provider is deserialized with its own
// copy of module-level variables, so the shared instance lives on globalThis (shared.ts;
// DESIGN.md "Pulumi specifics").
//
// When Bitbucket answers 429 the limiter pauses every caller, not just the one that was told to
// wait, and halves how many requests run at once (at least 1); each run of successes as long as
// twice the current limit raises it by one again, up to the configured maximum. Additive
// increase, multiplicative decrease: a burst that hit the limit is not repeated at full width.
// It also counts the pauses since the last success, so the backoff grows for the whole process,
// not per request (a request that arrives late does not probe the closed window at once).

import { processWide } from "./shared";

export interface Limiter {
  /** The configured maximum of concurrent requests. */
  readonly max: number;
  /** Runs `fn` when a slot is free and no pause is in force. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * A 429: holds back every new request for `ms` and lowers the concurrency, once per pause (the
   * other requests of the same burst answered 429 too). Returns whether this started a new pause.
   */
  rateLimited(ms: number): boolean;
  /** A request that was not rate limited: counts towards raising the concurrency again. */
  succeeded(): void;
  /** Requests running now, waiting, how many may run at once now, and the pauses since a success. */
  stats(): { active: number; queued: number; limit: number; pausesInARow: number };
}

export function createLimiter(max: number, now: () => number = Date.now): Limiter {
  let limit = max;
  let active = 0;
  let pausedUntil = 0;
  let streak = 0;
  let pausesInARow = 0;
  const queue: Array<() => void> = [];

  const wake = () => {
    for (let free = limit - active; free > 0 && queue.length > 0; free--) queue.shift()!();
  };
  const acquire = async (): Promise<void> => {
    while (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
  };

  return {
    max,
    async run<T>(fn: () => Promise<T>): Promise<T> {
      await acquire();
      try {
        const wait = pausedUntil - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        return await fn();
      } finally {
        active--;
        wake();
      }
    },
    rateLimited(ms: number) {
      streak = 0;
      const t = now();
      const started = pausedUntil <= t;
      if (started) {
        limit = Math.max(1, Math.floor(limit / 2));
        pausesInARow++;
      }
      pausedUntil = Math.max(pausedUntil, t + ms);
      return started;
    },
    succeeded() {
      pausesInARow = 0;
      if (limit >= max || ++streak < 2 * limit) return;
      streak = 0;
      limit++;
      wake();
    },
    stats: () => ({ active, queued: queue.length, limit, pausesInARow }),
  };
}

/** The process-wide limiter; created on first use with `max` concurrent requests. */
export function sharedLimiter(max: number): Limiter {
  const slot = processWide<{ limiter?: Limiter }>("limiter", () => ({}));
  if (slot.limiter?.max !== max) slot.limiter = createLimiter(max);
  return slot.limiter;
}
