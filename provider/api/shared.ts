// Process-wide state and output (the limiter, the OAuth token cache, the stack config, the axios
// instance). Each resource's provider is serialized with its own copies of module-level
// variables, so what must be shared lives on globalThis under a registered symbol.
// The symbol is made at call time: Pulumi's closure serializer cannot capture a symbol value.

export function processWide<T>(name: string, make: () => T): T {
  const g = globalThis as unknown as Record<symbol, T | undefined>;
  const key = Symbol.for(`bitbucket-iac.${name}`);
  return (g[key] ??= make());
}

/**
 * Prints a notice of ours on stderr. The Pulumi CLI shows a dynamic-provider host's stderr in the
 * `pulumi up` output at default verbosity (other plugins' only with -v; DECISIONS.md).
 */
export function notice(message: string): void {
  console.error(`bitbucket-iac: ${message}`);
}
