// The floors of provider/, bottom to top. A module imports at run time only from its own floor or
// below: the resources use the presets, never the other way round, and nothing below the manifest
// knows it exists. Type-only imports compile to nothing and are not counted.
//
// The import graph is read with the TypeScript parser from every provider/**/*.ts: each import,
// export-from, `import x = require()`, `require()` and `import()` whose module is relative.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "../..");

interface Layer {
  name: string;
  /** Repository paths: a file, or a folder ending in "/". */
  members: string[];
}

/** Bottom to top. Inside one layer imports are free (names.ts reads keys with ssh.ts). */
const LAYERS: Layer[] = [
  {
    name: "the leaves",
    members: [
      "provider/read-limited.ts",
      "provider/ssh.ts",
      "provider/scopes.ts",
      "provider/suggest.ts",
      "provider/text.ts",
      "provider/names.ts",
      "provider/glob.ts",
      "provider/pulumi.ts",
      "schema/",
    ],
  },
  { name: "provider/policy/", members: ["provider/policy/"] },
  { name: "provider/api/", members: ["provider/api/"] },
  { name: "provider/presets/", members: ["provider/presets/"] },
  { name: "provider/resources/", members: ["provider/resources/"] },
  { name: "provider/kinds/", members: ["provider/kinds/"] },
  { name: "provider/manifest/", members: ["provider/manifest/"] },
  {
    name: "the entry points",
    members: ["provider/cli/", "provider/program.ts", "provider/index.ts", "provider/runtime.ts"],
  },
];

interface Edge {
  /** Repository paths, "/"-separated. */
  from: string;
  to: string;
}

/** The relative modules `text` loads at run time, as written (`../presets`), in source order. */
function runtimeSpecifiers(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const everyTypeOnly = (elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>) =>
    elements.length > 0 && elements.every((e) => e.isTypeOnly);
  const visit = (node: ts.Node): void => {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            bindings !== undefined &&
            ts.isNamedImports(bindings) &&
            everyTypeOnly(bindings.elements)));
      if (!typeOnly) spec = node.moduleSpecifier;
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      const typeOnly =
        node.isTypeOnly ||
        (clause !== undefined && ts.isNamedExports(clause) && everyTypeOnly(clause.elements));
      if (!typeOnly) spec = node.moduleSpecifier;
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (!node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference))
        spec = node.moduleReference.expression;
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require"))
    ) {
      spec = node.arguments[0];
    }
    if (spec && ts.isStringLiteralLike(spec) && spec.text.startsWith(".")) found.push(spec.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The file a relative specifier names, as Node resolves it for the compiled code. */
function resolve(from: string, spec: string): string {
  const base = path.posix.join(path.posix.dirname(from), spec);
  const hit = [base, `${base}.ts`, `${base}/index.ts`].find((p) =>
    fs.statSync(path.join(ROOT, p), { throwIfNoEntry: false })?.isFile(),
  );
  if (hit === undefined) throw new Error(`${from}: cannot resolve "${spec}"`);
  return hit;
}

const isIn = (file: string, layer: Layer) =>
  layer.members.some((m) => (m.endsWith("/") ? file.startsWith(m) : file === m));

/** The index in LAYERS of the layer `file` belongs to, or undefined. */
function layerOf(file: string): number | undefined {
  const i = LAYERS.findIndex((l) => isIn(file, l));
  return i < 0 ? undefined : i;
}

/** One line per import that climbs: `file imports target: <layer> must not import <layer> (above it)`. */
function upwardImports(edges: Edge[]): string[] {
  return edges.flatMap(({ from, to }) => {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === undefined || b === undefined)
      return [`${from} imports ${to}: ${a === undefined ? from : to} is in no layer (add it to LAYERS)`];
    return b > a
      ? [`${from} imports ${to}: ${LAYERS[a]!.name} must not import ${LAYERS[b]!.name} (above it)`]
      : [];
  });
}

/** Every provider/**\/*.ts, as repository paths. */
const providerFiles = (): string[] =>
  fs
    .readdirSync(path.join(ROOT, "provider"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `provider/${f.split(path.sep).join("/")}`)
    .sort();

const importGraph = (): Edge[] =>
  providerFiles().flatMap((from) =>
    runtimeSpecifiers(from, fs.readFileSync(path.join(ROOT, from), "utf8")).map((spec) => ({
      from,
      to: resolve(from, spec),
    })),
  );

describe("the layers of provider/ (bottom to top: leaves, api, presets, resources, kinds, manifest, entry points)", () => {
  let graph: Edge[];
  before(() => {
    graph = importGraph();
  });

  it("has no module import one of a layer above its own at run time", () => {
    assert.deepEqual(upwardImports(graph), []);
  });

  it("places every module of provider/ in exactly one layer", () => {
    const misplaced = providerFiles().flatMap((f) => {
      const n = LAYERS.filter((l) => isIn(f, l)).length;
      return n === 1 ? [] : [`${f}: in ${n} layers (LAYERS in test/architecture/layers.test.ts)`];
    });
    assert.deepEqual(misplaced, []);
  });

  it("reads imports across layers from the real tree (the check above is not vacuous)", () => {
    const across = graph.filter(({ from, to }) => layerOf(from) !== layerOf(to));
    const pairs = new Set(across.map(({ from, to }) => `${layerOf(from)}>${layerOf(to)}`));
    assert.ok(pairs.size >= 5, `only ${pairs.size} pairs of layers import one another`);
  });

  it("counts value imports, side effects, re-exports and require(), and skips type-only ones and packages", () => {
    const text = [
      'import type { A } from "./type-import";',
      'import { type B } from "./type-specifiers";',
      'import { type C, D } from "./mixed";',
      'import "./side-effect";',
      'export type { E } from "./type-export";',
      'export { type F } from "./type-export-specifier";',
      'export * from "./star";',
      'export { G } from "./named";',
      'import * as H from "./namespace";',
      'import I from "./default";',
      'import J = require("./import-equals");',
      'import type K = require("./type-import-equals");',
      'const L = require("./require");',
      'const M = import("./dynamic");',
      'import * as pulumi from "@pulumi/pulumi";',
    ].join("\n");
    assert.deepEqual(runtimeSpecifiers("x.ts", text), [
      "./mixed",
      "./side-effect",
      "./star",
      "./named",
      "./namespace",
      "./default",
      "./import-equals",
      "./require",
      "./dynamic",
    ]);
  });

  it("names both layers of an upward import, and lets a layer import itself and the layers below", () => {
    assert.deepEqual(
      upwardImports([
        { from: "provider/resources/integration.ts", to: "provider/manifest/load.ts" },
        { from: "provider/presets/generic.ts", to: "provider/resources/webhook.ts" },
        { from: "provider/names.ts", to: "provider/api/client.ts" },
        { from: "provider/manifest/load.ts", to: "schema/manifest.schema.json" },
        { from: "provider/resources/integration.ts", to: "provider/presets/index.ts" },
        { from: "provider/names.ts", to: "provider/ssh.ts" },
        { from: "provider/cli/plan.ts", to: "provider/kinds/webhook.ts" },
        { from: "provider/api/client.ts", to: "test/emulator/server.ts" },
      ]),
      [
        "provider/resources/integration.ts imports provider/manifest/load.ts: provider/resources/ must not import provider/manifest/ (above it)",
        "provider/presets/generic.ts imports provider/resources/webhook.ts: provider/presets/ must not import provider/resources/ (above it)",
        "provider/names.ts imports provider/api/client.ts: the leaves must not import provider/api/ (above it)",
        "provider/api/client.ts imports test/emulator/server.ts: test/emulator/server.ts is in no layer (add it to LAYERS)",
      ],
    );
  });
});
