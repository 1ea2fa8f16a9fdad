// What `npm run test:mutation` mutates, which tests it runs against each module, and the floor
// each module's mutation score must stay at or above. The tests listed are the ones that exercise
// the module (Stryker then runs, per mutant, only those that reached it).

export interface MutationModule {
  name: string;
  /** Files Stryker mutates (globs; `!` excludes). */
  mutate: string[];
  /** Test files run against them. */
  spec: string[];
  /** Lowest acceptable mutation score, in percent (killed + timed out, over all but ignored). */
  floor: number;
}

export const MODULES: MutationModule[] = [
  {
    name: "api",
    mutate: ["provider/api/**/*.ts"],
    spec: [
      "test/api/*.test.ts",
      "test/regressions/8-credentials-stay-home.test.ts",
      "test/regressions/19-waiting-that-always-ends.test.ts",
      "test/regressions/19-credential-urls.test.ts",
      "test/resources/datacenter/token-renewal.test.ts",
    ],
    floor: 80,
  },
  {
    name: "resources",
    mutate: ["provider/resources/**/*.ts", "!provider/resources/shim.ts"],
    spec: [
      "test/resources/**/*.test.ts",
      "test/regressions/8-ownership.test.ts",
      "test/regressions/19-ownership-*.test.ts",
      "test/regressions/19-key-pair-answer-lost.test.ts",
      "test/regressions/19-token-*.test.ts",
      "test/regressions/19-dc-webhook-secret-masked.test.ts",
      "test/regressions/9-earlier-state.test.ts",
    ],
    floor: 80,
  },
  {
    name: "manifest",
    mutate: ["provider/manifest/**/*.ts"],
    spec: [
      "test/manifest/*.test.ts",
      "test/regressions/19-glob-linear.test.ts",
      "test/regressions/19-preset-injection.test.ts",
      "test/regressions/25-presets-follow-guides.test.ts",
    ],
    floor: 80,
  },
  {
    name: "plan",
    mutate: ["provider/cli/plan.ts"],
    spec: [
      "test/cli/plan.test.ts",
      "test/cli/comment.test.ts",
      "test/regressions/19-byte-limited-reading.test.ts",
    ],
    floor: 80,
  },
];
