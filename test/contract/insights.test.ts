// Issue 21.5: every Code Insights exchange of `plan --report` (reports, annotations) against
// Atlassian's specs: the Cloud spec for /2.0/.../commit/{commit}/reports, the Data Center 9.2 spec
// for /rest/insights/latest/.../commits/{commitId}/reports. Requests are what the CLI sends; the
// responses are the emulator's, which tests elsewhere read back.

import * as assert from "node:assert/strict";
import axios from "axios";
import { clearCache } from "../../provider/api/cache";
import { publishReport, type Finding, type Insights } from "../../provider/cli/insights";
import { startEmulator, type Emulator } from "../emulator/server";
import { ALL_SCOPES } from "../emulator/store";
import { TOKEN } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";
import { CLOUD_SPEC, Contract, DC_SPEC, dataCenterContract, requireSpec } from "./openapi";

const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const CLOUD_MANIFEST = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
`;
const DC_MANIFEST = `version: 1
flavor: datacenter
project: PROJ
webhooks:
  - repositories: [api]
    url: https://ci.example.test/hook
    events: [repo:refs_changed]
    description: CI
`;

/** A report of `n` findings, for exchanges past one request's worth of annotations. */
const many = (n: number): Insights => ({
  key: "bitbucket-iac-plan",
  title: "bitbucket-iac plan",
  passed: false,
  details: "many",
  totals: [["Creates", n]],
  findings: Array.from({ length: n }, (_, i): Finding => ({
    externalId: `bitbucket-iac-plan-${i}`,
    severity: i % 2 ? "LOW" : "HIGH",
    blocking: i % 2 === 0,
    summary: `create webhook ${i}`,
    details: "resource: Webhook w",
    path: "bitbucket.yaml",
    line: i + 1,
  })),
  omitted: 0,
});

const seen = (contract: Contract, emu: Emulator) =>
  new Set(emu.entries().map((e) => `${e.method} ${contract.template(e.path)} ${e.status}`));

describe("contract: Code Insights reports and annotations against the Cloud spec", function () {
  this.timeout(60_000);
  let contract: Contract;
  let emu: Emulator;
  let restore: () => void;

  before(async function () {
    requireSpec(this, CLOUD_SPEC);
    contract = new Contract();
    emu = await startEmulator({
      workspaces: { acme: ["api", "infra"] },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
    restore = useEmulator(emu, { BITBUCKET_COMMIT: SHA, BITBUCKET_REPO_FULL_NAME: "acme/infra" });
  });
  after(async () => {
    restore?.();
    await emu?.close();
  });

  it("validates every request plan --report sends and every response the emulator gives", async () => {
    const dir = workdir({ "bitbucket.yaml": CLOUD_MANIFEST });
    for (const _ of [1, 2]) assert.equal((await run(["plan", "--report"], dir)).code, 2);
    clearCache();
    await publishReport({ flavor: "cloud", owner: "acme", repository: "infra", commit: SHA }, many(150));
    const api = axios.create({
      baseURL: emu.apiUrl,
      validateStatus: () => true,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const report = `/repositories/acme/infra/commit/${SHA}/reports/bitbucket-iac-plan`;
    await api.get(`${report}/annotations?pagelen=100&page=2`);
    await api.put(report, { title: "" }); // 400: no title
    await api.delete(report);
    await api.get(report); // 404

    const exchanged = seen(contract, emu);
    const template = "/repositories/{workspace}/{repo_slug}/commit/{commit}/reports/{reportId}";
    for (const must of [
      `GET ${template} 404`,
      `GET ${template} 200`,
      `DELETE ${template} 204`,
      `PUT ${template} 200`,
      `PUT ${template} 400`,
      `POST ${template}/annotations 200`,
      `GET ${template}/annotations 200`,
    ])
      assert.ok(exchanged.has(must), `exchange not exercised: ${must}`);
    const posts = emu.entries().filter((e) => e.method === "POST" && e.path.endsWith("/annotations"));
    assert.deepEqual(
      posts.slice(-2).map((e) => (e.requestBody as unknown[]).length),
      [100, 50],
      "150 annotations go in two requests",
    );
    assert.deepEqual(
      emu.entries().flatMap((e) => contract.check(e)),
      [],
    );
  });

  it("fails on an exchange past the spec's limits (the checker can fail)", () => {
    const annotation = { external_id: "a", summary: "s", severity: "URGENT", line: 0 };
    const problems = contract.check({
      method: "POST",
      path: `/2.0/repositories/acme/infra/commit/${SHA}/reports/bitbucket-iac-plan/annotations`,
      query: "",
      requestBody: Array.from({ length: 101 }, () => annotation),
      status: 200,
      responseBody: [],
      responseHeaders: {},
      at: 0,
    });
    const at = `POST /2.0/repositories/acme/infra/commit/${SHA}/reports/bitbucket-iac-plan/annotations -> 200: request`;
    for (const p of [
      `${at} / must NOT have more than 100 items (#/paths/~1repositories~1%7Bworkspace%7D~1%7Brepo_slug%7D~1commit~1%7Bcommit%7D~1reports~1%7BreportId%7D~1annotations/post/requestBody/content/application~1json/schema)`,
      `${at} /0/severity must be equal to one of the allowed values (#/paths/~1repositories~1%7Bworkspace%7D~1%7Brepo_slug%7D~1commit~1%7Bcommit%7D~1reports~1%7BreportId%7D~1annotations/post/requestBody/content/application~1json/schema)`,
      `${at} /0/line must be >= 1 (#/paths/~1repositories~1%7Bworkspace%7D~1%7Brepo_slug%7D~1commit~1%7Bcommit%7D~1reports~1%7BreportId%7D~1annotations/post/requestBody/content/application~1json/schema)`,
    ])
      assert.ok(problems.includes(p), `${p}\nnot in:\n${problems.join("\n")}`);
  });
});

describe("contract: Code Insights reports and annotations against the Data Center 9.2 spec", function () {
  this.timeout(60_000);
  let contract: Contract;
  let emu: Emulator;
  let restore: () => void;

  before(async function () {
    requireSpec(this, DC_SPEC);
    contract = dataCenterContract();
    emu = await startEmulator({
      dc: { projects: { PROJ: ["api", "infra"] }, users: ["ci-bot"] },
      tokens: { [TOKEN]: { scopes: [] }, other: { scopes: [], dcUser: "ci-bot" } },
    });
    restore = useEmulator(emu, { BITBUCKET_FLAVOR: "datacenter", BITBUCKET_API_URL: emu.dcUrl });
  });
  after(async () => {
    restore?.();
    await emu?.close();
  });

  it("validates every request plan --report sends and every response the emulator gives", async () => {
    const dir = workdir({ "bitbucket.yaml": DC_MANIFEST });
    const where = ["--report", "--commit", SHA, "--repository", "PROJ/infra"];
    for (const _ of [1, 2]) assert.equal((await run(["plan", ...where], dir)).code, 2);
    clearCache();
    await publishReport({ flavor: "datacenter", owner: "PROJ", repository: "infra", commit: SHA }, many(150));
    const api = axios.create({ baseURL: emu.dcUrl, validateStatus: () => true });
    const as = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    const report = `/rest/insights/latest/projects/PROJ/repos/infra/commits/${SHA}/reports/bitbucket-iac-plan`;
    await api.get(report, as(TOKEN));
    await api.get(`${report}/annotations`, as(TOKEN));
    await api.put(report, { title: "theirs", data: [] }, as("other")); // 401: not its author
    await api.put(report.replace(SHA, "abc"), { title: "short hash", data: [] }, as(TOKEN)); // 400
    await api.delete(report, as(TOKEN));
    await api.get(report, as(TOKEN)); // 404

    const exchanged = seen(contract, emu);
    const template =
      "/insights/latest/projects/{projectKey}/repos/{repositorySlug}/commits/{commitId}/reports/{key}";
    for (const must of [
      `PUT ${template} 200`,
      `PUT ${template} 400`,
      `PUT ${template} 401`,
      `GET ${template} 200`,
      `GET ${template} 404`,
      `DELETE ${template} 204`,
      `DELETE ${template}/annotations 204`,
      `POST ${template}/annotations 204`,
      `GET ${template}/annotations 200`,
    ])
      assert.ok(exchanged.has(must), `exchange not exercised: ${must} (seen: ${[...exchanged].join("; ")})`);
    assert.deepEqual(
      emu.entries().flatMap((e) => contract.check(e)),
      [],
    );
  });

  it("fails on an exchange past the spec's limits (the checker can fail)", () => {
    const problems = contract.check({
      method: "PUT",
      path: `/rest/insights/latest/projects/PROJ/repos/infra/commits/${SHA}/reports/bitbucket-iac-plan`,
      query: "",
      requestBody: {
        title: "t".repeat(451),
        result: "BROKEN",
        data: Array.from({ length: 7 }, () => ({ title: "n", type: "NUMBER", value: 1 })),
      },
      status: 200,
      responseBody: { key: "bitbucket-iac-plan", createdDate: 1 },
      responseHeaders: {},
      at: 0,
    });
    const at = `PUT /rest/insights/latest/projects/PROJ/repos/infra/commits/${SHA}/reports/bitbucket-iac-plan -> 200: request`;
    assert.deepEqual(problems, [
      `${at} /data must NOT have more than 6 items (#/components/schemas/RestSetInsightReportRequest)`,
      `${at} /result must match pattern "FAIL|PASS" (#/components/schemas/RestSetInsightReportRequest)`,
      `${at} /title must NOT have more than 450 characters (#/components/schemas/RestSetInsightReportRequest)`,
    ]);
  });
});
