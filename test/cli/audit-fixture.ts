// What the audit tests share: an organisation policy that switches every rule on, and the
// (rule, object) pairs it finds on the hostile workspace and project (test/emulator/hostile.ts).

import { keyShown } from "../../provider/ssh";
import type { HostileKeys } from "../emulator/hostile";

/** Every rule on, at error level (a policy file: it serves both flavors). */
export const ORG_POLICY = `version: 1
policy:
  webhooks:
    allowedHosts: { hosts: ["*.example.test"] }
    secretRequired: {}
    forbidSkipCertVerification: {}
    events: { deny: [repo:fork, repo:forked] }
  keys:
    readOnly: {}
    keyTypes: { allow: [ssh-ed25519, ssh-rsa] }
    minRsaBits: { bits: 2048 }
  pipelineVariables:
    securedWhenKeyMatches: {}
  accessTokens:
    maxExpiryDays: { days: 90 }
    permissions: { allow: [REPO_READ, REPO_WRITE, PROJECT_READ] }
  oauthConsumers:
    maxScopes: { scopes: [repository] }
`;

/** `rule object` for every finding the organisation policy makes on the hostile workspace, sorted. */
export const cloudPairs = (k: HostileKeys): string[] =>
  [
    "webhooks.https webhook http://hooks.example.test/plain on hostile/api",
    "webhooks.secretRequired webhook https://hooks.example.test/unsigned on hostile/api",
    `keys.minRsaBits deploy key ${keyShown(k.weakRsa.publicLine)} "legacy" on hostile/api`,
    "pipelineVariables.securedWhenKeyMatches variable AWS_SECRET_ACCESS_KEY on hostile/api",
    "webhooks.forbidSkipCertVerification webhook https://hooks.example.test/insecure on hostile/web",
    "webhooks.allowedHosts webhook https://collector.evil.test/x on hostile/web",
    "webhooks.events webhook https://collector.evil.test/x on hostile/web",
    "pipelineVariables.securedWhenKeyMatches variable DEPLOY_TOKEN on hostile/web (Production)",
    `keys.minRsaBits deploy key ${keyShown(k.weakRsa.publicLine)} "tools-legacy" on project hostile/TOOLS`,
    "pipelineVariables.securedWhenKeyMatches variable ORG_PASSWORD on workspace hostile",
    `keys.keyTypes SSH key ${keyShown(k.ecdsa.publicLine)} "laptop" of the account`,
  ].sort();

/** The same on the hostile Data Center project. */
export const dcPairs = (k: HostileKeys): string[] =>
  [
    "webhooks.https webhook http://hooks.example.test/plain on HOST/api",
    "webhooks.secretRequired webhook https://hooks.example.test/unsigned on HOST/api",
    `keys.minRsaBits access key ${keyShown(k.weakRsa.publicLine)} "legacy" on HOST/api (REPO_READ)`,
    'accessTokens.maxExpiryDays access token "forever" of HOST/api',
    "webhooks.forbidSkipCertVerification webhook https://hooks.example.test/insecure on HOST/web",
    "webhooks.allowedHosts webhook https://collector.evil.test/x on HOST/web",
    "webhooks.events webhook https://collector.evil.test/x on HOST/web",
    `keys.readOnly access key ${keyShown(k.dcWeb.publicLine)} "deployer" on HOST/web (REPO_WRITE)`,
    'accessTokens.permissions access token "admin" of HOST/web',
    `keys.readOnly access key ${keyShown(k.dcProject.publicLine)} "release" on project HOST (PROJECT_WRITE)`,
    'accessTokens.maxExpiryDays access token "yearly" of project HOST',
    `keys.keyTypes SSH key ${keyShown(k.ecdsa.publicLine)} "laptop" of user me`,
  ].sort();

/** What the clean objects are named by: none may be in a finding. */
export const CLEAN = [
  "on hostile/tools",
  "on HOST/tools",
  "https://hooks.example.test/clean",
  "https://audit.example.test/events",
  "REGION",
  "API_TOKEN",
  'access token "ci"',
  'access token "laptop"',
];

/** A report in --format json, as the tests read it. */
export interface AuditJson {
  formatVersion: number;
  flavor: string;
  target: string;
  apiUrl: string;
  policy: string[];
  summary: {
    objects: number;
    errors: number;
    warnings: number;
    repositories: number;
    byRule: Record<string, { error: number; warn: number }>;
    byKind: Record<string, number>;
  };
  findings: Array<{
    object: string;
    kind: string;
    rule: string;
    level: string;
    field: string;
    message: string;
    source: string;
    entry: Record<string, unknown[]> | null;
    note?: string;
  }>;
  notAudited: Array<{ kind: string; why: string }>;
  notes: string[];
  configKeys: Array<{ key: string; holds: string }>;
}

export const pairsOf = (r: AuditJson) => r.findings.map((f) => `${f.rule} ${f.object}`).sort();
