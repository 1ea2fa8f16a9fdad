// A hostile workspace and Data Center project for `bitbucket-iac audit` (issue #22): each object
// breaks one or two of the policy's rules, beside clean objects that must not be found. Used by the
// audit tests and by `npm run emulator` with EMULATOR_HOSTILE=1.
//
// Cloud, workspace `hostile` (repositories api, web, tools; tools in project TOOLS):
//   api    hook http://hooks.example.test/plain (signed)              webhooks.https
//          hook https://hooks.example.test/unsigned (no secret)       webhooks.secretRequired
//          variable AWS_SECRET_ACCESS_KEY in clear                    pipelineVariables.securedWhenKeyMatches
//          deploy key RSA 1024 "legacy"                               keys.minRsaBits
//   web    hook https://hooks.example.test/insecure (skips the certificate check)
//                                                                     webhooks.forbidSkipCertVerification
//          hook https://collector.evil.test/x, events repo:push repo:fork
//                                                                     webhooks.allowedHosts, webhooks.events
//          variable DEPLOY_TOKEN in clear, environment Production    pipelineVariables.securedWhenKeyMatches
//   workspace variable ORG_PASSWORD in clear                         pipelineVariables.securedWhenKeyMatches
//   project TOOLS deploy key RSA 1024 "tools-legacy"                 keys.minRsaBits
//   account SSH key ECDSA "laptop"                                   keys.keyTypes
//   clean: tools' hook, variables REGION (clear) and API_TOKEN (secured), Ed25519 deploy keys on web
//   and tools, web's Ed25519 Pipelines key pair, the workspace hook https://audit.example.test/events.
//
// Data Center, project HOST (repositories api, web, tools):
//   api    hook http://hooks.example.test/plain (signed)              webhooks.https
//          hook https://hooks.example.test/unsigned (no secret)       webhooks.secretRequired
//          access key RSA 1024, REPO_READ                             keys.minRsaBits
//          token "forever", REPO_READ, no expiry                      accessTokens.maxExpiryDays
//   web    hook https://hooks.example.test/insecure (sslVerificationRequired false)
//                                                                     webhooks.forbidSkipCertVerification
//          hook https://collector.evil.test/x, events repo:refs_changed repo:forked
//                                                                     webhooks.allowedHosts, webhooks.events
//          access key Ed25519, REPO_WRITE                             keys.readOnly
//          token "admin", REPO_ADMIN, 30 days                         accessTokens.permissions
//   project access key Ed25519, PROJECT_WRITE                        keys.readOnly
//   project token "yearly", PROJECT_READ, 365 days                   accessTokens.maxExpiryDays
//   user me: SSH key ECDSA "laptop"                                  keys.keyTypes
//   clean: tools' hook, access key (REPO_READ) and token ("ci", REPO_READ, 30 days), the project
//   hook https://audit.example.test/events, me's token "laptop" (REPO_READ, 60 days).

import { isKeyError, parsePublicKey } from "../../provider/ssh";
import { ecdsa, ed25519, rsa, type TestKey } from "../keys";
import { braced, ME, type Store } from "./store";

/** The keys seedHostile put in place, for tests that name objects by their fingerprints. */
export interface HostileKeys {
  /** RSA 1024: Cloud api's deploy key and project TOOLS's (one key), Data Center api's access key. */
  weakRsa: TestKey;
  /** ECDSA: the account's (Cloud) and me's (Data Center) SSH key. */
  ecdsa: TestKey;
  /** Ed25519, one per place it is used. */
  cloudWeb: TestKey;
  cloudTools: TestKey;
  cloudPair: TestKey;
  dcWeb: TestKey;
  dcProject: TestKey;
  dcTools: TestKey;
}

export const HOSTILE_WORKSPACE = "hostile";
export const HOSTILE_PROJECT = "HOST";

const DAY = 86_400_000;

/** Puts the hostile workspace and project in `store` (see the header); returns the keys it used. */
export function seedHostile(store: Store): HostileKeys {
  const keys: HostileKeys = {
    weakRsa: rsa("legacy@example.test", 1024),
    ecdsa: ecdsa("laptop@example.test"),
    cloudWeb: ed25519("web@example.test"),
    cloudTools: ed25519("tools@example.test"),
    cloudPair: ed25519("pipelines@example.test"),
    dcWeb: ed25519("dc-web@example.test"),
    dcProject: ed25519("dc-project@example.test"),
    dcTools: ed25519("dc-tools@example.test"),
  };
  seedCloud(store, keys);
  seedDataCenter(store, keys);
  return keys;
}

function seedCloud(store: Store, keys: HostileKeys): void {
  const ws = HOSTILE_WORKSPACE;
  const [api, web, tools] = ["api", "web", "tools"].map((r) => store.addRepo(ws, r));
  store.addProject(ws, "TOOLS");
  tools!.project = "TOOLS";
  store.addHook(ws, "api", { url: "http://hooks.example.test/plain", secret: "s1" });
  store.addHook(ws, "api", { url: "https://hooks.example.test/unsigned" });
  store.addHook(ws, "web", {
    url: "https://hooks.example.test/insecure",
    secret: "s2",
    skip_cert_verification: true,
  });
  store.addHook(ws, "web", {
    url: "https://collector.evil.test/x",
    secret: "s3",
    events: ["repo:fork", "repo:push"],
  });
  store.addHook(ws, "tools", { url: "https://hooks.example.test/clean", secret: "s4" });
  store.addHook(ws, undefined, {
    url: "https://audit.example.test/events",
    secret: "s5",
    events: ["repo:created"],
  });
  const variable = (key: string, value: string, secured: boolean) => ({
    uuid: braced(),
    key,
    value,
    secured,
  });
  api!.variables.push(variable("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-example", false));
  web!.environments
    .find((e) => e.name === "Production")!
    .variables.push(variable("DEPLOY_TOKEN", "plain-token-example", false));
  tools!.variables.push(variable("REGION", "eu-west-1", false), variable("API_TOKEN", "hidden", true));
  store.workspaces.get(ws)!.variables.push(variable("ORG_PASSWORD", "hunter2-example", false));
  store.addDeployKey(ws, "api", keys.weakRsa.publicLine, "legacy");
  store.addDeployKey(ws, "web", keys.cloudWeb.publicLine, "web");
  store.addDeployKey(ws, "tools", keys.cloudTools.publicLine, "tools");
  store.addDeployKey(ws, { project: "TOOLS" }, keys.weakRsa.publicLine, "tools-legacy");
  web!.keyPair = { private_key: keys.cloudPair.privatePem, public_key: keys.cloudPair.normalized };
  const me = store.account(ME.account_id)!;
  const parsed = parsePublicKey(keys.ecdsa.publicLine);
  if (isKeyError(parsed)) throw new Error(`[emulator] hostile seed: ${parsed.error}`);
  me.sshKeys.push(store.keyRecord(parsed.normalized, parsed.comment, "laptop", parsed.fingerprint));
}

function seedDataCenter(store: Store, keys: HostileKeys): void {
  const dc = store.dc;
  const p = HOSTILE_PROJECT;
  const [api, web, tools] = ["api", "web", "tools"].map((r) => dc.addRepo(p, r));
  const project = dc.projects.get(p)!;
  const secret = (s: string) => ({ configuration: { secret: s } });
  dc.addHook(p, "api", { url: "http://hooks.example.test/plain", ...secret("s1") });
  dc.addHook(p, "api", { url: "https://hooks.example.test/unsigned" });
  dc.addHook(p, "web", {
    url: "https://hooks.example.test/insecure",
    sslVerificationRequired: false,
    ...secret("s2"),
  });
  dc.addHook(p, "web", {
    url: "https://collector.evil.test/x",
    events: ["repo:forked", "repo:refs_changed"],
    ...secret("s3"),
  });
  dc.addHook(p, "tools", { url: "https://hooks.example.test/clean", ...secret("s4") });
  dc.addHook(p, undefined, { url: "https://audit.example.test/events", ...secret("s5") });
  dc.addAccessKey(p, "api", keys.weakRsa.publicLine, "REPO_READ", "legacy");
  dc.addAccessKey(p, "web", keys.dcWeb.publicLine, "REPO_WRITE", "deployer");
  dc.addAccessKey(p, "tools", keys.dcTools.publicLine, "REPO_READ", "ci");
  dc.addAccessKey(p, undefined, keys.dcProject.publicLine, "PROJECT_WRITE", "release");
  dc.addUserKey("me", keys.ecdsa.publicLine, "laptop");
  const now = store.now();
  const token = (name: string, permissions: string[], expiryDays?: number) => ({
    id: dc.newToken().id,
    name,
    permissions,
    createdDate: now - 10 * DAY,
    ...(expiryDays !== undefined && { expiryDays }),
  });
  api!.tokens.push(token("forever", ["REPO_READ"]));
  web!.tokens.push(token("admin", ["REPO_ADMIN"], 30));
  tools!.tokens.push(token("ci", ["REPO_READ"], 30));
  project.tokens.push(token("yearly", ["PROJECT_READ"], 365));
  dc.users.get("me")!.tokens.push(token("laptop", ["REPO_READ"], 60));
}
