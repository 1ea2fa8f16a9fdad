// "Did you mean" suggestions: the closest known names to an unknown one. A leaf (no imports), so
// the resources, the presets and the manifest can all offer the same suggestion.

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Up to `n` known names closest to `name`: an abbreviation of the part before ":" with the same
 * rest (`repo:write` -> `repository:write`) first, then by edit distance or a shared prefix.
 */
export function closeMatches(name: string, known: readonly string[], n = 3): string[] {
  const lower = name.toLowerCase();
  const [head = "", ...rest] = lower.split(":");
  const limit = Math.max(2, Math.floor(name.length / 3));
  const score = (k: string) => {
    const [kh = "", ...kr] = k.split(":");
    if (head && kh !== head && kh.startsWith(head) && kr.join(":") === rest.join(":")) return 0;
    return editDistance(lower, k);
  };
  return known
    .map((k) => ({ k, d: score(k) }))
    .filter(({ k, d }) => d <= limit || k.startsWith(head + ":") || k.includes(lower))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, n)
    .map(({ k }) => k);
}

/** Text longer than this is no typo (and comparing it with every known name would cost seconds). */
const MAX_TYPO = 100;

/** closeMatches, but none for long text. */
export const suggestFor = (name: string, known: readonly string[], n = 3): string[] =>
  name.length > MAX_TYPO ? [] : closeMatches(name, known, n);

/**
 * `; did you mean "project"?` for an unknown key or option, or "" when no known name is close: one
 * wording for the manifest's keys and the presets' options.
 */
export function didYouMean(name: string, known: readonly string[]): string {
  const [close] = suggestFor(name, known, 1);
  return close === undefined ? "" : `; did you mean "${close}"?`;
}
