// Preloaded into every dynamic-provider host a Stryker run starts (NODE_OPTIONS; see
// test/harness/mutation.ts). Plain JavaScript: the host runs without ts-node.
// - The host ends when the test process that started it is gone: Stryker kills a worker whose
//   mutant hangs, and the hosts it started would otherwise run on, orphaned.
// - In the dry run, when the host exits it writes the mutants its instrumented code reached to the
//   file the harness named.
"use strict";
const fs = require("fs");

const parent = Number(process.env.BITBUCKET_IAC_HOST_PARENT) || process.ppid; // the harness's pid
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();

const file = process.env.BITBUCKET_IAC_HOST_COVERAGE;
if (file) {
  process.on("exit", () => {
    const cov = globalThis.__stryker__?.mutantCoverage;
    const reached = { ...cov?.static };
    for (const counts of Object.values(cov?.perTest ?? {}))
      for (const [id, n] of Object.entries(counts)) reached[id] = (reached[id] ?? 0) + n;
    fs.writeFileSync(file, JSON.stringify(reached));
  });
}
process.on("SIGTERM", () => process.exit(0));
