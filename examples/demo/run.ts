// `npm run demo`: the whole loop on this machine, no Bitbucket account and no Pulumi CLI needed.
// 1. starts the emulator (test/emulator) on 127.0.0.1 and seeds workspace acme, with one deploy
//    key added "by hand";
// 2. runs `bitbucket-iac validate` and `bitbucket-iac plan --format markdown` on
//    examples/demo/bitbucket.yaml, as a user would (the built CLI, in a child process);
// 3. when a `pulumi` CLI is on PATH: `pulumi up` through the Automation API (this repository's
//    Pulumi.yaml, stack "demo", a file backend in a temporary directory), then `plan --state`
//    again, which shows no changes. Without the CLI it says how to get it and what it would run.

import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator } from "../../test/emulator/server";
import { ALL_SCOPES } from "../../test/emulator/store";

const ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "dist/provider/cli/main.js");
const MANIFEST = "examples/demo/bitbucket.yaml";
const TOKEN = "demo-token";
const HAND_MADE_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKn7zBXqjIef8nK69DTcdjvBhvLNxe/qnC6WK8RejJAo ci@demo";

/** Runs the CLI as a user would and prints the transcript; resolves its exit status. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  console.log(`\n$ bitbucket-iac ${args.join(" ")}`);
  return new Promise((resolve) => {
    // Asynchronous on purpose: the emulator answering it runs in this process.
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env, timeout: 120_000 },
      (error, stdout, stderr) => {
        process.stdout.write(stdout);
        process.stdout.write(stderr);
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        console.log(`(exit ${code})`);
        resolve(code);
      },
    );
  });
}

/** The `pulumi` executable on PATH, if any. */
function pulumiOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const file = path.join(dir, process.platform === "win32" ? "pulumi.exe" : "pulumi");
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function main(): Promise<number> {
  if (!fs.existsSync(CLI)) {
    console.error(`${CLI} is missing: run \`npm ci\` (it builds the package) or \`npm run build\` first`);
    return 1;
  }
  const emu = await startEmulator({
    workspaces: { acme: ["api", "web", "infra"] },
    tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
  });
  emu.store.addDeployKey("acme", "web", HAND_MADE_KEY, "added by hand");
  const env = { ...process.env, BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN };
  console.log(
    `Bitbucket Cloud emulator on ${emu.url}: workspace acme (api, web, infra); one deploy key on web added by hand`,
  );
  try {
    if ((await cli(["validate", MANIFEST], env)) !== 0) return 1;
    const planned = await cli(["plan", MANIFEST, "--format", "markdown", "--stats"], env);
    if (planned !== 2) return 1; // the demo's plan has changes
    const pulumi = pulumiOnPath();
    if (pulumi === undefined) {
      console.log(`
No \`pulumi\` CLI on PATH, so the demo stops here. With it (https://www.pulumi.com/docs/install/:
\`curl -fsSL https://get.pulumi.com | sh\`), \`npm run demo\` goes on to run, through the Automation API:
  pulumi login file://<temporary directory>       # a local backend, nothing leaves the machine
  pulumi stack init demo                           # this repository's Pulumi.yaml, passphrase "demo"
  pulumi config set manifest ${MANIFEST}
  pulumi up --yes                                  # BITBUCKET_API_URL/BITBUCKET_TOKEN point at the emulator
  pulumi stack export --file state.json
  bitbucket-iac plan ${MANIFEST} --state state.json   # no changes: exit 0`);
      return 0;
    }
    return await upAndPlanAgain(env);
  } finally {
    await emu.close();
  }
}

/** `pulumi up` on a file backend in a temporary directory, then `plan --state`: no changes. */
async function upAndPlanAgain(env: NodeJS.ProcessEnv): Promise<number> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  const backend = fs.mkdtempSync(path.join(os.tmpdir(), "bitbucket-iac-demo-"));
  const stackFile = path.join(ROOT, "Pulumi.demo.yaml");
  console.log(`\n$ pulumi up --yes   (Automation API: stack demo, backend file://${backend})`);
  try {
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "demo", workDir: ROOT },
      {
        envVars: {
          PULUMI_BACKEND_URL: `file://${backend}`,
          PULUMI_CONFIG_PASSPHRASE: "demo",
          BITBUCKET_API_URL: env.BITBUCKET_API_URL ?? "",
          BITBUCKET_TOKEN: env.BITBUCKET_TOKEN ?? "",
        },
      },
    );
    await stack.setConfig("manifest", { value: MANIFEST });
    const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
    console.log(`(pulumi up: ${up.summary.result})`);
    const state = path.join(backend, "state.json");
    fs.writeFileSync(state, JSON.stringify(await stack.exportStack()));
    return (await cli(["plan", MANIFEST, "--state", state], env)) === 0 ? 0 : 1;
  } finally {
    fs.rmSync(stackFile, { force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`demo failed: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
