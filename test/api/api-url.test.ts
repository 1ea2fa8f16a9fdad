// Issue 24 item 5: an API URL that is wrong for its flavor is named, with the value to set. Cloud's
// API paths start after /2.0; a Data Center server's base URL has no /rest (the provider adds it).
// What is certainly wrong is refused before any request; what only looks wrong (a proxy could
// serve the API elsewhere) is said when a request is answered 404 or 501, and such a 404 is not
// taken for an object gone.

import * as assert from "node:assert/strict";
import { getOrUndefined } from "../../provider/api/client";
import { startEmulator, type Emulator } from "../emulator/server";
import { TOKEN } from "../harness/fixture";
import { ALL_SCOPES } from "../emulator/store";
import { run, useEmulator, workdir } from "../cli/run";

const CLOUD = `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:push]
`;
const DATACENTER = `version: 1
flavor: datacenter
project: PROJ
webhooks:
  - repositories: [api]
    url: https://hooks.example.test/ci
    events: [repo:refs_changed]
`;
const SETTING = "bitbucket:apiUrl / BITBUCKET_API_URL";

describe("a wrong API URL", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let restore = () => undefined as void;
  const dir = workdir({ "bitbucket.yaml": CLOUD, "dc.yaml": DATACENTER });

  before(async () => {
    emu = await startEmulator({
      workspaces: { acme: ["api"] },
      dc: { projects: { PROJ: ["api"] } },
      tokens: { [TOKEN]: { scopes: ALL_SCOPES } },
    });
  });
  after(async () => emu.close());
  beforeEach(() => emu.resetLog());
  afterEach(() => {
    restore();
    restore = () => undefined;
  });

  /** `plan` (or `args`) with the API URL `apiUrl`, on Cloud or Data Center. */
  const planWith = (apiUrl: string, flavor: "cloud" | "datacenter", args = ["plan"]) => {
    restore();
    restore = useEmulator(emu, { BITBUCKET_API_URL: apiUrl, BITBUCKET_FLAVOR: flavor });
    return run(flavor === "datacenter" && args[0] === "plan" ? [...args, "dc.yaml"] : args, dir);
  };

  describe("on Bitbucket Cloud", () => {
    it("without /2.0: the failed request says to add it, in plan and export", async () => {
      const r = await planWith(emu.url, "cloud");
      const hint = `${SETTING} is "${emu.url}", without /2.0, where Bitbucket Cloud's API paths start: set it to "${emu.url}/2.0" (for a Data Center server, set bitbucket:flavor / BITBUCKET_FLAVOR to datacenter instead)`;
      assert.equal(r.code, 3, r.err);
      assert.ok(
        r.out.includes(
          `    GET /repositories/acme/api/hooks failed (501): [emulator] no route for GET /repositories/acme/api/hooks - ${hint}\n`,
        ),
        r.out,
      );
      const e = await run(["export", "--workspace", "acme"], dir);
      assert.deepEqual(
        [e.code, e.err],
        [
          1,
          `bitbucket-iac export: GET /repositories/acme failed (501): [emulator] no route for GET /repositories/acme - ${hint}`,
        ],
      );
    });

    it("with /2.0 twice: refused before any request, naming the value to set", async () => {
      const r = await planWith(`${emu.apiUrl}/2.0/`, "cloud");
      assert.deepEqual(
        [r.code, r.err],
        [
          1,
          `bitbucket-iac plan: ${SETTING} is "${emu.apiUrl}/2.0", with /2.0 twice: set it to "${emu.apiUrl}"; the provider adds /repositories/... after it`,
        ],
      );
      const longer = await planWith(`${emu.apiUrl}/repositories/acme`, "cloud");
      assert.equal(
        longer.err,
        `bitbucket-iac plan: ${SETTING} is "${emu.apiUrl}/repositories/acme": Bitbucket Cloud's API base URL ends at /2.0, set it to "${emu.apiUrl}"; the provider adds /repositories/... after it`,
      );
      assert.deepEqual(emu.log(), []);
    });

    it("Bitbucket's own hosts without /2.0: refused before any request", async () => {
      const api = await planWith("https://api.bitbucket.org/", "cloud");
      assert.deepEqual(
        [api.code, api.err],
        [
          1,
          `bitbucket-iac plan: ${SETTING} is "https://api.bitbucket.org", without /2.0, where Bitbucket Cloud's API paths start: unset it (the default is https://api.bitbucket.org/2.0), or set it to "https://api.bitbucket.org/2.0"`,
        ],
      );
      const site = await planWith("https://bitbucket.org/acme", "cloud");
      assert.equal(
        site.err,
        `bitbucket-iac plan: ${SETTING} is "https://bitbucket.org/acme", Bitbucket Cloud's web site: its API is at https://api.bitbucket.org/2.0, the default: unset it, or set it to "https://api.bitbucket.org/2.0"`,
      );
    });

    it("says nothing of the URL when it is right and the object is missing", async () => {
      restore = useEmulator(emu);
      const r = await run(["export", "--workspace", "nowhere"], dir);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        "bitbucket-iac export: GET /repositories/nowhere failed (404): No workspace with identifier 'nowhere'.",
      );
    });

    it("does not take a 404 under a URL without /2.0 for the object gone", async () => {
      const path = "/repositories/acme/api/hooks/%7Bgone%7D";
      restore = useEmulator(emu, { BITBUCKET_API_URL: emu.url });
      emu.fault({ path: "/hooks/", status: 404, body: { type: "error", error: { message: "Not found" } } });
      await assert.rejects(getOrUndefined(path), {
        message: `GET ${path} failed (404): Not found - ${SETTING} is "${emu.url}", without /2.0, where Bitbucket Cloud's API paths start: set it to "${emu.url}/2.0" (for a Data Center server, set bitbucket:flavor / BITBUCKET_FLAVOR to datacenter instead)`,
      });
      restore();
      restore = useEmulator(emu);
      assert.equal(await getOrUndefined(path), undefined, "under the right URL, a 404 is the object gone");
    });
  });

  describe("on Bitbucket Data Center", () => {
    it("with /rest, once or twice: refused before any request, naming the server's base URL", async () => {
      for (const given of [`${emu.dcUrl}/rest`, `${emu.dcUrl}/rest/api/1.0/`, `${emu.dcUrl}/rest/rest`]) {
        const r = await planWith(given, "datacenter");
        assert.deepEqual(
          [r.code, r.err],
          [
            1,
            `bitbucket-iac plan: ${SETTING} is "${given.replace(/\/$/, "")}": with flavor datacenter give the server's base URL without /rest, "${emu.dcUrl}"; the provider adds /rest/api/latest/... itself`,
          ],
          given,
        );
      }
      const context = await planWith("https://example.test/bitbucket/rest/api/latest", "datacenter");
      assert.match(context.err, /without \/rest, "https:\/\/example\.test\/bitbucket"; /);
      assert.deepEqual(emu.log(), []);
    });

    it("with Cloud's /2.0: the failed request says to give the server's base URL, in plan and audit", async () => {
      const r = await planWith(emu.apiUrl, "datacenter");
      const hint = `${SETTING} is "${emu.apiUrl}", ending in Bitbucket Cloud's /2.0: for a Data Center server give its base URL, "${emu.dcUrl}" (for Bitbucket Cloud, set bitbucket:flavor / BITBUCKET_FLAVOR to cloud instead)`;
      assert.equal(r.code, 3, r.err);
      assert.ok(
        r.out.includes(
          `    GET /rest/api/latest/projects/PROJ/repos/api/webhooks failed (501): [emulator] no route for GET /2.0/rest/api/latest/projects/PROJ/repos/api/webhooks - ${hint}\n`,
        ),
        r.out,
      );
      const a = await run(["audit", "--project", "PROJ"], dir);
      assert.deepEqual(
        [a.code, a.err],
        [
          1,
          `bitbucket-iac audit: GET /rest/api/latest/projects/PROJ/repos failed (501): [emulator] no route for GET /2.0/rest/api/latest/projects/PROJ/repos - ${hint}`,
        ],
      );
    });

    it("Bitbucket Cloud's host: refused before any request, naming the flavor", async () => {
      const r = await planWith("https://api.bitbucket.org/2.0", "datacenter");
      assert.deepEqual(
        [r.code, r.err],
        [
          1,
          `bitbucket-iac plan: ${SETTING} is "https://api.bitbucket.org/2.0", which is Bitbucket Cloud, but bitbucket:flavor / BITBUCKET_FLAVOR is "datacenter": for Bitbucket Cloud set the flavor to cloud (or unset it), for Data Center set ${SETTING} to the server's base URL, e.g. https://bitbucket.example.com`,
        ],
      );
    });
  });
});
