// `npm run bench -- --plan`: what `bitbucket-iac plan` costs on a large stack, against the
// emulator: the scale manifest (4 resources per repository, declared through `svc-*` globs) at
// 50 and 200 repositories (BENCH_PLAN_SIZES), planned twice: on an empty workspace (everything to
// create) and with every object already there (everything adopted as it is). Prints requests,
// requests per repository, the most times one collection was read, and the wall time of the
// command run in-process. Not a test: it asserts nothing.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../provider/cli/main";
import { startEmulator } from "../test/emulator/server";
import { SCALE_MANIFEST, scaleSeed, TOKEN } from "../test/harness/fixture";

const SIZES = (process.env.BENCH_PLAN_SIZES ?? "50,200").split(",").map(Number);

async function planOnce(dir: string): Promise<{ code: number; stats: string; ms: number }> {
  const err: string[] = [];
  const started = Date.now();
  const code = await main(
    ["plan", "--stats", "--format", "json"],
    () => undefined,
    (s) => err.push(s),
    dir,
  );
  return {
    code,
    stats: err.filter((l) => /stats|collections|resources \(/.test(l)).join(" | "),
    ms: Date.now() - started,
  };
}

export async function runPlanBench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bbiac-plan-bench-"));
  fs.writeFileSync(path.join(dir, "bitbucket.yaml"), SCALE_MANIFEST);
  console.log("plan on the scale manifest (4 resources per repository)\n");
  for (const n of SIZES) {
    const emu = await startEmulator(scaleSeed(n));
    Object.assign(process.env, { BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN });
    const empty = await planOnce(dir);
    const creates = emu.log().length;
    // Every object made as declared, so the second plan adopts them all as they are.
    for (const [slug, repo] of emu.store.workspaces.get("acme")!.repos) {
      emu.store.addHook("acme", slug, { url: "https://ci.example.test/push", events: ["repo:push"] });
      emu.store.addHook("acme", slug, { url: "https://ci.example.test/pr", events: ["pullrequest:created"] });
      for (const [key, value] of [
        ["REGION", "eu-west-1"],
        ["STAGE", "prod"],
      ] as const)
        repo.variables.push({ uuid: `{${slug}-${key}}`, key, value, secured: false });
    }
    emu.resetLog();
    const existing = await planOnce(dir);
    const reads = emu.log().length;
    console.log(`N=${n} repositories, ${n * 4} resources`);
    console.log(
      `  empty workspace (exit ${empty.code}): ${creates} requests, ${(creates / n).toFixed(2)} per repository, ${empty.ms} ms`,
    );
    console.log(`    ${empty.stats}`);
    console.log(
      `  everything there (exit ${existing.code}): ${reads} requests, ${(reads / n).toFixed(2)} per repository, ${existing.ms} ms`,
    );
    console.log(`    ${existing.stats}\n`);
    await emu.close();
  }
}
