// One concurrency limiter for every resource in the process. Pulumi runs resource
// operations in parallel, and each resource's provider is deserialized with its own
// copy of module-level variables, so the shared instance lives on globalThis (shared.ts;
// DESIGN.md "Pulumi specifics"). When Bitbucket answers 429 the
// limiter pauses every caller, not just the one that was told to wait.

import { processWide } from "./shared";

export interface Limiter {
  readonly max: number;
  /** Runs `fn` when a slot is free and no pause is in force. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Holds back every new request for `ms` (from a 429's Retry-After). */
  pause(ms: number): void;
  /** Requests running now, and waiting. */
  stats(): { active: number; queued: number };
}

export function createLimiter(max: number, now: () => number = Date.now): Limiter {
  let active = 0;
  let pausedUntil = 0;
  const queue: Array<() => void> = [];

  const release = () => {
    active--;
    queue.shift()?.();
  };
  const acquire = async (): Promise<void> => {
    if (active >= max) await new Promise<void>((resolve) => queue.push(resolve));
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
        release();
      }
    },
    pause(ms: number) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
    stats: () => ({ active, queued: queue.length }),
  };
}

/** The process-wide limiter; created on first use with `max` concurrent requests. */
export function sharedLimiter(max: number): Limiter {
  const slot = processWide<{ limiter?: Limiter }>("limiter", () => ({}));
  if (slot.limiter?.max !== max) slot.limiter = createLimiter(max);
  return slot.limiter;
}
