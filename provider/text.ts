// How text from outside (a manifest, Bitbucket, a platform) is printed: every character that could
// end a line, forge an output line or a terminal escape, or hide text (control and format
// characters, lone surrogates, line and paragraph separators) shown as an escape instead.

/** Characters a message never prints as they are: control, format, lone surrogate, line separators. */
export const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu;

/** Text with every unprintable character escaped (`\n`, `\u001b`...). */
export const escapeUnprintable = (s: string): string =>
  s.replace(UNPRINTABLE, (c) =>
    c === "\n"
      ? "\\n"
      : c === "\r"
        ? "\\r"
        : c === "\t"
          ? "\\t"
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

/**
 * Text order that is the same on every machine: English collation, whatever the locale (LANG)
 * the process runs in, so a plan diffs cleanly between a laptop and CI.
 */
export const byText: (a: string, b: string) => number = new Intl.Collator("en").compare;
