// A Markdown document's structure, as a CommonMark renderer (markdown-it) reads it: what the
// inert-output tests compare (render-inert, audit-inert, test/fuzz/policy-inert). Text from
// outside may change a document's words, never its shape.

import MarkdownIt from "markdown-it";
import type Token from "markdown-it/lib/token.mjs";

const md = new MarkdownIt("commonmark");

/** The document's shape: every block and inline token's type and nesting, none of their text. */
export function shape(markdown: string): string[] {
  const walk = (tokens: Token[], depth: number): string[] =>
    tokens
      .flatMap((t) => [`${"  ".repeat(depth)}${t.type}`, ...walk(t.children ?? [], depth + 1)])
      .filter((l) => !/\btext$|softbreak$/.test(l));
  return walk(md.parse(markdown, {}), 0);
}

/** Tokens that would let a value show something else: links, images, raw HTML. */
export const foreign = (markdown: string): string[] =>
  shape(markdown)
    .filter((l) => /link_open|image|html_inline|html_block/.test(l))
    .map((l) => l.trim());
