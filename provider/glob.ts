// Repository globs: `svc-*`, `acme/svc-?`, on Data Center the `svc-*` of `PROJ/svc-*`.
//
// `*` is any run of characters and `?` any one character, neither crossing a `/`; every other
// character is itself, and case counts. Matched without a regular expression: a glob compiled to
// one (`*` to `[^/]*`) backtracks on patterns such as `*a*a*a...*b` in steps that grow as the
// slug's length to the power of the number of `*`, and a pull request's manifest stalled `plan`. Here each `/`-separated part is matched by the two-pointer
// wildcard algorithm, which goes back only to the last `*`: at most pattern length x text length
// steps. The caps keep a glob small enough to read, whatever it is matched against.

/** How large a glob may be: the loader and expand refuse a larger one. */
export const GLOB_LIMITS = { maxLength: 200, maxWildcards: 20 } as const;

/**
 * What is wrong with a glob's size, and what to do; undefined when it is within the caps. `things`:
 * what the glob stands for, to list instead (a policy's hosts or keys).
 */
export function globProblem(glob: string, things = "repositories"): string | undefined {
  if (glob.length > GLOB_LIMITS.maxLength)
    return `the glob is ${glob.length} characters long; at most ${GLOB_LIMITS.maxLength} are allowed: list the ${things}, or shorten the pattern`;
  const wildcards = glob.length - glob.replace(/[*?]/g, "").length;
  if (wildcards > GLOB_LIMITS.maxWildcards)
    return `the glob has ${wildcards} wildcards (* and ?); at most ${GLOB_LIMITS.maxWildcards} are allowed: list the ${things}, or use fewer wildcards`;
  return undefined;
}

/** Whether `text` (a slug, or `workspace/slug`) matches `glob`. */
export function matchesGlob(glob: string, text: string): boolean {
  return globMatcher(glob)(text);
}

/**
 * `glob` made ready to match many texts (a workspace's repositories): split once, and a glob
 * without wildcards is a plain comparison.
 */
export function globMatcher(glob: string): (text: string) => boolean {
  if (!/[*?]/.test(glob)) return (text) => text === glob;
  // Wildcards never match `/`: the parts between slashes match pairwise, or not at all.
  const globParts = glob.split("/");
  if (globParts.length === 1) return (text) => !text.includes("/") && matchesPart(glob, text);
  return (text) => {
    const textParts = text.split("/");
    return (
      globParts.length === textParts.length && globParts.every((g, i) => matchesPart(g, textParts[i] ?? ""))
    );
  };
}

/** One part (no `/`): advance both while they agree; on a mismatch retry from the last `*`, one character further. */
function matchesPart(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1; // the last `*` seen in glob
  let resume = 0; // where in text that `*` now ends
  while (t < text.length) {
    if (glob[g] === "*") {
      star = g++;
      resume = t;
    } else if (g < glob.length && (glob[g] === "?" || glob[g] === text[t])) {
      g++;
      t++;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}
