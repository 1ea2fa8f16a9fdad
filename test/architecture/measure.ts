/**
 * How long each function is, as a reader meets it: every function-like node (declarations,
 * arrows, methods, constructors, accessors, function expressions) with its length in lines, from
 * the line it starts on to the line it ends on. A closure inside a function counts toward both:
 * the outer function is what a reader reads top-down.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

export type FunctionLength = {
  /** The file, as given: relative to the root it was read from. */
  file: string;
  /** 1-based line the function starts on. */
  line: number;
  /** `name`, `Class.method`, `Class.constructor`, or `<anonymous>` for an unnamed closure. */
  name: string;
  lines: number;
};

/** Every `.ts` file under `dir` (relative to `root`), sorted, as paths relative to `root`. */
export function tsFilesUnder(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const at = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFilesUnder(root, at));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(at);
  }
  return out.sort();
}

/**
 * The length of every function-like node in `files` (paths relative to `root`, reported as
 * given), longest first, then by file and line.
 */
export function functionLengths(files: readonly string[], root: string): FunctionLength[] {
  const out: FunctionLength[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && hasBody(node)) out.push(measure(file, source, node));
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
}

/** One line per function: `file:line name (N lines)`. */
export function describeLength(f: FunctionLength): string {
  return `${f.file}:${f.line} ${f.name} (${f.lines} lines)`;
}

/** Signatures in types and interfaces are function-like too, but a reader reads no body there. */
function hasBody(node: ts.SignatureDeclaration): boolean {
  return "body" in node && node.body !== undefined;
}

function measure(file: string, source: ts.SourceFile, node: ts.SignatureDeclaration): FunctionLength {
  const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
  const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
  return { file, line: start + 1, name: nameOf(node), lines: end - start + 1 };
}

/** The name a reader would search for: its own, its variable's or property's, prefixed by its class. */
function nameOf(node: ts.SignatureDeclaration): string {
  const own = ts.isConstructorDeclaration(node) ? "constructor" : textOf(node.name);
  const name = own ?? borrowedName(node.parent) ?? "<anonymous>";
  const owner = ts.isClassLike(node.parent) ? textOf(node.parent.name) : undefined;
  return owner ? `${owner}.${name}` : name;
}

/** `const f = () => ...`, `{ f: () => ... }`, `f = function () {...}` name the function they hold. */
function borrowedName(parent: ts.Node): string | undefined {
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return textOf(parent.name);
  }
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    return parent.left.getText();
  }
  return undefined;
}

function textOf(name: ts.Node | undefined): string | undefined {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  return name.getText();
}
