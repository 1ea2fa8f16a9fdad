// `npm run bench -- --audit`: what `bitbucket-iac audit` costs, against the emulator: a Cloud
// workspace and a Data Center project of N repositories (BENCH_AUDIT_SIZES, default 50,200), each
// repository holding 2 webhooks, a deploy (access) key and 2 pipeline variables (Data Center: a
// repository access token instead of the variables). Prints the requests, the requests per
// repository, and the wall time of the command run in-process (text report, default policy).
// Not a test: it asserts nothing.

import { main } from "../provider/cli/main";
import { startEmulator, type Emulator } from "../test/emulator/server";
import { ALL_SCOPES } from "../test/emulator/store";
import { TOKEN } from "../test/harness/fixture";
import { ed25519 } from "../test/keys";

const SIZES = (process.env.BENCH_AUDIT_SIZES ?? "50,200").split(",").map(Number);

async function auditOnce(args: string[]): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  const code = await main(
    ["audit", ...args],
    () => undefined,
    () => undefined,
    process.cwd(),
  );
  return { code, ms: Date.now() - started };
}

function line(flavor: string, n: number, emu: Emulator, r: { code: number; ms: number }): string {
  const requests = emu.log().length;
  return `${flavor.padEnd(12)} ${String(n).padStart(5)} ${String(requests).padStart(9)} ${(requests / n).toFixed(2).padStart(9)} ${String(r.ms).padStart(8)} ${(r.ms / n).toFixed(1).padStart(9)}   exit ${r.code}`;
}

export async function runAuditBench(): Promise<void> {
  console.log("audit of every repository (default policy), against the emulator on loopback\n");
  console.log("flavor       repos  requests  per repo  time ms  ms/repo");
  const key = ed25519("bench@example.test");
  for (const n of SIZES) {
    const repos = Array.from({ length: n }, (_, i) => `svc-${i}`);
    const emu = await startEmulator({
      workspaces: { acme: repos },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      dc: { projects: { SVC: repos } },
    });
    for (const [slug, repo] of emu.store.workspaces.get("acme")!.repos) {
      emu.store.addHook("acme", slug, { url: "https://ci.example.test/push", secret: "s" });
      emu.store.addHook("acme", slug, { url: "http://legacy.example.test/hook" });
      emu.store.addDeployKey("acme", slug, key.publicLine, "ci");
      repo.variables.push(
        { uuid: `{${slug}-1}`, key: "REGION", value: "eu-west-1", secured: false },
        { uuid: `{${slug}-2}`, key: "DEPLOY_TOKEN", value: "x", secured: true },
      );
    }
    for (const slug of repos) {
      emu.store.dc.addHook("SVC", slug, {
        url: "https://ci.example.test/push",
        configuration: { secret: "s" },
      });
      emu.store.dc.addHook("SVC", slug, { url: "http://legacy.example.test/hook" });
      emu.store.dc.addAccessKey("SVC", slug, key.publicLine, "REPO_READ", "ci");
      emu.store.dc.projects
        .get("SVC")!
        .repos.get(slug)!
        .tokens.push({
          id: emu.store.dc.newToken().id,
          name: "ci",
          permissions: ["REPO_READ"],
          createdDate: Date.now(),
          expiryDays: 30,
        });
    }
    Object.assign(process.env, {
      BITBUCKET_API_URL: emu.apiUrl,
      BITBUCKET_TOKEN: TOKEN,
      BITBUCKET_FLAVOR: "cloud",
    });
    emu.resetLog();
    console.log(line("Cloud", n, emu, await auditOnce(["--workspace", "acme"])));
    Object.assign(process.env, { BITBUCKET_API_URL: emu.dcUrl, BITBUCKET_FLAVOR: "datacenter" });
    emu.resetLog();
    console.log(line("Data Center", n, emu, await auditOnce(["--project", "SVC"])));
    await emu.close();
  }
}
