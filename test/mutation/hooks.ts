// Mocha root hooks for Stryker's runs only (test/mutation/run.ts adds this file to `require`).
import { settleHostCoverage } from "../harness/mutation";

export const mochaHooks = {
  /** The dry run ends only once every closed host has handed back the mutants it reached. */
  afterAll: settleHostCoverage,
};
