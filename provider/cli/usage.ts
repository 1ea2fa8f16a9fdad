// Usage errors: a command line that cannot run as given, found before any request. Every command
// exits EX_USAGE (64, sysexits.h) on one, so it never reads as plan's 2 (changes) or 3 (an up
// would stop), nor as 1 (the run failed; validate: problems). DECISIONS.md "Usage errors exit 64".

/** The exit status of a usage error: sysexits.h EX_USAGE. */
export const EX_USAGE = 64;

const USAGE = "BITBUCKET_IAC_USAGE";

export interface UsageError extends Error {
  code: typeof USAGE;
  /** Whether the command's help follows the message (not when the message says all there is to do). */
  withHelp: boolean;
}

/**
 * A mistake in the command line: an unknown command or option, an option's missing or wrong value,
 * options that do not go together, or what an option needs from the environment (the pull request
 * of --comment, the commit of --report).
 */
export const usage = (message: string, o: { withHelp?: boolean } = {}): UsageError =>
  Object.assign(new Error(message), { code: USAGE, withHelp: o.withHelp ?? true } as const);

export const isUsageError = (e: unknown): e is UsageError => (e as { code?: unknown } | null)?.code === USAGE;
