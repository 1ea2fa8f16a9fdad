// Process-wide state (the limiter, the OAuth token cache, the stack config, the axios
// instance). Each resource's provider is serialized with its own copies of module-level
// variables, so what must be shared lives on globalThis under a registered symbol.
// The symbol is made at call time: Pulumi's closure serializer cannot capture a symbol value.

export function processWide<T>(name: string, make: () => T): T {
  const g = globalThis as unknown as Record<symbol, T | undefined>;
  const key = Symbol.for(`bitbucket-iac.${name}`);
  return (g[key] ??= make());
}
