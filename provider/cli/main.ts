#!/usr/bin/env node
// The command line: `bitbucket-iac validate [file]` checks a manifest without the network
// (schema, references, keys, duplicates among explicit repository lists) and prints every
// problem as file:line:column. Exit 0: valid; 1: problems; 2: usage.

import * as path from "path";
import { expand } from "../manifest/expand";
import { isManifestError, loadManifest, shownProblems } from "../manifest/load";

const USAGE = "usage: bitbucket-iac validate [bitbucket.yaml]";

export function main(
  argv: string[],
  out: (s: string) => void = console.log,
  err: (s: string) => void = console.error,
): number {
  const [command, file = "bitbucket.yaml", ...rest] = argv;
  if (command !== "validate" || rest.length) {
    err(USAGE);
    return 2;
  }
  try {
    const m = loadManifest(path.resolve(file));
    const specs = expand(m, () => undefined); // offline: selectors other than lists are not resolved
    out(
      `${file}: valid (${specs.length} resource${specs.length === 1 ? "" : "s"} from explicit repository lists; selectors are resolved by pulumi up)`,
    );
    return 0;
  } catch (e) {
    if (!isManifestError(e)) throw e;
    for (const line of shownProblems(e.problems)) err(line);
    err(`${e.problems.length} problem${e.problems.length === 1 ? "" : "s"}`);
    return 1;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
