#!/usr/bin/env node
// The command line:
//   validate [file]   the manifest, offline: every problem as file:line:column, and the policy's
//                     findings. Exit 0 valid, 1 problems (policy errors included).
//   plan [file]       what `pulumi up` would do, read from live Bitbucket (read-only calls).
//                     Exit 0 no changes, 2 changes (terraform's -detailed-exitcode), 3 an up would
//                     stop (a conflict, a resource not planned, a policy error), 1 error. --out,
//                     --comment, --report, --policy.
//   export            a manifest of what a workspace or projects have, every entry adopt: true.
//   audit             the policy's rules on every webhook, key, variable and token that exists.
//                     Exit 0 clean (warnings only), 3 findings at error level, 1 error.
// Every command exits 64 on a usage error (sysexits.h EX_USAGE: an unknown command or option, an
// option's missing or wrong value, what an option needs missing), before any request: it never
// reads as plan's 2 or 3 (usage.ts).
//
// Paths are relative to the directory the user ran the command from: npm sets INIT_CWD to it
// for `npm run validate -- file` and `npx`, whose own working directory may be the package's.

import "./compile-cache";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { credentialsOf, flavorSetting, loadSettings } from "../api/auth";
import { clearCache } from "../api/cache";
import { requestStats, setReadOnly } from "../api/client";
import { expandAll, PLACEHOLDERS } from "../manifest/expand";
import {
  checkManifestFile,
  formatProblem,
  isManifestError,
  loadManifest,
  manifestError,
  shownProblems,
  type CheckedManifest,
  type LoadOptions,
  type Manifest,
  type Problem,
} from "../manifest/load";
import { checkedPartition, isOnlyError, shardSelected } from "../manifest/shard";
import { KINDS } from "../kinds";
import { skipProviderSerialization } from "./unserialized";
import { pullRequestFromEnv, upsertComment, type PullRequestRef } from "./comment";
import { declaredBy, type Declared } from "./declared";
import { exportFrom } from "./export";
import { schemaLine } from "./schema-ref";
import { declaredOffline, findingText, policyCounts, policyFindings, policyOption } from "./findings";
import { audit } from "./audit";
import type { ReadTarget } from "./reading";
import { AUDIT_FORMATS, renderAudit, summarizeAudit, type AuditFormat } from "./audit-report";
import { layersOf, type Layer } from "../policy/evaluate";
import type { Finding } from "../manifest/policy";
import { globProblem } from "../glob";
import { redactUrl } from "../names";
import { publishPlan, reportTarget, type ReportTarget } from "./insights";
import { planAll, readState, repositoriesOf, type PlanStats } from "./plan";
import { billLines, billOf } from "./bill";
import { pagesOf } from "../api/paginate";
import { progress } from "./progress";
import { EX_USAGE, isUsageError, usage } from "./usage";
import {
  COMMENT_LIMIT,
  commentMarker,
  FORMATS,
  render,
  summarize,
  type Format,
  type PlanReport,
} from "./report";

const HELP = `bitbucket-iac: Bitbucket integration setup as code (webhooks, keys, variables, OAuth consumers).

usage: bitbucket-iac <command> [options]

commands:
  validate [file]   check a manifest and its policy offline (default: bitbucket.yaml); exit 0 valid,
                    1 problems
  plan [file]       show what \`pulumi up\` would change, read from Bitbucket; exit 0 none, 2 changes,
                    3 conflicts, resources that could not be planned or policy errors (an up would
                    stop), 1 error
  export            write a manifest of what exists, to adopt it (bitbucket-iac export --help)
  audit             check what exists in a workspace or projects against a policy; exit 0 clean,
                    3 findings at error level, 1 error (bitbucket-iac audit --help)

Every command exits 64 on a usage error (an unknown option, a missing or wrong value).

options:
  -h, --help        show this help (also: bitbucket-iac help <command>, <command> --help)
  -v, --version     print the version (also: bitbucket-iac version)

Apply a manifest with \`pulumi up\` in a Pulumi project whose program calls deployManifest()
(this repository's Pulumi.yaml does). Credentials: BITBUCKET_TOKEN (or BITBUCKET_USERNAME +
BITBUCKET_API_TOKEN, or an OAuth client id + secret); BITBUCKET_API_URL for another server.
Docs: README.md in the package.`;

const VALIDATE_HELP = `usage: bitbucket-iac validate [file] [--policy FILE] [--only SHARD | --shards]

Checks a manifest without the network: YAML, the schema (schema/manifest.schema.json), references,
keys, and two entries managing one object among explicit repository lists. Selectors ({ project },
globs) are resolved by \`pulumi up\`. Prints every problem as file:line:column path: message.
Then the policy: what every entry declares (an integration's objects too) against the manifest's
policy: (or the default policy) and a shared policy file; an error-level finding is a problem, a
warning is printed and validation goes on.

  file           the manifest, relative to where you run the command (default: bitbucket.yaml)
  --policy FILE  a shared policy file (version: 1 and policy: only); default: BITBUCKET_POLICY
  --only SHARD   validate one shard (one stack of several): workspace=W (Cloud), project=P (Data
                 Center), or account (SSH keys, personal tokens); every entry must land in exactly
                 one shard
  --shards       print the manifest's shards, one a line (for a pipeline's steps), once every entry
                 is known to land in exactly one
  -h, --help     show this help

exit status: 0 valid, 1 problems, 64 usage`;

const PLAN_HELP = `usage: bitbucket-iac plan [file] [--format text|markdown|json] [--state state.json] [--out FILE]
                          [--comment [--pull-request ID]] [--report [--commit SHA]] [--repository R]
                          [--stats [--rate-limit N]] [--only SHARD]

Reads Bitbucket (GET only: a read-only token is enough) and prints what \`pulumi up\` would do with
the manifest: create, update (field by field), adopt, conflict (an existing object that differs,
without adopt: true), delete. Secrets are never read or shown: write-only values read "(write-only)".

  file              the manifest (default: bitbucket.yaml)
  --format F        text (default), markdown, or json
  --state FILE      the stack's state (\`pulumi stack export --file FILE\`): objects the stack manages
                    are updates, and what it manages but no longer declares is deleted. Without it the
                    plan is for a new stack: existing objects are adopted or conflicts.
  --out FILE        also write the whole plan to FILE (.md Markdown, .json JSON, else text); a
                    comment cut to Bitbucket's limit (32,768 characters) names it
  --comment         post the plan as a Markdown comment on the pull request, or edit the one the
                    same account posted before (a reviewer's quote of it is left alone). Cloud: needs
                    the pullrequest scope, and account to tell its own comment from a quote. Data
                    Center: the credentials' user needs read access to the repository
  --pull-request ID the pull request's number (with --comment); default: BITBUCKET_PR_ID
  --report          publish the plan as a Code Insights report on the pull request's head commit:
                    FAILED on a conflict or a resource that could not be planned (exit 3), else
                    PASSED; the totals as data, one annotation per change at its entry's line in the
                    manifest. A rerun replaces it. Needs the repository scope (Cloud), REPO_READ
                    (Data Center)
  --commit SHA      the commit --report publishes on (default: BITBUCKET_COMMIT, which Bitbucket
                    Pipelines sets): its full hash
  --repository R    the repository of the pull request and commit: workspace/repository (Cloud) or
                    PROJECT/repository (Data Center); default: BITBUCKET_REPO_FULL_NAME, which
                    Bitbucket Pipelines sets (on Data Center, set it in Jenkins or Bamboo)
  --policy FILE     a shared policy file (version: 1 and policy: only), beside the manifest's policy:
                    (or the default policy); default: BITBUCKET_POLICY, as pulumi up's check reads it.
                    Findings are listed, counted and annotated; an error-level one exits 3
  --stats           print on stderr the requests plan made (at most one list per repository and kind),
                    and the request bill: what \`pulumi up\` will send for this plan, by method, the
                    collections its lookups share (each listed once), the program's own reads, and the
                    time Bitbucket's rate limit gives it (Markdown and JSON carry the bill always)
  --rate-limit N    the limit the bill is reckoned against: Cloud, requests an hour (default 1,000,
                    Bitbucket's published limit; access tokens of workspaces with more than 100 paid
                    seats get 1,000 + 10 x (seats - 100), at most 10,000); Data Center, requests a
                    second after a burst of 60 (default 5, the rate limiting an admin may enable)
  --only SHARD      plan one shard, as its stack's \`pulumi up\` with stack config only=SHARD does:
                    workspace=W (Cloud), project=P (Data Center), or account; --state is that stack's.
                    The shard has its own --comment and --report (bitbucket-iac-plan-workspace-W):
                    one pull request carries each shard's plan, and a rerun replaces its own only
  -h, --help        show this help

exit status: 0 no changes, 2 changes, 3 conflicts, resources that could not be planned or policy
errors (an up would stop: fail the pull request), 1 run error, 64 usage`;

const EXPORT_HELP = `usage: bitbucket-iac export --workspace W | --project P ... [--repositories GLOB] [--user SLUG]
                            [-o file]

Writes a manifest of what exists. Every entry says adopt: true, so \`pulumi up\` takes the objects
over as they are, and \`bitbucket-iac plan\` on the file reports no changes. Read-only calls.
Cloud: webhooks, deploy keys, the account's SSH keys, pipeline variables (plain values as they are;
secured ones as { fromConfig } references), known hosts and key pairs.
Data Center (bitbucket:flavor / BITBUCKET_FLAVOR datacenter): webhooks and access keys (with their
permission) of the projects and their repositories, and the user's SSH keys. Access tokens are
listed as not exported: a token's value is shown only when it is made.
Webhook secrets become { fromConfig } references; the config keys to set are listed.

  --workspace W         Cloud: the workspace slug
  --project P           Data Center: a project key; repeat it or give a comma list
  --repositories GLOB   only repositories whose slug matches (e.g. "svc-*"); default: all. The
                        workspace's or projects' own objects are exported only without it
  --user SLUG           Data Center: whose SSH keys and personal tokens to read (default: the
                        credentials' user; another user's needs ADMIN)
  -o, --output FILE     write the manifest there (default: standard output)
  -h, --help            show this help

exit status: 0 written, 1 error, 64 usage`;

const AUDIT_HELP = `usage: bitbucket-iac audit --workspace W | --project P ... [--repositories GLOB] [--user SLUG]
                           [--policy FILE] [--manifest FILE] [--format text|markdown|json|sarif] [--out FILE]

Reads what exists (GET only: a read-only token is enough), managed or not, and applies the policy's
rules to every webhook, deploy or access key, SSH key, pipeline variable and access token. Each
finding names the object, the rule, how to fix it, and the manifest entry that would manage it (as
\`export\` writes it). Cloud has no API that lists access tokens or OAuth consumers: the report says so.

  --workspace W         Cloud: the workspace (default: the --manifest's workspace)
  --project P           Data Center: a project key; repeat it or give a comma list (default: the
                        --manifest's project)
  --repositories GLOB   only repositories whose slug matches (e.g. "svc-*"); default: all. The
                        workspace's or projects' own objects and the account's are read either way
  --user SLUG           Data Center: whose personal tokens and SSH keys to read (default: the
                        credentials' user; another user's needs ADMIN)
  --policy FILE         a policy file (version: 1 and policy:), applied beside the manifest's; default:
                        BITBUCKET_POLICY
  --manifest FILE       a manifest whose policy: applies (over the default policy); without it and
                        --policy, the default policy
  --format F            text (default), markdown, json, or sarif (SARIF 2.1.0)
  --out FILE            also write the report to FILE (.md Markdown, .json JSON, .sarif SARIF, else text)
  -h, --help            show this help

exit status: 0 no finding at error level (warnings are printed), 3 findings at error level,
1 run error, 64 usage`;

const isHelp = (a: string | undefined) => a === "-h" || a === "--help";
const isVersionFlag = (a: string | undefined) => a === "-v" || a === "--version";

/** This package's version, from the package.json above this file (source or compiled). */
function version(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "bitbucket-iac") return pkg.version ?? "unknown";
  }
  return "unknown";
}

type Out = (s: string) => void;

export async function main(
  argv: string[],
  out: Out = console.log,
  err: Out = console.error,
  cwd: string = process.env.INIT_CWD ?? process.cwd(),
): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || isHelp(command) || (command === "help" && args.length === 0)) {
    (command === undefined ? err : out)(HELP);
    return command === undefined ? EX_USAGE : 0;
  }
  if (command === "version" || isVersionFlag(command) || args.some(isVersionFlag)) {
    out(version());
    return 0;
  }
  // `help validate` is `validate --help`.
  if (command === "help") return main([args[0]!, "--help", ...args.slice(1)], out, err, cwd);
  const commands: Record<string, { help: string; run: () => Promise<number> | number }> = {
    validate: { help: VALIDATE_HELP, run: () => validate(args, out, err, cwd) },
    plan: { help: PLAN_HELP, run: () => plan(args, out, err, cwd) },
    export: { help: EXPORT_HELP, run: () => exportCommand(args, out, err, cwd) },
    audit: { help: AUDIT_HELP, run: () => auditCommand(args, out, err, cwd) },
  };
  const c = commands[command];
  if (c === undefined) {
    err(`bitbucket-iac: unknown command "${command}"\n\n${HELP}`);
    return EX_USAGE;
  }
  if (args.some(isHelp)) {
    out(c.help);
    return 0;
  }
  clearCache(); // each command reads Bitbucket as it is now, even when run in-process
  try {
    return await c.run();
  } catch (e) {
    if (isUsageError(e)) {
      err(`bitbucket-iac ${command}: ${e.message}${e.withHelp ? `\n\n${c.help}` : ""}`);
      return EX_USAGE;
    }
    if (isManifestError(e)) {
      for (const line of shownProblems(e.problems)) err(line);
      err(`${e.problems.length} problem${e.problems.length === 1 ? "" : "s"}`);
      return 1;
    }
    err(`bitbucket-iac ${command}: ${(e as Error).message}`);
    return 1;
  } finally {
    setReadOnly(false);
  }
}

/** Options and positionals, or a usage error naming the first thing wrong. */
function parse<O extends Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>>(
  args: string[],
  options: O,
  maxPositionals: number,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    // Node names an option with a short form as '-o, --output <value>': said "-o (--output)".
    const [, short = "", long] = /'(-[^', ]+)(?:, (--[^' ]+))?/.exec(message) ?? [];
    const option = long !== undefined ? `${short} (${long})` : short;
    throw usage(
      code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
        ? `unknown option ${option}`
        : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
          ? `${option} ${/argument missing/.test(message) ? "needs a value" : "takes no value"}`
          : message,
    );
  }
  if (parsed.positionals.length > maxPositionals)
    throw usage(maxPositionals ? "give one file" : `unexpected "${parsed.positionals[0]}"`);
  return parsed;
}

/**
 * The manifest a command reads: the file given, or the bitbucket.yaml of a directory given (the
 * default is the current directory's); a usage error for a directory without one.
 */
function manifestFile(given: string | undefined, cwd: string, command: string): string {
  const file = given ?? "bitbucket.yaml";
  if (fs.statSync(path.resolve(cwd, file), { throwIfNoEntry: false })?.isDirectory() !== true) return file;
  const inside = path.join(file, "bitbucket.yaml");
  if (fs.existsSync(path.resolve(cwd, inside))) return inside;
  throw usage(
    `${file} is a directory with no bitbucket.yaml in it: give the manifest's path (bitbucket-iac ${command} path/to/bitbucket.yaml)`,
  );
}

/** The manifest at `file`, read relative to where the command was run. */
function load(file: string, cwd: string, command: string): Manifest {
  return loadManifest(path.resolve(cwd, file), loadOptions(cwd, command));
}

const loadOptions = (cwd: string, command: string): LoadOptions => ({
  relativeTo: cwd,
  missingHint: `give its path: bitbucket-iac ${command} path/to/bitbucket.yaml`,
});

async function validate(args: string[], out: Out, err: Out, cwd: string): Promise<number> {
  const { values, positionals } = parse(
    args,
    { policy: { type: "string" }, only: { type: "string" }, shards: { type: "boolean" } },
    1,
  );
  if (values.shards && values.only !== undefined)
    throw usage("--shards lists every shard, --only validates one: give one of them");
  const file = manifestFile(positionals[0], cwd, "validate");
  const shared = policyOption(values.policy, cwd);
  const checked = checkManifestFile(path.resolve(cwd, file), loadOptions(cwd, "validate"));
  // Shards are drawn from a manifest without problems (each entry lands in one): those first.
  if ((values.shards || values.only !== undefined) && checked.problems.length)
    throw manifestError(checked.problems);
  const whole = checked.manifest;
  if (values.shards) {
    const { shards } = checkedPartition(whole);
    for (const s of shards) out(s.name);
    err(`${file}: ${shards.length} shard${shards.length === 1 ? "" : "s"}, every entry in exactly one`);
    return 0;
  }
  const m = shardOf(whole, values.only).manifest;
  const { problems, findings } = await everyProblem(m, checked, shared);
  for (const f of findings) if (f.level === "warn") err(findingText(f));
  if (problems.length) throw manifestError(problems);
  const specs = expandAll(m, () => undefined).specs; // offline: selectors other than lists are not resolved
  // A policy file (version and policy: only) is said as such.
  const rules = Object.values(m.policy ?? {}).flatMap((r) => Object.keys(r as object)).length;
  if (Object.keys(m.at).every((k) => ["version", "$schema", "policy"].includes(k)) && m.policy) {
    out(`${file}: a valid policy file (${rules} rule${rules === 1 ? "" : "s"})`);
    return 0;
  }
  // Nothing known offline is not nothing declared: the selectors' repositories are listed online.
  const entries = entryCount(m);
  const found =
    specs.length === 0 && entries > 0
      ? `${entries} entr${entries === 1 ? "y" : "ies"}, over repositories chosen by selectors: \`bitbucket-iac plan\` lists them and shows each resource`
      : `${specs.length} resource${specs.length === 1 ? "" : "s"} from explicit repository lists; selectors are resolved by pulumi up`;
  out(
    `${file}: valid (${found})${values.only !== undefined ? `, shard ${values.only.trim()}: ${entryCount(m)} of ${entryCount(whole)} entries` : ""}`,
  );
  return 0;
}

/**
 * Every problem of the manifest in one run, each stage on what the earlier ones found well formed:
 * the loader's (schema, flavor, references), expand's on the entries it kept (malformed keys,
 * presets' options, collisions; offline, a selector stands for one repository), and the policy's
 * errors on what the entries without a problem declare. Each problem once.
 */
async function everyProblem(
  m: Manifest,
  checked: CheckedManifest,
  shared: Layer[],
): Promise<{ problems: Problem[]; findings: Finding[] }> {
  const expanded = expandAll(m, PLACEHOLDERS);
  const problems = [...checked.problems, ...expanded.problems];
  let findings: Finding[] = [];
  try {
    const declared = await declaredOffline(withoutProblems(m, problems));
    findings = policyFindings(m, declared, shared, !checked.policyBroken);
  } catch (e) {
    if (!isManifestError(e)) throw e;
    problems.push(...e.problems); // said already, most likely: each is said once below
  }
  for (const f of findings)
    if (f.level === "error") problems.push({ loc: f.loc!, message: findingText({ ...f, loc: undefined }) });
  const seen = new Set<string>();
  return {
    problems: problems.filter((p) => !seen.has(formatProblem(p)) && seen.add(formatProblem(p))),
    findings,
  };
}

/**
 * The manifest without the entries that have a problem at or inside them (a preset's problem with
 * its consumer is at the consumer), nor the integrations whose OAuth consumer is left out: what the
 * policy judges, declared as `pulumi up` would (an entry with a problem would declare something
 * else, or fail).
 */
function withoutProblems(m: Manifest, problems: Problem[]): Manifest {
  const flawed = new Set<string>();
  for (const p of problems) {
    const entry = /^(\w+\[\d+\])/.exec(p.loc.path)?.[1];
    if (entry !== undefined) flawed.add(entry);
  }
  const kept = { ...m };
  for (const k of KINDS)
    (kept as Record<string, unknown>)[k.key] = (m[k.key] as Array<{ index: number }>).filter(
      (e) => !flawed.has(`${k.key}[${e.index}]`),
    );
  const consumers = new Set(kept.oauthConsumers.map((c) => c.id));
  kept.integrations = kept.integrations.filter((i) => i.consumer === undefined || consumers.has(i.consumer));
  return kept;
}

/**
 * The shard `--only` names and its name as the partition spells it (the whole manifest and no
 * name without it); a usage error for a wrong one.
 */
function shardOf(m: Manifest, only: string | undefined): { manifest: Manifest; shard?: string } {
  if (only === undefined) return { manifest: m };
  try {
    const { manifest, name } = shardSelected(m, only);
    return { manifest, shard: name };
  } catch (e) {
    if (isOnlyError(e)) throw usage(`--only ${only}: ${e.why}`);
    throw e;
  }
}

const entryCount = (m: Manifest) => KINDS.reduce((n, k) => n + m[k.key].length, 0);

async function plan(args: string[], out: Out, err: Out, cwd: string): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      format: { type: "string" },
      state: { type: "string" },
      comment: { type: "boolean" },
      repository: { type: "string" },
      "pull-request": { type: "string" },
      stats: { type: "boolean" },
      out: { type: "string" },
      report: { type: "boolean" },
      commit: { type: "string" },
      policy: { type: "string" },
      only: { type: "string" },
      "rate-limit": { type: "string" },
    },
    1,
  );
  const rateLimit = rateLimitOption(values["rate-limit"]);
  const format = (values.format ?? "text") as Format;
  if (!FORMATS.includes(format))
    throw usage(`--format must be one of ${FORMATS.join(", ")}, not "${values.format}"`);
  if (values["pull-request"] !== undefined && !values.comment)
    throw usage("--pull-request names the pull request --comment posts on: add --comment");
  // Before any call: a misplaced --comment or --report fails fast.
  const pr = values.comment
    ? pullRequestFromEnv(process.env, { repository: values.repository, pullRequest: values["pull-request"] })
    : undefined;
  const target = reportTarget(values, flavorSetting());
  const file = manifestFile(positionals[0], cwd, "plan");
  if (values.out !== undefined) checkOut(values.out, cwd, { manifest: file, "--state file": values.state });
  const shared = policyOption(values.policy, cwd);
  const { manifest: m, shard } = shardOf(load(file, cwd, "plan"), values.only);
  const state =
    values.state !== undefined ? readState(path.resolve(cwd, values.state), values.state) : undefined;
  const settings = loadSettings();
  credentialsOf(settings); // no credentials: one clear error, not one per resource
  const before = snapshot();
  const started = Date.now();
  setReadOnly(true);
  const declared = await declaredBy(m);
  const program = programReads(before); // the program's own: the repositories its selectors list
  const p = progress("plan: resources read", declared.length, progressStream(err));
  const planned = await planAll(declared, state, () => p.tick());
  p.done();
  setReadOnly(false);
  const bill = billOf(planned, {
    flavor: settings.flavor,
    credentials: credentialsOf(settings).kind,
    pagesOf,
    program,
    ...(rateLimit !== undefined && { rateLimit }),
  });
  const report = {
    manifest: file,
    ...(shard !== undefined && { shard }),
    apiUrl: redactUrl(settings.apiUrl), // a credential in it must not reach a comment or a file
    ...(values.state !== undefined && { state: values.state }),
    planned,
    findings: policyFindings(m, declared, shared),
    bill,
  };
  out(render(report, format));
  if (values.stats) {
    err(statsLine(stats(before, declared.length, repositoriesOf(declared), Date.now() - started)));
    err(billLines(bill).join("\n"));
  }
  await deliver(report, { out: values.out, pr, target, declared, file, cwd }, err);
  const s = summarize(planned);
  // 3: `pulumi up` would stop (a conflict, a resource plan could not read, a policy error); 2: it
  // would change things.
  const stops = s.errors || s.conflict || policyCounts(report.findings).errors;
  return stops ? 3 : s.changes ? 2 : 0;
}

/** Where a plan goes besides standard output: `--out FILE`, `--comment`, `--report`. */
async function deliver(
  report: PlanReport,
  to: {
    out?: string;
    pr?: PullRequestRef;
    target?: ReportTarget;
    declared: Declared[];
    file: string;
    cwd: string;
  },
  err: Out,
): Promise<void> {
  if (to.out !== undefined) {
    fs.writeFileSync(path.resolve(to.cwd, to.out), render(report, formatOfFile(to.out)) + "\n");
    err(`bitbucket-iac plan: the full plan written to ${to.out}`);
  }
  const pr = to.pr;
  if (pr) {
    const c = await upsertComment(
      pr,
      render(report, "markdown", { limit: COMMENT_LIMIT[pr.flavor], fullPlan: to.out }),
      commentMarker(report.shard),
    );
    err(
      `bitbucket-iac plan: ${c.how} comment ${c.id}${report.shard !== undefined ? ` (shard ${report.shard})` : ""} on pull request #${pr.id} of ${pr.workspace}/${pr.repository}`,
    );
    if (c.note) err(`bitbucket-iac plan: ${c.note}`);
  }
  if (to.target)
    err(`bitbucket-iac plan: ${await publishPlan(to.target, report, to.declared, to.file, to.cwd)}`);
}

/**
 * `--out FILE` (export: `-o FILE`), checked before any request (a plan or an export can take
 * minutes): a file in a directory that exists, and not one of the files the command reads
 * (`inputs`, by what they are), which it would overwrite. `flag` and `example` are the messages'.
 */
function checkOut(
  out: string,
  cwd: string,
  inputs: Record<string, string | undefined>,
  flag = "--out",
  example = "plan.md",
): void {
  const target = path.resolve(cwd, out);
  const stat = (f: string) => fs.statSync(f, { throwIfNoEntry: false });
  const t = stat(target);
  for (const [what, input] of Object.entries(inputs)) {
    const i = input === undefined ? undefined : stat(path.resolve(cwd, input));
    if (t && i && t.dev === i.dev && t.ino === i.ino)
      throw usage(
        `${flag} ${out} would overwrite the ${what}; name another file, e.g. ${flag} ${example}`,
        bare,
      );
  }
  if (t?.isDirectory())
    throw usage(`${flag} ${out}: is a directory; name a file, e.g. ${flag} ${example}`, bare);
  if (!stat(path.dirname(target))?.isDirectory())
    throw usage(
      `${flag} ${out}: there is no directory "${path.dirname(out)}"; name a file in an existing directory`,
      bare,
    );
}

/** A usage error whose message says all there is to do: no help after it. */
const bare = { withHelp: false };

/** `--out FILE`'s format, by its name: `.md` Markdown, `.json` JSON, anything else text. */
const formatOfFile = (file: string): Format =>
  /\.(md|markdown)$/i.test(file) ? "markdown" : /\.json$/i.test(file) ? "json" : "text";

/** Progress on the terminal itself, or as plain lines through `err` (CI logs, pipes, tests). */
const progressStream = (err: Out) =>
  process.stderr.isTTY ? process.stderr : { write: (s: string) => err(s.replace(/\n$/, "")) };

/** `--rate-limit N`: a whole number of requests above zero. */
function rateLimitOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(v.replace(/[,_]/g, "")))
    throw usage(
      `--rate-limit takes a whole number of requests (an hour on Cloud, a second on Data Center), not "${v}"`,
    );
  return Number(v.replace(/[,_]/g, ""));
}

/** The program's GETs since `before` (it reads nothing else): requests, and the collections listed. */
function programReads(before: ReturnType<typeof snapshot>): { requests: number; paths: string[] } {
  const now = requestStats();
  const paths = [...now.byPath]
    .filter(([k, x]) => k.startsWith("GET ") && x > (before.byPath.get(k) ?? 0))
    .map(([k]) => k.slice(4).replace(/\?.*$/, ""));
  return {
    requests: (now.byMethod.GET ?? 0) - (before.byMethod.GET ?? 0),
    paths: [...new Set(paths)].sort(),
  };
}

/** Request counts so far, to measure one command's share. */
function snapshot(): { total: number; byPath: Map<string, number>; byMethod: Record<string, number> } {
  const st = requestStats();
  return { total: st.total, byPath: new Map(st.byPath), byMethod: { ...st.byMethod } };
}

function stats(
  before: ReturnType<typeof snapshot>,
  resources: number,
  repositories: number,
  ms: number,
): PlanStats {
  const now = requestStats();
  const perPath = [...now.byPath].map(([k, n]) => n - (before.byPath.get(k) ?? 0)).filter((n) => n > 0);
  const byMethod = Object.fromEntries(
    Object.entries(now.byMethod)
      .map(([k, n]) => [k, n - (before.byMethod[k] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  return {
    requests: now.total - before.total,
    byMethod,
    paths: perPath.length,
    maxPerPath: Math.max(0, ...perPath),
    resources,
    repositories,
    ms,
  };
}

function statsLine(s: PlanStats): string {
  const per = (n: number) => (n ? (s.requests / n).toFixed(2) : "-");
  return [
    `plan stats: ${s.requests} requests (${
      Object.entries(s.byMethod)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ") || "none"
    }) in ${(s.ms / 1000).toFixed(1)} s`,
    `  ${s.paths} pages or objects read, each at most ${s.maxPerPath} time${s.maxPerPath === 1 ? "" : "s"}`,
    `  ${s.resources} resources (${per(s.resources)} requests each), ${s.repositories} repositories (${per(s.repositories)} requests each)`,
  ].join("\n");
}

async function exportCommand(args: string[], out: Out, err: Out, cwd: string): Promise<number> {
  const { values } = parse(
    args,
    {
      workspace: { type: "string" },
      project: { type: "string", multiple: true },
      repositories: { type: "string" },
      user: { type: "string" },
      output: { type: "string", short: "o" },
    },
    0,
  );
  const target = readTarget(flavorSetting(), { ...values, projects: projectsOf(values.project) });
  const tooLarge = values.repositories === undefined ? undefined : globProblem(values.repositories);
  if (tooLarge !== undefined) throw usage(`--repositories: ${tooLarge}`);
  if (values.output !== undefined) checkOut(values.output, cwd, {}, "-o", "bitbucket.yaml");
  const settings = loadSettings();
  credentialsOf(settings);
  setReadOnly(true);
  const r = await exportFrom(target, {
    start: (total) => progress("export: repositories read", total, progressStream(err)),
  });
  const file = values.output === undefined ? undefined : path.resolve(cwd, values.output);
  // The `$schema` the file names depends on where it is written (standard output: the directory).
  const text = schemaLine(file === undefined ? cwd : path.dirname(file)) + r.text;
  if (file !== undefined) fs.writeFileSync(file, text);
  else out(text);
  const found = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  err(
    `bitbucket-iac export: ${found.join(", ") || "nothing found"}${values.output !== undefined ? `${found.length ? "" : "; a manifest with no entry"} written to ${values.output}` : ""}`,
  );
  for (const s of r.skipped) err(`  not exported: ${s}`);
  for (const w of r.warnings) err(`  warning: ${w}`);
  if (r.configKeys.length) {
    err(`  write-only values to set before pulumi up (${r.configKeys.length}):`);
    for (const k of r.configKeys) err(`    pulumi config set --secret ${k.key} <value>   # ${k.holds}`);
  }
  return 0;
}

async function auditCommand(args: string[], out: Out, err: Out, cwd: string): Promise<number> {
  const { values } = parse(
    args,
    {
      workspace: { type: "string" },
      project: { type: "string", multiple: true },
      repositories: { type: "string" },
      user: { type: "string" },
      policy: { type: "string" },
      manifest: { type: "string" },
      format: { type: "string" },
      out: { type: "string" },
    },
    0,
  );
  const format = (values.format ?? "text") as AuditFormat;
  if (!AUDIT_FORMATS.includes(format))
    throw usage(`--format must be one of ${AUDIT_FORMATS.join(", ")}, not "${values.format}"`);
  const tooLarge = values.repositories === undefined ? undefined : globProblem(values.repositories);
  if (tooLarge !== undefined) throw usage(`--repositories: ${tooLarge}`);
  const flavor = flavorSetting();
  const m = values.manifest !== undefined ? load(values.manifest, cwd, "audit --manifest") : undefined;
  const target = readTarget(flavor, { ...values, projects: projectsOf(values.project) }, m);
  if (values.out !== undefined)
    checkOut(values.out, cwd, { manifest: values.manifest, "policy file": values.policy });
  const shared = policyOption(values.policy, cwd);
  const layers = layersOf(m ? { policy: m.policy, file: values.manifest } : {}, shared);
  const settings = loadSettings();
  credentialsOf(settings);
  setReadOnly(true);
  const result = await audit(target, layers, {
    start: (total) => progress("audit: repositories read", total, progressStream(err)),
  });
  setReadOnly(false);
  const apiUrl = redactUrl(settings.apiUrl);
  out(renderAudit(result, format, apiUrl, version()));
  if (values.out !== undefined) {
    fs.writeFileSync(
      path.resolve(cwd, values.out),
      renderAudit(result, auditFormatOfFile(values.out), apiUrl, version()) + "\n",
    );
    err(`bitbucket-iac audit: the report written to ${values.out}`);
  }
  return summarizeAudit(result).errors > 0 ? 3 : 0;
}

/** The projects of `--project`, repeated or a comma list. */
const projectsOf = (given: string[] | undefined) =>
  (given ?? [])
    .flatMap((p) => p.split(","))
    .map((p) => p.trim())
    .filter(Boolean);

/**
 * What audit or export reads: the options, else the manifest's workspace or project; a usage error
 * when they do not fit the flavor.
 */
function readTarget(
  flavor: "cloud" | "datacenter",
  o: { workspace?: string; projects: string[]; repositories?: string; user?: string },
  m?: Manifest,
): ReadTarget {
  const glob = o.repositories === undefined ? {} : { glob: o.repositories };
  if (flavor === "cloud") {
    if (o.projects.length)
      throw usage(
        "--project is for Data Center (bitbucket:flavor / BITBUCKET_FLAVOR is cloud): give --workspace",
      );
    if (o.user !== undefined)
      throw usage("--user is for Data Center: Cloud reads the credentials' own SSH keys");
    const workspace = o.workspace ?? m?.workspace;
    if (!workspace) throw usage("--workspace is required: the workspace slug, e.g. --workspace acme");
    return { flavor, containers: [workspace], ...glob };
  }
  if (o.workspace !== undefined)
    throw usage(
      "--workspace is for Bitbucket Cloud (bitbucket:flavor / BITBUCKET_FLAVOR is datacenter): give --project",
    );
  const projects = o.projects.length ? o.projects : m?.project ? [m.project] : [];
  if (!projects.length)
    throw usage("--project is required on Data Center: a project key, e.g. --project PROJ");
  return {
    flavor,
    containers: [...new Set(projects)],
    ...glob,
    ...(o.user !== undefined && { user: o.user }),
  };
}

/** `--out FILE`'s format, by its name: `.md` Markdown, `.json` JSON, `.sarif` SARIF, else text. */
const auditFormatOfFile = (file: string): AuditFormat =>
  /\.sarif(\.json)?$/i.test(file) ? "sarif" : formatOfFile(file);

if (require.main === module) {
  skipProviderSerialization();
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
