import { deployManifest } from "./provider/manifest/deploy";
import { parseManifest } from "./provider/manifest/load";
import { startEmulator } from "./test/emulator/server";
import { Engine } from "./test/harness/deploy";
import { Harness } from "./test/harness/engine";
import { providers, SCALE_MANIFEST, scaleSeed, TOKEN } from "./test/harness/fixture";
async function main() {
  process.on("unhandledRejection", () => undefined);
  const N = Number(process.env.N ?? 250);
  const emu = await startEmulator(scaleSeed(N));
  Object.assign(process.env, { BITBUCKET_API_URL: emu.apiUrl, BITBUCKET_TOKEN: TOKEN });
  const h = await Harness.start(await providers(), { config: { "bitbucket:apiUrl": emu.apiUrl, "bitbucket:token": TOKEN } });
  const engine = new Engine(h);
  const program = async () => Object.values((await deployManifest(parseManifest(SCALE_MANIFEST, "b.yaml"))).resources);
  let t0 = performance.now();
  const r = await engine.up(program);
  console.log(`N=${N} up`, r.error?.message ?? "ok", ((performance.now() - t0) / (4 * N)).toFixed(2), "ms/res peak", ((h.peakRss() ?? 0) / 2 ** 20).toFixed(0));
  for (const p of [Infinity, 64, Infinity, 64]) {
    t0 = performance.now();
    await engine.refresh(p);
    console.log(`N=${N} refresh parallel=${p}`, ((performance.now() - t0) / (4 * N)).toFixed(2), "ms/res peak", ((h.peakRss() ?? 0) / 2 ** 20).toFixed(0), "MiB");
  }
  h.close(); await emu.close();
  setTimeout(() => process.exit(0), 500);
}
void main();
