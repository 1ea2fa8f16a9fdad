// `npm run emulator` on its own: listens on EMULATOR_PORT, and stops when its parent goes away
// (a closed terminal or a killed npm must not leave a server behind).

import * as assert from "node:assert/strict";
import axios from "axios";
import { spawn } from "child_process";
import * as net from "net";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

/** A port free on 127.0.0.1 now: the system picks it, and it is let go at once for the emulator to take. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** Whether something accepts connections on 127.0.0.1:port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });

describe("npm run emulator", function () {
  this.timeout(30_000);

  it("listens on EMULATOR_PORT and stops when its parent exits", async () => {
    const port = await freePort();
    // A parent shell that starts the emulator in the background, waits until it listens, then exits.
    const ts = path.join(ROOT, "node_modules/ts-node/dist/bin.js");
    const parent = spawn(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${ts}" --transpile-only test/emulator/main.ts & for i in $(seq 1 150); do sleep 0.1; (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && exit 0; done; exit 1`,
      ],
      { cwd: ROOT, env: { ...process.env, EMULATOR_PORT: String(port) }, stdio: "ignore" },
    );
    const code = await new Promise<number | null>((r) => parent.on("exit", r));
    assert.equal(code, 0, "the emulator listened on EMULATOR_PORT");
    let up = true;
    for (let i = 0; i < 50 && up; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = await listening(port);
    }
    assert.equal(up, false, "the orphaned emulator stopped within 5 s");
  });

  it("seeds the hostile workspace and project with EMULATOR_HOSTILE=1, and its banner says how to audit them", async () => {
    const ts = path.join(ROOT, "node_modules/ts-node/dist/bin.js");
    const child = spawn(process.execPath, [ts, "--transpile-only", "test/emulator/main.ts"], {
      cwd: ROOT,
      env: { ...process.env, EMULATOR_PORT: "0", EMULATOR_HOSTILE: "1" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      let banner = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner in 20 s: ${banner}`)), 20_000);
        child.stdout.on("data", (d: Buffer) => {
          banner += d.toString();
          if (/audit --project HOST/.test(banner)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      assert.match(
        banner,
        /Hostile objects for `bitbucket-iac audit` \(EMULATOR_HOSTILE=1\): workspace hostile/,
      );
      assert.match(banner, /node dist\/provider\/cli\/main\.js audit --workspace hostile/);
      const apiUrl = /export BITBUCKET_API_URL=(\S+)/.exec(banner)![1]!;
      const repos = await axios.get<{ values: Array<{ slug: string }> }>(`${apiUrl}/repositories/hostile`, {
        headers: { Authorization: "Bearer demo-token" },
      });
      assert.deepEqual(repos.data.values.map((r) => r.slug).sort(), ["api", "tools", "web"]);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
