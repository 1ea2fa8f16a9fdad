// Preloaded into the dynamic-provider host during Stryker's dry run (see test/harness/mutation.ts):
// when the host exits, writes the mutants its instrumented code reached to the file the harness
// named. Plain JavaScript: the host runs without ts-node.
"use strict";
const fs = require("fs");

const file = process.env.BITBUCKET_IAC_HOST_COVERAGE;
if (file) {
  process.on("exit", () => {
    const cov = globalThis.__stryker__?.mutantCoverage;
    const reached = { ...cov?.static };
    for (const counts of Object.values(cov?.perTest ?? {}))
      for (const [id, n] of Object.entries(counts)) reached[id] = (reached[id] ?? 0) + n;
    fs.writeFileSync(file, JSON.stringify(reached));
  });
  process.on("SIGTERM", () => process.exit(0));
}
