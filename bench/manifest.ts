// Part of `npm run bench`: how long loading (YAML + schema + cross-references) and expanding
// (names, duplicates, keys) a 5,000-entry manifest takes, offline as `validate` does it.
// Median of 5 runs after one warm-up. Not a test: it asserts nothing.

import { expand } from "../provider/manifest/expand";
import { parseManifest } from "../provider/manifest/load";
import { ed25519 } from "../test/keys";

export function manifestBench(entries = 5000, runs = 5): string {
  const key = ed25519("bench").publicLine;
  const lines = ["version: 1", "workspace: acme"];
  const per = Math.floor(entries / 4);
  lines.push("webhooks:");
  for (let i = 0; i < per; i++) {
    lines.push(
      `  - repositories: [repo-${i}]`,
      `    url: https://ci.example.com/hooks/${i}`,
      "    events: [repo:push, pullrequest:created]",
      "    secret: { generate: true }",
    );
  }
  lines.push("pipelineVariables:");
  for (let i = 0; i < per; i++) {
    lines.push(`  - repositories: [repo-${i}]`, `    key: VAR_${i}`, "    value: { fromConfig: token }");
  }
  lines.push("deployKeys:");
  for (let i = 0; i < per; i++)
    lines.push(`  - repositories: [repo-${i}]`, `    key: ${key}`, `    label: ci-${i}`);
  lines.push("knownHosts:");
  for (let i = 0; i < entries - 3 * per; i++) {
    lines.push(
      `  - repositories: [repo-${i}]`,
      `    hostname: host-${i}.example.com`,
      `    publicKey: ${key}`,
    );
  }
  const text = lines.join("\n") + "\n";
  const times: number[] = [];
  let resources = 0;
  for (let r = 0; r <= runs; r++) {
    const t0 = process.hrtime.bigint();
    resources = expand(parseManifest(text, "bench.yaml"), () => undefined).length;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  return `Manifest validation: ${entries} entries (${lines.length} lines, ${(text.length / 1024).toFixed(0)} KiB) -> ${resources} resources: median ${median.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)}) over ${runs} runs`;
}
