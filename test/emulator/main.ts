// `npm run emulator`: the emulator on its own, seeded with a demo workspace and a Data Center
// project, so a person can
// point `pulumi up` (or curl) at it without a Bitbucket account. EMULATOR_PORT picks the port
// (default: any free one). EMULATOR_DC_MASK_WEBHOOK_SECRET=1: Data Center answers webhooks
// without their secret, as a server that masks it would (Atlassian does not say whether 9.x
// returns it). EMULATOR_HOSTILE=1: also the hostile workspace `hostile` and Data Center project
// HOST that `bitbucket-iac audit` finds policy violations in (test/emulator/hostile.ts). Ctrl-C stops it, and so does its parent exiting (no orphan server).

import { HOSTILE_PROJECT, HOSTILE_WORKSPACE, seedHostile } from "./hostile";
import { startEmulator } from "./server";
import { ALL_SCOPES } from "./store";

async function main() {
  // Read before listening: whoever waits for the port may exit as soon as it opens, and a parent
  // read after that would already be init's, never seen to change.
  const parent = process.ppid;
  const port = Number(process.env.EMULATOR_PORT ?? 0);
  const token = "demo-token";
  const emu = await startEmulator(
    {
      workspaces: { acme: ["api", "web", "infra"] },
      projectRepos: { "acme/SVC": ["svc-a", "svc-b"] },
      tokens: { [token]: { scopes: ALL_SCOPES } },
      consumers: [{ key: "demo-key", secret: "demo-secret", scopes: ALL_SCOPES, private: true }],
      dc: {
        projects: { PROJ: ["api", "web"] },
        users: ["ci-bot"],
        maskWebhookSecret: process.env.EMULATOR_DC_MASK_WEBHOOK_SECRET === "1",
      },
    },
    port,
  );
  const hostile = process.env.EMULATOR_HOSTILE === "1";
  if (hostile) seedHostile(emu.store);
  console.log(`Bitbucket Cloud emulator listening on ${emu.url}
  workspace acme, repositories api, web, infra, and svc-a, svc-b in project SVC
  OAuth consumer demo-key / demo-secret (private, every scope)

  export BITBUCKET_API_URL=${emu.apiUrl}
  export BITBUCKET_TOKEN=${token}
  # or the OAuth client-credentials flow:
  #   BITBUCKET_OAUTH_CLIENT_ID=demo-key BITBUCKET_OAUTH_CLIENT_SECRET=demo-secret
  #   BITBUCKET_OAUTH_TOKEN_URL=${emu.url}/site/oauth2/access_token

Bitbucket Data Center on the same address: project PROJ (api, web), users me and ci-bot,
  webhook secrets ${emu.store.dc.maskWebhookSecret ? "masked in answers" : "returned as stored (EMULATOR_DC_MASK_WEBHOOK_SECRET=1 masks them)"}
  export BITBUCKET_FLAVOR=datacenter BITBUCKET_API_URL=${emu.dcUrl} BITBUCKET_TOKEN=${token}
${
  hostile
    ? `
Hostile objects for \`bitbucket-iac audit\` (EMULATOR_HOSTILE=1): workspace ${HOSTILE_WORKSPACE} (api, web, tools)
and Data Center project ${HOSTILE_PROJECT} (api, web, tools): http, unsigned and unchecked hooks, a hook to
another host, a credential variable in clear, RSA 1024 and ECDSA keys, write access keys, tokens that
never expire or hold REPO_ADMIN, beside clean ones:
  node dist/provider/cli/main.js audit --workspace ${HOSTILE_WORKSPACE}
  BITBUCKET_FLAVOR=datacenter BITBUCKET_API_URL=${emu.dcUrl} node dist/provider/cli/main.js audit --project ${HOSTILE_PROJECT}`
    : "EMULATOR_HOSTILE=1 also seeds a hostile workspace and project for `bitbucket-iac audit`"
}`);
  const stop = () => void emu.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Orphaned (the parent shell or npm is gone, so we were re-parented): stop too.
  setInterval(() => process.ppid !== parent && stop(), 1000).unref();
}

void main();
