// `npm run test:mocha`: every test file but the install tests (`npm run test:install`), in four
// parallel workers, the longest first. mocha --parallel hands files to its workers in the order
// given, and a long file handed out near the end runs on alone after the others are done:
// test/package.test.ts (npm pack, npm install, tsc, one after another), 93rd of 155 files in glob
// order, ended every run, 85 s after it began. The rest keep mocha's order. A file named here
// that no longer exists stops the run, so the list cannot silently go stale. The workers collect
// garbage on their own thread (--single-threaded-gc, which they inherit from mocha): on two cores
// shared by half a dozen processes, V8's parallel collector threads cost a worker 7% more CPU.
const fs = require("fs");
const lookupFiles = require("mocha/lib/cli/lookup-files");
const base = require("../.mocharc.json");

/** The files that take longest (wall time in a full run), longest first. */
const LONGEST = [
  "test/package.test.ts",
  "test/fuzz/plan-up.test.ts",
  "test/fuzz/faults.test.ts",
  "test/regressions/25-least-privilege-and-leaks.test.ts",
  "test/regressions/19-byte-limited-reading.test.ts",
  "test/fuzz/manifest.test.ts",
];

for (const file of LONGEST)
  if (!fs.existsSync(file)) throw new Error(`test/all.mocharc.js names ${file}, which does not exist`);

const rest = lookupFiles("test/**/*.test.ts", ["ts"], false).filter(
  (file) => !file.startsWith("test/install/") && !LONGEST.includes(file),
);

module.exports = {
  ...base,
  "node-option": ["single-threaded-gc"],
  parallel: true,
  jobs: 4,
  spec: [...LONGEST, ...rest],
};
