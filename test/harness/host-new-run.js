// Preloaded into every dynamic-provider host the engine harness starts (NODE_OPTIONS; see
// engine.ts `Harness.newRun`). Plain JavaScript: the host runs without ts-node.
//
// For each line on its standard input ({"env": {...}}) the host starts a new run: it sets the
// environment variables the line names (null: unsets), as the next `pulumi up` could be started
// with (a moved clock, BITBUCKET_IAC_NOW), and forgets everything bitbucket-iac keeps for one run
// (the read cache, the claims, pending token replacements, the limiter, tokens: all it keeps on
// globalThis) except the stack's config, which Configure gave the process once. The next
// `pulumi up` then finds the host as a new process would find it, without the second a new
// process costs. It answers on stderr.
//
// A host whose parent is gone (a test run killed from outside) exits, where it would run on.
//
// Node writes its compile cache (NODE_COMPILE_CACHE, one for every process the tests start) as a
// process exits, and a kept host lives as long as its mocha worker: each new run writes what the
// host has compiled so far (the SDK, the provider), so the hosts started after it load from it.
"use strict";

const { flushCompileCache } = require("module");

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();

let runs = 0;
require("readline")
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    const { env = {} } = JSON.parse(line);
    for (const [name, value] of Object.entries(env)) {
      if (value === null) delete process.env[name];
      else process.env[name] = value;
    }
    for (const key of Object.getOwnPropertySymbols(globalThis)) {
      const name = key.description ?? "";
      if (name.startsWith("bitbucket-iac.") && name !== "bitbucket-iac.config") delete globalThis[key];
    }
    process.stderr.write(`bitbucket-iac harness: new run ${++runs} in ${process.pid}\n`);
    flushCompileCache?.();
  });
