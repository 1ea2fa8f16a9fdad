// The package as a user gets it: `npm pack` of this checkout's build (`npm test` builds first; a
// source newer than its build fails the test), installed into a separate Pulumi project with its
// own strict tsconfig (exactOptionalPropertyTypes, no skipLibCheck), type-checked, every resource
// declared under mocks, the captured (thin) providers driven through the real dynamic-provider
// host from that project against the emulator, and `npx bitbucket-iac` run there.
// Dependencies come from the npm cache that `npm ci` filled (--prefer-offline).

import * as assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startEmulator, type Emulator } from "./emulator/server";
import { ALL_SCOPES } from "./emulator/store";
import { Harness } from "./harness/engine";
import { FAST_RETRIES, TOKEN } from "./harness/fixture";
import { pinned, sourceCopy } from "./install/setup";
import { ed25519 } from "./keys";

const ROOT = path.resolve(__dirname, "..");

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import {
  DeployKey, Integration, OAuthConsumer, PipelineKnownHost, PipelineSshKeyPair, PipelineVariable,
  SshKey, Webhook, isManifestError, parseManifest, type WebhookArgs,
} from "bitbucket-iac";

const pub = process.env.PUBLIC_KEY ?? "";
const priv = process.env.PRIVATE_KEY ?? "";

async function main(): Promise<void> {
  const providers: Record<string, string> = {};
  await pulumi.runtime.setMocks(
    {
      newResource(a) {
        const type = a.type.split(":").pop() ?? a.type;
        if (typeof a.inputs.__provider === "string") providers[type] = a.inputs.__provider;
        return { id: a.name + "-id", state: a.inputs };
      },
      call: (a) => a.inputs,
    },
    "consumer",
    "dev",
    false,
  );
  const where = { workspace: "acme", repository: "api" };
  const hook: WebhookArgs = { ...where, url: "https://hooks.example.test/consumer", events: ["repo:push"] };
  const consumer = new OAuthConsumer("c", { workspace: "acme", name: "C", scopes: [], key: "k", secret: "s" });
  const resources: pulumi.Resource[] = [
    new Webhook("hook", hook),
    new DeployKey("dk", { ...where, key: pub }),
    new SshKey("sk", { key: pub, label: "consumer" }),
    new PipelineVariable("var", { ...where, key: "K", value: pulumi.secret("v") }),
    new PipelineSshKeyPair("pair", { ...where, privateKey: pulumi.secret(priv), publicKey: pub }),
    new PipelineKnownHost("host", { ...where, hostname: "deploy.example.test", publicKey: pub }),
    consumer,
    new Integration("gen", { preset: "generic", workspace: "acme", repositories: ["web"], options: {} }),
  ];
  await Promise.all(resources.map((r) => new Promise((ok) => r.urn.apply(ok))));
  try {
    parseManifest("version: 2", "x.yaml");
  } catch (e) {
    if (!isManifestError(e)) throw e;
  }
  process.stdout.write(JSON.stringify(providers));
}

void main();
`;

/** The README's install section: its program, as a user copies it. */
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const INSTALL = README.slice(README.indexOf("## Install in your own Pulumi project"));
const README_PROGRAM = /```typescript\n([\s\S]*?)```/.exec(INSTALL)![1]!;
const README_COMMANDS = /```sh\n([\s\S]*?)```/.exec(INSTALL)![1]!;
/** The README's library examples, type-checked here against the installed package. */
const LIBRARY_SNIPPETS = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Runs the README program under mocks and prints the names it declared. */
const RUN_README_PROGRAM = `import * as pulumi from "@pulumi/pulumi";
async function main(): Promise<void> {
  const names: string[] = [];
  await pulumi.runtime.setMocks(
    { newResource: (a) => (names.push(a.name), { id: a.name + "-id", state: a.inputs }), call: (a) => a.inputs },
    "consumer",
    "dev",
    false,
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require("./program") as () => Promise<Record<string, unknown>>;
  const outputs = await program();
  for (let i = 0; i < 100 && names.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  process.stdout.write(JSON.stringify({ names, outputs: Object.keys(outputs) }));
}
void main();
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "node16",
    moduleResolution: "node16",
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    types: ["node"],
    outDir: "out",
  },
  files: [
    "index.ts",
    "program.ts",
    "run-program.ts",
    ...LIBRARY_SNIPPETS.map((_, i) => `library-${i + 1}.ts`),
  ],
};

/**
 * The repository as a fresh clone has it (install/setup.ts sourceCopy), with this
 * checkout's build (dist/, from `npm run build`, the build prepack runs: `npm test` has just run it)
 * and its node_modules linked in, and prepack's other step done (.ci/pack-manifest.js strip).
 * `npm pack --ignore-scripts` packs it there, not in this checkout, whose package.json stays as it
 * is. The pack with its scripts, from a fresh clone's own build, is test/install/tarball.test.ts's.
 */
function builtCopy(): string {
  const stale = (
    fs.readdirSync(path.join(ROOT, "provider"), { recursive: true, encoding: "utf8" }) as string[]
  )
    .filter((f) => f.endsWith(".ts"))
    .filter((f) => {
      const out = path.join(ROOT, "dist", "provider", f.replace(/\.ts$/, ".js"));
      return (
        !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(path.join(ROOT, "provider", f)).mtimeMs
      );
    });
  assert.deepEqual(stale, [], "provider/ has sources newer than dist/provider: run `npm run build` first");
  const copy = sourceCopy();
  fs.cpSync(path.join(ROOT, "dist", "provider"), path.join(copy, "dist", "provider"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"), "junction");
  execFileSync(process.execPath, [".ci/pack-manifest.js", "strip"], { cwd: copy });
  return copy;
}

describe("the packed package in a consumer project", function () {
  this.timeout(300_000);
  let dir: string;
  let source: string;
  let emu: Emulator;
  let providers: Record<string, string>;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-consumer-"));
    source = builtCopy();
    const tarball = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], {
      cwd: source,
    })
      .toString()
      .trim()
      .split("\n")
      .pop()!;
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: "consumer", private: true, version: "0.0.0" }),
    );
    // The README's `npm install ./bitbucket-iac-<version>.tgz @pulumi/pulumi`, with the versions
    // this repository pins (so the npm cache serves them), plus TypeScript to type-check.
    assert.equal(README_COMMANDS.split("\n")[0], `npm install ./${tarball} @pulumi/pulumi`);
    execFileSync(
      "npm",
      [
        "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
        path.join(dir, tarball), pinned("@pulumi/pulumi"), pinned("typescript"), pinned("@types/node"),
      ], // prettier-ignore
      { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
    );
    fs.writeFileSync(path.join(dir, "program.ts"), README_PROGRAM);
    fs.writeFileSync(path.join(dir, "run-program.ts"), RUN_README_PROGRAM);
    // Each snippet is its own module (they declare the same names).
    LIBRARY_SNIPPETS.forEach((code, i) =>
      fs.writeFileSync(path.join(dir, `library-${i + 1}.ts`), `${code}\nexport {};\n`),
    );
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG));
    fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
  });
  after(async () => {
    await emu?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (source) fs.rmSync(source, { recursive: true, force: true });
  });

  it("ships the compiled code, its types, the schema and the docs; no tests, sources or tsconfig", () => {
    const pkg = path.join(dir, "node_modules", "bitbucket-iac");
    for (const f of ["dist/provider/index.js", "dist/provider/index.d.ts", "dist/provider/runtime.js", "schema/manifest.schema.json", "README.md"])
      assert.ok(fs.existsSync(path.join(pkg, f)), `${f} is shipped`); // prettier-ignore
    for (const f of ["test", "bench", "provider", "tsconfig.json", "dist/test", ".ci"])
      assert.ok(!fs.existsSync(path.join(pkg, f)), `${f} is not shipped`);
  });

  it("type-checks a strict consumer and the README's library examples (exactOptionalPropertyTypes, library types checked too)", () => {
    assert.equal(
      LIBRARY_SNIPPETS.length,
      README.match(/^```ts$/gm)?.length,
      "each ```ts fence is type-checked",
    );
    for (const code of LIBRARY_SNIPPETS)
      assert.match(code, /^import \{ \w+(, \w+)* \} from "bitbucket-iac";$/m);
    const tsc = spawnSync(process.execPath, [path.join(dir, "node_modules/typescript/bin/tsc"), "-p", dir], {
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it("declares every resource with a thin provider that loads the installed package", () => {
    const k = ed25519();
    const out = execFileSync(process.execPath, ["out/index.js"], {
      cwd: dir,
      env: { ...process.env, PUBLIC_KEY: k.publicLine, PRIVATE_KEY: k.privatePem },
    }).toString();
    providers = JSON.parse(out) as Record<string, string>;
    assert.deepEqual(Object.keys(providers).sort(), [
      "DeployKey", "OAuthConsumer", "PipelineKnownHost", "PipelineSshKeyPair", "PipelineVariable", "SshKey", "Webhook",
    ]); // prettier-ignore
    for (const [type, text] of Object.entries(providers)) {
      assert.ok(text.length <= 2048, `${type}: ${text.length} bytes`);
      assert.deepEqual(
        [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]),
        ["bitbucket-iac/runtime"],
      );
      assert.ok(
        !text.includes(ROOT) && !text.includes(source) && !text.includes(dir),
        `${type} holds no path`,
      );
    }
  });

  it("runs those providers in the real host from the consumer project against the emulator", async () => {
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    const h = await Harness.start(providers, {
      cwd: dir,
      config: { "bitbucket:apiUrl": emu.apiUrl, "bitbucket:token": TOKEN },
      env: FAST_RETRIES,
    });
    try {
      const k = ed25519();
      const where = { workspace: "acme", repository: "api" };
      const hook = await h.up("Webhook", {
        ...where,
        url: "https://hooks.example.test/c",
        events: ["repo:push"],
      });
      const key = await h.up("DeployKey", { ...where, key: k.publicLine, label: "ci" });
      const variable = await h.up("PipelineVariable", { ...where, key: "K", value: "v" });
      assert.equal(hook.outs.schemaVersion, 2);
      assert.equal(emu.store.allHooks().length, 1);
      const read = await h.read("Webhook", hook.id, hook.outs);
      assert.equal(read.props.uuid, hook.outs.uuid);
      await h.delete("Webhook", hook.id, hook.outs);
      await h.delete("DeployKey", key.id, key.outs);
      await h.delete("PipelineVariable", variable.id, variable.outs);
      assert.equal(emu.store.allHooks().length, 0);
      assert.equal(emu.store.workspaces.get("acme")!.repos.get("api")!.variables.length, 0);
    } finally {
      h.close();
    }
  });

  it("runs the README's program: the manifest's resources are declared", () => {
    fs.writeFileSync(
      path.join(dir, "bitbucket.yaml"),
      "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://ci.example.com/hook\n    events: [repo:push]\n",
    );
    const out = execFileSync(process.execPath, ["out/run-program.js"], { cwd: dir }).toString();
    assert.deepEqual(JSON.parse(out), {
      names: ["webhook/acme/api/ci.example.com/hook"],
      outputs: ["webhooks"],
    });
  });

  it("runs the README's `npx bitbucket-iac` commands there, without ts-node", () => {
    for (const line of README_COMMANDS.split("\n").filter((l) => l.startsWith("npx "))) {
      const [, ...args] = line.replace(/#.*$/, "").trim().split(/\s+/);
      const r = spawnSync("npx", ["--no-install", ...args], { cwd: dir, encoding: "utf8" });
      assert.equal(r.status, 0, `${line}: ${r.stderr}`);
    }
    assert.match(
      spawnSync("npx", ["--no-install", "bitbucket-iac", "--help"], { cwd: dir, encoding: "utf8" }).stdout,
      /^bitbucket-iac: /,
    );
  });

  it("runs `npx bitbucket-iac validate` there, without ts-node", () => {
    fs.writeFileSync(
      path.join(dir, "bitbucket.yaml"),
      "version: 1\nworkspace: acme\nwebhooks:\n  - repositories: [api]\n    url: https://ci.example.com/hook\n    events: [repo:push]\n",
    );
    const ok = spawnSync("npx", ["--no-install", "bitbucket-iac", "validate"], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^bitbucket.yaml: valid \(1 resource/);
    assert.ok(!fs.existsSync(path.join(dir, "node_modules", "ts-node")), "ts-node is not installed");
  });

  it("runs `npx bitbucket-iac plan` there against the emulator: read-only, exit 2 for a create", async () => {
    await emu?.close();
    emu = await startEmulator({ workspaces: { acme: ["api"] }, tokens: { [TOKEN]: { scopes: ALL_SCOPES } } });
    // Asynchronous: the emulator answering the command runs in this process.
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        "npx",
        ["--no-install", "bitbucket-iac", "plan", "--format", "json"],
        { cwd: dir, env: { ...process.env, BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN } },
        (e, stdout, stderr) => resolve({ code: e ? Number(e.code) : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 2, r.stderr);
    const plan = JSON.parse(r.stdout) as { summary: { create: number }; resources: Array<{ name: string }> };
    assert.equal(plan.summary.create, 1);
    assert.deepEqual(
      plan.resources.map((p) => p.name),
      ["webhook/acme/api/ci.example.com/hook"],
    );
    assert.deepEqual(emu.log(), ["GET /2.0/repositories/acme/api/hooks"]);
  });
});
