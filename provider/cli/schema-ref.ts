// The `$schema` an exported manifest names, so editors read the schema offline: the copy installed
// in the project the file is written to (node_modules/bitbucket-iac, relative to the file), else
// the one this running CLI ships (an absolute path).

import * as fs from "fs";
import * as path from "path";
import { SCHEMA_FILE } from "../manifest/load";

/** Where the package keeps its schema (package.json "files" and "exports"). */
const IN_PACKAGE = path.join("node_modules", "bitbucket-iac", "schema", "manifest.schema.json");

/** The `$schema` of a manifest written to directory `dir`. */
export function schemaReference(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const installed = path.join(d, IN_PACKAGE);
    if (fs.existsSync(installed)) {
      const relative = path.relative(path.resolve(dir), installed).split(path.sep).join("/");
      return relative.startsWith("../") ? relative : `./${relative}`;
    }
    if (path.dirname(d) === d) return SCHEMA_FILE;
  }
}

/** The first line of an exported manifest: yaml-language-server's modeline naming the schema. */
export function schemaLine(dir: string): string {
  return `# yaml-language-server: $schema=${schemaReference(dir)}\n`;
}
