// Stryker's build step, run inside its sandbox (test/mutation/run.ts names the working copy in
// BITBUCKET_IAC_REPOSITORY):
// compiles the instrumented sources to the sandbox's dist/, which the dynamic-provider host loads
// through `require("bitbucket-iac/runtime")`, and gives the sandbox a node_modules of its own
// whose `bitbucket-iac` is the sandbox (the working copy's points at the working copy).
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const repo = process.env.BITBUCKET_IAC_REPOSITORY;
if (!repo || !fs.existsSync(path.join(repo, "node_modules"))) {
  process.stderr.write(
    "BITBUCKET_IAC_REPOSITORY must name the working copy, with its node_modules (npm run test:mutation sets it)\n",
  );
  process.exit(2);
}
const tsc = require.resolve("typescript/bin/tsc", { paths: [repo] });
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });

fs.rmSync("node_modules", { recursive: true, force: true });
fs.mkdirSync("node_modules");
for (const entry of fs.readdirSync(path.join(repo, "node_modules"))) {
  if (entry !== "bitbucket-iac")
    fs.symlinkSync(path.join(repo, "node_modules", entry), path.join("node_modules", entry));
}
fs.symlinkSync("..", path.join("node_modules", "bitbucket-iac"));
