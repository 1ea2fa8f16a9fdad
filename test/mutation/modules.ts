// What `npm run test:mutation` mutates, which tests it runs against each module, and the floor
// each module's mutation score must stay at or above. The tests listed are the ones that exercise
// the module (Stryker then runs, per mutant, only those that reached it). provider/resources is one
// module per kind (`resources/webhook`...), with that kind's tests: a resource's tests go through
// the provider host, a second or so each, so running every resource test against every resource
// file would take hours; `-- resources` runs them all.

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
    name: "resources/webhook",
    mutate: ["provider/resources/webhook.ts"],
    spec: [
      "test/resources/webhook.test.ts",
      "test/resources/webhook-changes.test.ts",
      "test/resources/webhook-faults.test.ts",
      "test/resources/datacenter/webhook.test.ts",
      "test/regressions/19-dc-webhook-secret-masked.test.ts",
    ],
    floor: 80,
  },
  {
    name: "resources/deploy-key",
    mutate: ["provider/resources/deploy-key.ts"],
    spec: [
      "test/resources/deploy-key.test.ts",
      "test/resources/deploy-key-changes.test.ts",
      "test/resources/datacenter/deploy-key.test.ts",
    ],
    floor: 80,
  },
  {
    name: "resources/ssh-key",
    mutate: ["provider/resources/ssh-key.ts"],
    spec: [
      "test/resources/ssh-key.test.ts",
      "test/resources/ssh-key-changes.test.ts",
      "test/resources/datacenter/ssh-key.test.ts",
    ],
    floor: 80,
  },
  {
    name: "resources/pipeline-variable",
    mutate: ["provider/resources/pipeline-variable.ts"],
    spec: ["test/resources/pipeline-variable.test.ts", "test/resources/datacenter/cloud-only.test.ts"],
    floor: 80,
  },
  {
    name: "resources/pipeline-ssh",
    mutate: ["provider/resources/pipeline-ssh-key-pair.ts", "provider/resources/pipeline-known-host.ts"],
    spec: [
      "test/resources/pipeline-ssh.test.ts",
      "test/resources/pipeline-ssh-changes.test.ts",
      "test/regressions/19-key-pair-answer-lost.test.ts",
    ],
    floor: 80,
  },
  {
    name: "resources/oauth-consumer",
    mutate: ["provider/resources/oauth-consumer.ts"],
    spec: ["test/resources/oauth-consumer.test.ts", "test/resources/oauth-consumer-checks.test.ts"],
    floor: 80,
  },
  {
    name: "resources/access-token",
    mutate: ["provider/resources/access-token.ts"],
    spec: [
      "test/resources/datacenter/access-token.test.ts",
      "test/resources/datacenter/token-renewal.test.ts",
      "test/regressions/19-token-*.test.ts",
    ],
    floor: 80,
  },
  {
    name: "resources/shared",
    mutate: [
      "provider/resources/common.ts",
      "provider/resources/ownership.ts",
      "provider/resources/validate.ts",
      "provider/resources/integration.ts",
      "provider/suggest.ts",
    ],
    spec: [
      "test/resources/validate.test.ts",
      "test/resources/faults.test.ts",
      "test/resources/secrets.test.ts",
      "test/resources/serialization.test.ts",
      "test/resources/integration.test.ts",
      "test/resources/datacenter/cloud-only.test.ts",
      "test/regressions/8-ownership.test.ts",
      "test/regressions/19-ownership-*.test.ts",
      "test/regressions/9-earlier-state.test.ts",
    ],
    floor: 80,
  },
  {
    name: "manifest",
    // The kinds' descriptors (provider/kinds/) are the manifest's per-kind half; export reads
    // through them too.
    mutate: ["provider/manifest/**/*.ts", "provider/kinds/**/*.ts", "provider/text.ts"],
    // In-process tests first: a mutant stops at its first failing test, and the later files
    // start the CLI or a provider host (seconds per test).
    spec: [
      "test/manifest/corpus.test.ts",
      "test/manifest/expand.test.ts",
      "test/manifest/schema.test.ts",
      "test/manifest/limits-and-positions.test.ts",
      "test/manifest/kinds-checks.test.ts",
      "test/manifest/every-problem.test.ts",
      "test/manifest/unknown-keys.test.ts",
      "test/regressions/19-glob-linear.test.ts",
      "test/regressions/19-preset-injection.test.ts",
      "test/regressions/25-presets-follow-guides.test.ts",
      "test/manifest/cli.test.ts",
      "test/manifest/example-instructions.test.ts",
      "test/manifest/datacenter.test.ts",
      "test/manifest/examples.test.ts",
      "test/manifest/policy-deploy.test.ts",
      "test/manifest/shard.test.ts",
      "test/cli/export.test.ts",
      "test/cli/export-order.test.ts",
      "test/cli/export-dc.test.ts",
      "test/cli/plan.test.ts",
      "test/regressions/20-upgrade-unchanged.test.ts",
    ],
    floor: 80,
  },
  {
    name: "plan",
    mutate: ["provider/cli/plan.ts"],
    spec: [
      "test/cli/plan.test.ts",
      "test/cli/plan-output.test.ts",
      "test/cli/comment.test.ts",
      "test/regressions/19-byte-limited-reading.test.ts",
      "test/regressions/21-plan-matches-up.test.ts",
    ],
    floor: 80,
  },
];
