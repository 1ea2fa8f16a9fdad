#!/usr/bin/env node
// `npx bitbucket-iac ...`: runs the TypeScript command line through ts-node.
require("ts-node").register({
  transpileOnly: true,
  project: require("path").join(__dirname, "../../tsconfig.json"),
});
process.exit(require("./main.ts").main(process.argv.slice(2)));
