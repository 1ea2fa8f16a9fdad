// Fixtures kept between the tests of one file. Starting a dynamic-provider host costs a process
// and a second or more of loading the Pulumi SDK; most test files start one per test. A test's
// fixture, once closed, waits here for the next test that asks for the same kind and options:
// its emulator is reset to the new seed and its host starts a new run (Harness.newRun), which is
// how each `pulumi` command finds a host. test/hooks.ts ends what is left after each file.
// Kept apart from fixture.ts so the hooks, which every test file loads, load no Pulumi.

/** A fixture that can be put back: `end` stops it for good. */
export interface Pooled {
  end(): Promise<void>;
}

const idle = new Map<string, Pooled[]>();

/** An idle fixture kept under `key`, taken out of the pool; undefined when there is none. */
export function take<T extends Pooled>(key: string): T | undefined {
  return idle.get(key)?.pop() as T | undefined;
}

/** Keeps `fixture` for the next test that asks for `key`. */
export function keep(key: string, fixture: Pooled): void {
  idle.set(key, [...(idle.get(key) ?? []), fixture]);
}

/** Stops every idle fixture (after each test file). */
export async function endAll(): Promise<void> {
  const all = [...idle.values()].flat();
  idle.clear();
  await Promise.all(all.map((f) => f.end()));
}
