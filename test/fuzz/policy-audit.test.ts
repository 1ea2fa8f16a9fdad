// Issue 22 as a property: what exists is judged as it would be declared. For a generated workspace
// (Cloud) or project (Data Center) in the emulator and a generated policy (a manifest's `policy:`
// and maybe a shared policy file), the findings of `audit --format json`, as (rule, level, layer
// of the policy), are those of `validate` on the manifest that would manage the same objects:
// - Cloud: the manifest `bitbucket-iac export` writes, with the policy added as its `policy:`;
// - Data Center, which export does not read: the entries audit gives as "managed by", every
//   object's (audit() in-process: its JSON lists the entries of objects with findings only, and an
//   object audit let pass that validate finds must count too).
// validate reports a finding once per place in the manifest, and export writes identical objects on
// several repositories as one entry: a finding of an entry counts once per repository it names.
//
// Left out, and why:
// - hooks whose URL carries a credential: export writes it as a reference to set, which validate
//   cannot read (policy-cases.ts); hooks apps installed: no entry can manage them;
// - Cloud project deploy keys: audit reads them, export does not (it writes repository keys only);
// - access tokens and OAuth consumers on Cloud: no API lists them (audit says so, export cannot).
// - the opt-out of webhooks.https (allowHttpOptOut): the policies here never opt out (`judged`).
// Data Center access tokens are in: audit reads their permissions and expiry as an entry declares them.
//
// `npm test`: a fixed seed and a few cases per flavor; FUZZ_RUNS / FUZZ_SEED for more.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { audit } from "../../provider/cli/audit";
import { layersOf } from "../../provider/policy/evaluate";
import type { Policy } from "../../provider/policy/rules";
import { isKeyError, parsePublicKey } from "../../provider/ssh";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES, braced, ME, type Store, type Variable } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { run, useEmulator, workdir, type Ran } from "../cli/run";
import type { AuditJson } from "../cli/audit-fixture";
import { fuzzParams, LONG, runsOf } from "./params";
import {
  cloudLive,
  dcLive,
  KEYS,
  layerOf,
  policy,
  policyFileText,
  sourceOf,
  type CloudLive,
  type DcLive,
  type Flavor,
  type LiveToken,
} from "./policy-cases";

const RUNS = runsOf(20);
const DAY = 86_400_000;

interface Judged {
  policy?: Policy;
  shared?: Policy;
}

/**
 * `p` with its webhooks.https rule never opting out (allowHttpOptOut lets a declared entry with
 * allowHttp pass, and a live hook has no such entry); `written`: with the rule written (at error
 * when `p` has none), so that it replaces the default policy's, which opts out.
 */
function noOptOut(p: Policy | undefined, written: boolean): Policy | undefined {
  const https = p?.webhooks?.https;
  if (https === undefined && !written) return p;
  const { allowHttpOptOut: _, ...rule } = https ?? {};
  return { ...p, webhooks: { ...p?.webhooks, https: rule } };
}

/**
 * A manifest's policy and maybe a shared one. One difference is by design and kept out: under a
 * webhooks.https rule with allowHttpOptOut (the default policy's), audit finds every http hook
 * (the schema: "Live hooks (audit) have no such entry"), while export writes `allowHttp: true` on
 * each, so validate lets them pass. The policies here never opt out, and the manifest's always
 * writes webhooks.https: the default policy's rule does not apply.
 */
const judged = (flavor: Flavor): fc.Arbitrary<Judged> =>
  fc
    .record({
      policy: fc.option(policy([flavor]), { nil: undefined }),
      shared: fc.option(policy(["cloud", "datacenter"]), { nil: undefined }),
    })
    .map(({ policy: p, shared }) => ({
      policy: noOptOut(p, true)!,
      ...(shared && { shared: noOptOut(shared, false)! }),
    }));

// ---- the emulator's objects ----------------------------------------------------------------------

const variable = (v: { key: string; secured: boolean }): Variable => ({
  uuid: braced(),
  key: v.key,
  value: v.secured ? "hidden" : "in-clear",
  secured: v.secured,
});

/** Workspace acme as `w` says: its repositories' objects, its own, the account's keys. */
function seedCloud(s: Store, w: CloudLive): void {
  const ws = s.workspaces.get("acme")!;
  for (const slug of ["api", "web"] as const) {
    const r = ws.repos.get(slug)!;
    const live = w.repos[slug];
    for (const h of live.hooks)
      s.addHook("acme", slug, {
        url: h.url,
        events: h.events,
        skip_cert_verification: h.skipCertVerification,
        ...(h.secret && { secret: "s3cret" }),
      });
    for (const k of live.deployKeys) s.addDeployKey("acme", slug, KEYS[k.key]!.publicLine, k.label);
    for (const v of live.variables) {
      const list = v.environment
        ? r.environments.find((e) => e.name === v.environment)!.variables
        : r.variables;
      list.push(variable(v));
    }
    if (live.keyPair !== undefined) {
      const k = KEYS[live.keyPair]!;
      r.keyPair = { private_key: k.privatePem, public_key: k.normalized };
    }
  }
  for (const h of w.hooks)
    s.addHook("acme", undefined, {
      url: h.url,
      events: h.events,
      skip_cert_verification: h.skipCertVerification,
      ...(h.secret && { secret: "s3cret" }),
    });
  ws.variables.push(...w.variables.map(variable));
  const me = s.account(ME.account_id)!;
  for (const k of w.sshKeys) {
    const p = parsePublicKey(KEYS[k.key]!.publicLine);
    if (isKeyError(p)) throw new Error(p.error);
    me.sshKeys.push(s.keyRecord(p.normalized, p.comment, k.label, p.fingerprint));
  }
}

/** Project PROJ as `p` says: its repositories' objects, its own, user me's keys and tokens. */
function seedDc(s: Store, p: DcLive): void {
  const dc = s.dc;
  const project = dc.projects.get("PROJ")!;
  const token = (t: LiveToken) => ({
    id: dc.newToken().id,
    name: t.name,
    permissions: t.permissions,
    createdDate: s.now() - 10 * DAY,
    ...(t.expiryDays !== undefined && { expiryDays: t.expiryDays }),
  });
  const hook = (repo: string | undefined, h: DcLive["hooks"][number]) =>
    dc.addHook("PROJ", repo, {
      url: h.url,
      events: h.events,
      sslVerificationRequired: !h.skipCertVerification,
      configuration: h.secret ? { secret: "s3cret" } : {},
    });
  for (const slug of ["api", "web"] as const) {
    const live = p.repos[slug];
    for (const h of live.hooks) hook(slug, h);
    for (const k of live.keys) dc.addAccessKey("PROJ", slug, KEYS[k.key]!.publicLine, k.permission!, k.label);
    project.repos.get(slug)!.tokens.push(...live.tokens.map(token));
  }
  for (const h of p.hooks) hook(undefined, h);
  for (const k of p.keys) dc.addAccessKey("PROJ", undefined, KEYS[k.key]!.publicLine, k.permission!, k.label);
  project.tokens.push(...p.tokens.map(token));
  for (const k of p.userKeys) dc.addUserKey("me", KEYS[k.key]!.publicLine, k.label);
  dc.users.get("me")!.tokens.push(...p.userTokens.map(token));
}

// ---- findings ------------------------------------------------------------------------------------

/** `rule level (layer)`, sorted: a multiset. */
const sorted = (xs: string[]) => [...xs].sort();

/**
 * validate's findings as `rule level (layer)`, each once per repository its entry names (validate says a
 * finding once per entry; an entry on two repositories manages two objects).
 */
function validateFindings(r: Ran, manifest: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const line of r.err.split("\n").filter(Boolean)) {
    const m = /^\S+\.yaml:\d+:\d+ (\w+)\[(\d+)\]\S*: (error|warning) ([\w.]+): /.exec(line);
    if (!m) {
      assert.match(line, /^\d+ problems?$/, `validate says something besides findings: ${r.err}`);
      continue;
    }
    const entry = (manifest[m[1]!] as Array<{ repositories?: unknown[] }>)[Number(m[2])]!;
    const times = Array.isArray(entry.repositories) ? entry.repositories.length : 1;
    const said = `${m[4]} ${m[3] === "warning" ? "warn" : "error"} (${layerOf(sourceOf(line))})`;
    for (let i = 0; i < times; i++) found.push(said);
  }
  return found;
}

const auditFindings = (r: Ran): string[] => {
  assert.ok([0, 3].includes(r.code), `audit exited ${r.code}: ${r.err}`);
  const report = JSON.parse(r.out) as AuditJson;
  assert.deepEqual(report.notes, [], "audit read everything");
  return report.findings.map((f) => `${f.rule} ${f.level} (${layerOf(f.source)})`);
};

describe("issue 22 property: audit judges what exists as validate judges it declared", function () {
  let emu: Emulator;
  let dir: string;
  let restore: (() => void) | undefined;
  let cases = 0;
  let ms = 0;
  const seen: Record<string, number> = {};

  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api", "web"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
      dc: { projects: { PROJ: ["api", "web"] } },
    });
    dir = workdir({});
  });
  afterEach(() => restore?.());
  after(async () => {
    await emu.close();
    if (cases) {
      console.log(`      [policy-audit] ${cases} cases, ${(ms / cases).toFixed(0)} ms each`);
      console.log(`      [policy-audit] findings by rule: ${JSON.stringify(seen)}`);
    }
  });

  /** Writes the policy files of a case; the arguments that name them to audit and validate. */
  function policies(flavor: Flavor, j: Judged): { audit: string[]; validate: string[] } {
    const head =
      flavor === "cloud"
        ? { version: 1, workspace: "acme" }
        : { version: 1, flavor: "datacenter", project: "PROJ" };
    fs.writeFileSync(
      path.join(dir, "own.yaml"),
      stringify({ ...head, ...(j.policy && { policy: j.policy }) }),
    );
    if (j.shared) fs.writeFileSync(path.join(dir, "org.yaml"), policyFileText(j.shared));
    const shared = j.shared ? ["--policy", "org.yaml"] : [];
    return { audit: ["--manifest", "own.yaml", ...shared], validate: shared };
  }

  /** The case's policy said, for a failure's message. */
  const said = (j: Judged, manifest: string) =>
    `\n--- the manifest validate read\n${manifest}${j.shared ? `--- org.yaml\n${policyFileText(j.shared)}` : ""}`;

  function compare(audited: string[], validated: string[], text: string, j: Judged): void {
    assert.deepEqual(sorted(audited), sorted(validated), `audit's findings and validate's${said(j, text)}`);
    for (const f of audited) seen[f.split(" ")[0]!] = (seen[f.split(" ")[0]!] ?? 0) + 1;
  }

  it(`holds on Bitbucket Cloud against the manifest export writes (${RUNS} cases)`, async function () {
    this.timeout(LONG ? 0 : RUNS * 3_000);
    restore = useEmulator(emu);
    await fc.assert(
      fc.asyncProperty(cloudLive, judged("cloud"), async (w, j) => {
        const started = Date.now();
        emu.store.emptyObjects();
        seedCloud(emu.store, w);
        const args = policies("cloud", j);
        const audited = auditFindings(await run(["audit", "--format", "json", ...args.audit], dir));
        const exported = await run(["export", "--workspace", "acme"], dir);
        assert.equal(exported.code, 0, exported.err);
        // The policy joins the manifest as its own `policy:`.
        const text = exported.out + "\n" + (j.policy ? stringify({ policy: j.policy }) : "");
        fs.writeFileSync(path.join(dir, "bitbucket.yaml"), text);
        const v = await run(["validate", ...args.validate], dir);
        compare(audited, validateFindings(v, parse(text) as Record<string, unknown>), text, j);
        ms += Date.now() - started;
        cases++;
      }),
      { ...fuzzParams<[CloudLive, Judged]>("audit and validate of export (Cloud)", 20), endOnFailure: true },
    );
  });

  it(`holds on Data Center against the entries audit gives as managed by (${RUNS} cases)`, async function () {
    this.timeout(LONG ? 0 : RUNS * 3_000);
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
    await fc.assert(
      fc.asyncProperty(dcLive, judged("datacenter"), async (p, j) => {
        const started = Date.now();
        emu.store.emptyObjects();
        seedDc(emu.store, p);
        const args = policies("datacenter", j);
        const r = await run(["audit", "--format", "json", ...args.audit], dir);
        const audited = auditFindings(r);
        // Every object's entry: audit() as the command runs it (its JSON has those with findings).
        const all = await audit({ flavor: "datacenter", containers: ["PROJ"] }, layersOf({}), {
          start: () => ({ tick: () => undefined, done: () => undefined }),
        });
        const manifest: Record<string, unknown> = { version: 1, flavor: "datacenter", project: "PROJ" };
        if (j.policy) manifest.policy = j.policy;
        for (const o of all.objects) if (o.entry) ((manifest[o.kind] ??= []) as unknown[]).push(o.entry);
        // The entries audit gave with its findings are among them.
        const json = JSON.parse(r.out) as AuditJson;
        for (const f of json.findings)
          for (const [kind, [entry]] of Object.entries(f.entry ?? {}))
            assert.ok(
              (manifest[kind] as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(entry)),
              `${f.object}: its entry is audit()'s`,
            );
        const text = stringify(manifest);
        fs.writeFileSync(path.join(dir, "bitbucket.yaml"), text);
        const v = await run(["validate", ...args.validate], dir);
        compare(audited, validateFindings(v, manifest), text, j);
        ms += Date.now() - started;
        cases++;
      }),
      {
        ...fuzzParams<[DcLive, Judged]>("audit and validate of its entries (Data Center)", 20),
        endOnFailure: true,
      },
    );
  });
});
