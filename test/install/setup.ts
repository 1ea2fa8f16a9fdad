// What the install tests share: the README's install commands, a copy of the repository as a fresh
// clone has it, a new project to install into, and npm run as a user runs it (output kept).
// Dependencies come from the npm cache that `npm ci` filled (--prefer-offline: the registry is
// asked only for what the cache lacks, such as the package lists of a first run).

import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../hooks";

export const ROOT = path.resolve(__dirname, "../..");
export const VERSION = (
  JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }
).version;

const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version: string }>;
};
/** `name@version` as this repository pins it, so the npm cache serves it. */
export const pinned = (name: string) => `${name}@${lock.packages[`node_modules/${name}`]!.version}`;

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const start = README.indexOf("## Install in your own Pulumi project");
const INSTALL = README.slice(start, README.indexOf("\n## ", start + 1));
/** The README install section's `npm install` lines, in order. */
export const README_INSTALLS = [...INSTALL.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.split("\n"))
  .filter((l) => l.startsWith("npm install "))
  .map((l) => l.replace(/\s+#\s.*$/, "")); // without a trailing comment (`#<tag>` stays)

/**
 * The arguments of a README `npm install` line, with `@pulumi/pulumi` at the version this
 * repository pins (the cache has it), and flags that keep npm to the cache and quiet about audit.
 */
export function installArgs(line: string, replace: Record<string, string> = {}): string[] {
  let text = line;
  for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
  const [, ...args] = text.split(/\s+/);
  return [
    ...args.map((a) => (a === "@pulumi/pulumi" ? pinned("@pulumi/pulumi") : a)),
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
  ];
}

/** The repository as a fresh clone has it: no node_modules, build output or .git. */
export function sourceCopy(): string {
  const skip = new Set(["node_modules", "dist", "bin", ".git", ".stryker-tmp", "reports"]);
  const copy = tempDir("bbiac-source-");
  fs.cpSync(ROOT, copy, { recursive: true, filter: (from) => !skip.has(path.relative(ROOT, from)) });
  return copy;
}

/** A new, empty project. */
export function newProject(): string {
  const dir = tempDir("bbiac-project-");
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "consumer", private: true, version: "0.0.0" }),
  );
  fs.writeFileSync(
    path.join(dir, "bitbucket.yaml"),
    "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://ci.example.com/hook\n    events: [repo:push]\n",
  );
  return dir;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How long it took, in milliseconds. */
  ms: number;
}

/**
 * Runs a command as a user's shell in `cwd` would (without the INIT_CWD npm gives this process,
 * which the CLI would take as its working directory) and keeps what it printed; asynchronous, so an
 * emulator in this process can answer it. Killed after `timeoutMs`.
 */
export function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 300_000,
): Promise<Ran> {
  const began = Date.now();
  return new Promise((resolve) => {
    const { INIT_CWD: _, ...shell } = env;
    const child = spawn(command, args, { cwd, env: shell, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - began });
    });
  });
}

/** Every file of `dir` whose name matches, as paths relative to it. */
export function filesNamed(dir: string, name: RegExp): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => name.test(path.basename(f)))
    .map((f) => f.split(path.sep).join("/"))
    .sort();
}

/** Runs the project's installed `bitbucket-iac` (node_modules/.bin, what `npx` finds without npm's start-up). */
export const cli = (project: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> =>
  run(path.join(project, "node_modules", ".bin", "bitbucket-iac"), args, project, env);

/** Removes directories now, without blocking (a project's node_modules is thousands of files). */
export const remove = (...dirs: string[]) =>
  Promise.all(dirs.map((d) => fs.promises.rm(d, { recursive: true, force: true })));

/** The lines of npm's output that name this package. */
export const linesNaming = (text: string) => text.split("\n").filter((l) => l.includes("bitbucket-iac"));
