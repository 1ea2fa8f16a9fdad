#!/usr/bin/env node
// The command line: `bitbucket-iac validate [file]` checks a manifest without the network
// (schema, references, keys, duplicates among explicit repository lists) and prints every
// problem as file:line:column. Exit 0: valid (or help); 1: problems; 2: usage.
//
// Paths are relative to the directory the user ran the command from: npm sets INIT_CWD to it
// for `npm run validate -- file` and `npx`, whose own working directory may be the package's.

import * as fs from "fs";
import * as path from "path";
import { expand } from "../manifest/expand";
import { isManifestError, loadManifest, shownProblems } from "../manifest/load";

const HELP = `bitbucket-iac: Bitbucket integration setup as code (webhooks, keys, variables, OAuth consumers).

usage: bitbucket-iac <command> [options]

commands:
  validate [file]   check a manifest offline (default: bitbucket.yaml); exit 0 valid, 1 problems

options:
  -h, --help        show this help (also: bitbucket-iac validate --help)
  --version         print the version

Apply a manifest with \`pulumi up\` in a Pulumi project whose program calls deployManifest()
(this repository's Pulumi.yaml does). Docs: README.md in the package.`;

const VALIDATE_HELP = `usage: bitbucket-iac validate [file]

Checks a manifest without the network: YAML, the schema (schema/manifest.schema.json), references,
keys, and two entries managing one object among explicit repository lists. Selectors ({ project },
globs) are resolved by \`pulumi up\`. Prints every problem as file:line:column path: message.

  file         the manifest, relative to where you run the command (default: bitbucket.yaml)
  -h, --help   show this help

exit status: 0 valid, 1 problems, 2 usage`;

const isHelp = (a: string | undefined) => a === "-h" || a === "--help";

/** This package's version, from the package.json above this file (source or compiled). */
function version(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "bitbucket-iac") return pkg.version ?? "unknown";
  }
  return "unknown";
}

export function main(
  argv: string[],
  out: (s: string) => void = console.log,
  err: (s: string) => void = console.error,
  cwd: string = process.env.INIT_CWD ?? process.cwd(),
): number {
  const [command, ...args] = argv;
  if (command === undefined || isHelp(command)) {
    (command === undefined ? err : out)(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version") {
    out(version());
    return 0;
  }
  if (command !== "validate") {
    err(`bitbucket-iac: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (args.some(isHelp)) {
    out(VALIDATE_HELP);
    return 0;
  }
  const unknown = args.find((a) => a.startsWith("-"));
  if (unknown !== undefined || args.length > 1) {
    err(
      `bitbucket-iac validate: ${unknown ? `unknown option ${unknown}` : "give one file"}\n\n${VALIDATE_HELP}`,
    );
    return 2;
  }
  const file = args[0] ?? "bitbucket.yaml";
  try {
    const m = loadManifest(path.resolve(cwd, file), {
      relativeTo: cwd,
      missingHint: "give its path: bitbucket-iac validate path/to/bitbucket.yaml",
    });
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
