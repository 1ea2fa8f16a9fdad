// Issue 19, case 8: the 4 MiB manifest cap was checked with stat, whose size is 0 for pipes and
// devices: 6 MiB through `<(cat file)` was accepted and `validate /dev/zero` reached 1.2 GB in
// 10 s. Manifests and `plan --state` files are now read through readLimited (read-limited.ts): at
// most limit + 1 bytes, whatever stat says. The built CLI runs as a child process (a FIFO's reader
// blocks its process while it waits for the writer), with a probe that reports its peak memory and
// CPU time, compared with a run on a small file so that a loaded machine does not fail the test.

import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MAX_STATE_BYTES } from "../../provider/cli/plan";
import { MAX_MANIFEST_BYTES } from "../../provider/manifest/load";
import { readLimited } from "../../provider/read-limited";
import { startEmulator, type Emulator } from "../emulator/server";
import { DEFAULT_SEED, FAST_RETRIES, TOKEN } from "../harness/fixture";

const ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "dist/provider/cli/main.js");

const MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
`;

/** A stack export whose only bitbucket-iac resource is a hook the manifest no longer declares. */
const STATE = JSON.stringify({
  version: 3,
  deployment: {
    resources: [
      {
        urn: "urn:pulumi:dev::bitbucket-iac::pulumi-nodejs:dynamic/bitbucket:Webhook::webhook/acme/web/old.example.test",
        type: "pulumi-nodejs:dynamic/bitbucket:Webhook",
        id: "id-of-old",
        custom: true,
      },
    ],
  },
});

interface Ran {
  code: number | null;
  out: string;
  err: string;
  /** Peak resident memory and CPU time (user + system) of the child, from the probe. */
  rssMiB: number;
  cpuMs: number;
}

describe("issue 19: manifests and --state files are read at most up to their limit, pipes and devices included", function () {
  this.timeout(120_000);
  let dir: string;
  let probe: string;
  let writer: ChildProcess | undefined;
  /** A run of `validate` on a small file: what starting the CLI costs on this machine now. */
  let baseline: Ran;

  /** Runs the built CLI in `dir`, killed after `timeoutMs`. */
  const cli = (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Ran> =>
    new Promise((resolve, reject) => {
      const { INIT_CWD: _, ...inherited } = process.env;
      const child = spawn(process.execPath, ["-r", probe, CLI, ...args], {
        cwd: dir,
        env: { ...inherited, ...FAST_RETRIES, ...env },
        timeout: timeoutMs,
        killSignal: "SIGKILL",
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-100_000)));
      child.on("error", reject);
      child.on("close", (code) => {
        const m = /^probe rss-kib=(\d+) cpu-us=(\d+)\n/m.exec(err);
        if (!m)
          return reject(
            new Error(`the CLI did not end by itself within ${timeoutMs} ms (code ${code}): ${err}`),
          );
        resolve({
          code,
          out,
          err: err.replace(m[0], ""),
          rssMiB: Number(m[1]) / 1024,
          cpuMs: Number(m[2]) / 1000,
        });
      });
    });

  /** A FIFO `name` in `dir` that a `cat` child fills with `content` once a reader opens it. */
  const fifo = (name: string, content: string | Buffer): string => {
    const source = path.join(dir, `${name}.source`);
    fs.writeFileSync(source, content);
    const f = path.join(dir, name);
    assert.equal(spawnSync("mkfifo", [f]).status, 0, "mkfifo");
    writer = spawn("sh", ["-c", 'exec cat "$1" > "$2"', "sh", source, f], { stdio: "ignore" });
    return name;
  };

  /** Asserts `r` cost about what starting the CLI costs: nothing near what reading without a limit would. */
  const bounded = (r: Ran, extraMiB: number) => {
    assert.ok(
      r.rssMiB <= baseline.rssMiB + extraMiB,
      `peak memory ${r.rssMiB.toFixed(0)} MiB, a small file's run ${baseline.rssMiB.toFixed(0)} MiB`,
    );
    assert.ok(
      r.cpuMs <= baseline.cpuMs + 2000,
      `CPU time ${r.cpuMs.toFixed(0)} ms, a small file's run ${baseline.cpuMs.toFixed(0)} ms`,
    );
  };

  before(async function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-19-limit-"));
    probe = path.join(dir, "probe.js");
    fs.writeFileSync(
      probe,
      `process.on("exit", () => { const u = process.resourceUsage(); process.stderr.write("probe rss-kib=" + u.maxRSS + " cpu-us=" + (u.userCPUTime + u.systemCPUTime) + "\\n"); });\n`,
    );
    fs.writeFileSync(path.join(dir, "small.yaml"), MANIFEST);
    baseline = await cli(["validate", "small.yaml"]);
    assert.equal(baseline.code, 0, baseline.err);
  });
  afterEach(() => {
    if (writer?.exitCode === null && writer.pid !== undefined) writer.kill("SIGKILL");
    writer = undefined;
    for (const f of fs.readdirSync(dir)) if (f.startsWith("pipe")) fs.rmSync(path.join(dir, f));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("readLimited", () => {
    it("reads a file of exactly the limit and refuses one byte more, saying its size and the limit", () => {
      const f = path.join(dir, "exact.bin");
      fs.writeFileSync(f, Buffer.alloc(100_000, "a"));
      assert.equal(readLimited(f, 100_000).length, 100_000);
      assert.throws(
        () => readLimited(f, 99_999),
        (e: Error & { code?: string; size?: number; limit?: number }) => {
          assert.deepEqual([e.code, e.size, e.limit], ["E_TOO_LARGE", 100_000, 99_999]);
          assert.equal(e.message, `${f}: 0.1 MiB, over the limit of 0.1 MiB`);
          return true;
        },
      );
      fs.rmSync(f);
    });

    it("cuts /dev/zero at the limit: refused, size unknown", () => {
      assert.throws(
        () => readLimited("/dev/zero", 1024 * 1024),
        (e: Error & { code?: string; size?: number }) => {
          assert.deepEqual([e.code, e.size], ["E_TOO_LARGE", undefined]);
          assert.equal(e.message, "/dev/zero: more than 1 MiB, over the limit of 1 MiB");
          return true;
        },
      );
    });
  });

  describe("validate", () => {
    it("refuses /dev/zero at the 4 MiB cap, at once and in bounded memory, exit 1", async () => {
      const t0 = Date.now();
      const r = await cli(["validate", "/dev/zero"], {}, 30_000);
      const took = Date.now() - t0;
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        /^\S*dev\/zero:1:1 \(file\): more than 4 MiB came from this pipe or device, and at most 4 MiB of a manifest is read: is this the right file\? A real manifest is a few KiB \(split a large one, or use selectors instead of listing every repository\)\n1 problem\n$/,
      );
      bounded(r, 32);
      assert.ok(took < 30_000, `${took} ms`);
    });

    it("refuses 6 MiB through a shell's pipe (`<(cat file)`), which stat says is empty", async () => {
      const big = path.join(dir, "pipe-big.yaml");
      fs.writeFileSync(big, "version: 1\n" + "# padding\n".repeat((6 * 1024 * 1024) / 10));
      const shell = spawnSync(
        "bash",
        ["-c", `exec "${process.execPath}" "${CLI}" validate <(cat "${big}")`],
        { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, INIT_CWD: dir } },
      );
      assert.equal(shell.status, 1, shell.stderr);
      assert.match(
        shell.stderr,
        /fd\/\d+:1:1 \(file\): more than 4 MiB came from this pipe or device, and at most 4 MiB of a manifest is read/,
      );
    });

    it("refuses a manifest over the cap through a named pipe and reads one under it", async () => {
      const over = await cli([
        "validate",
        fifo("pipe-over.yaml", "version: 1\n" + "#".repeat(MAX_MANIFEST_BYTES) + "\n"),
      ]);
      assert.equal(over.code, 1, over.err);
      assert.match(
        over.err,
        /^pipe-over\.yaml:1:1 \(file\): more than 4 MiB came from this pipe or device, and at most 4 MiB of a manifest is read/,
      );
      bounded(over, 32);

      const padded = MANIFEST + "#".repeat(MAX_MANIFEST_BYTES - MANIFEST.length - 1) + "\n"; // exactly the cap
      const under = await cli(["validate", fifo("pipe-under.yaml", padded)]);
      assert.deepEqual([under.code, under.err], [0, ""]);
      assert.match(under.out, /^pipe-under\.yaml: valid \(1 resource from explicit repository lists/);
    });
  });

  describe("plan --state", () => {
    let emu: Emulator;
    let env: Record<string, string>;
    beforeEach(async () => {
      emu = await startEmulator(DEFAULT_SEED);
      env = { BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN };
    });
    afterEach(() => emu.close());

    it("refuses --state /dev/zero at the cap in bounded memory, before any request, exit 1", async () => {
      const r = await cli(["plan", "small.yaml", "--state", "/dev/zero"], env, 30_000);
      assert.equal(r.code, 1, r.err);
      assert.equal(
        r.err,
        "bitbucket-iac plan: --state /dev/zero: more than 64 MiB came from this pipe or device, and plan reads at most 64 MiB of a stack export: is this the output of `pulumi stack export --file /dev/zero`? For a stack this large, plan without --state (it plans as for a new stack)\n",
      );
      bounded(r, 64 + 32); // the 64 MiB read
      assert.deepEqual(emu.log(), []);
    });

    it("refuses a --state over the cap through a named pipe and plans with one under it", async () => {
      const over = await cli(
        [
          "plan",
          "small.yaml",
          "--state",
          fifo("pipe-state-over.json", Buffer.alloc(MAX_STATE_BYTES + 1, " ")),
        ],
        env,
      );
      assert.equal(over.code, 1, over.err);
      assert.match(
        over.err,
        /^bitbucket-iac plan: --state pipe-state-over\.json: more than 64 MiB came from this pipe or device, and plan reads at most 64 MiB of a stack export: is this the output of `pulumi stack export --file pipe-state-over\.json`\?/,
      );
      assert.deepEqual(emu.log(), []);

      const under = await cli(["plan", "small.yaml", "--state", fifo("pipe-state-under.json", STATE)], env);
      assert.equal(under.code, 2, under.err);
      assert.match(under.out, /^- delete {3}Webhook id-of-old$/m, "the state read through the pipe");
      assert.match(under.out, /^\+ create {3}webhook https:\/\/hooks\.example\.test\/ci on acme\/api$/m);
    });
  });
});
