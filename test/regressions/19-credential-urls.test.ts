// Issue 19, case 7: a receiver URL that carries a credential (`?token=...`, user:password@, a
// #fragment) used to sit in clear in state (`inputs.url`, `outputs.url`), and plan, the pull
// request comment and export printed it. Now such a URL is a secret input and output (state
// encrypted), every printed URL goes through redactUrl, and export writes it as a reference.
// Everything runs for real: the program under mocks, the dynamic-provider host, the emulator, and
// the command line in-process.

import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import * as yaml from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { deployManifest } from "../../provider/manifest/deploy";
import { isManifestError, parseManifest } from "../../provider/manifest/load";
import { hasCredentials, redactUrl, urlForName } from "../../provider/names";
import { Engine, type Step } from "../harness/deploy";
import { DEFAULT_SEED, fixture, type Fixture } from "../harness/fixture";
import { run, useEmulator, workdir } from "../cli/run";

const TOKEN_VALUE = "s3cr3t-tok";
const PASSWORD = "pa55";
const QUERY_URL = `https://hooks.example.test/ci?token=${TOKEN_VALUE}`;
const USER_URL = `https://ci-user:${PASSWORD}@hooks.example.test/basic`;
const PLAIN_URL = "https://hooks.example.test/plain";
/** Which credential of the URLs above `text` shows. */
const leaks = (text: string) => [TOKEN_VALUE, PASSWORD, "ci-user"].filter((s) => text.includes(s));

const MANIFEST = (events = "[repo:push]") => `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: ${QUERY_URL}
    events: ${events}
  - repositories: [api]
    url: ${USER_URL}
    events: ${events}
  - repositories: [api]
    url: ${PLAIN_URL}
    events: ${events}
`;
const NAMES = {
  query: "webhook/acme/api/hooks.example.test/ci",
  user: "webhook/acme/api/hooks.example.test/basic",
  plain: "webhook/acme/api/hooks.example.test/plain",
};
const ops = (steps: Step[]) => steps.map((s) => `${s.op} ${s.type} ${s.name}`).sort();

/** fast-check's settings: a fixed seed in `npm test`; FUZZ_RUNS / FUZZ_SEED for a longer run. */
const FUZZ = {
  numRuns: Number(process.env.FUZZ_RUNS ?? 300),
  seed: Number(process.env.FUZZ_SEED ?? 19_007),
};

describe("issue 19.7: a URL with credentials is a secret", function () {
  this.timeout(180_000);

  it("redacts credentials, every query value and the fragment, keeping scheme, host, port and path (property)", () => {
    // Credentials are upper case and digits (with URL punctuation); the rest is lower case, so a
    // credential in the output can only have leaked.
    const secretText = fc
      .stringMatching(/^[A-Z0-9=:/@._~-]{1,12}$/)
      .map((s) => `SEC${s.replace(/[/@:]/g, "Z")}`);
    const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
    fc.assert(
      fc.property(
        fc.record({
          scheme: fc.constantFrom("https", "http", "HTTPS"),
          user: fc.option(secretText, { nil: undefined }),
          password: fc.option(secretText, { nil: undefined }),
          host: fc.array(word, { minLength: 1, maxLength: 3 }).map((l) => `${l.join(".")}.test`),
          port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
          path: fc.array(word, { maxLength: 3 }).map((l) => `/${l.join("/")}`),
          query: fc.array(fc.tuple(word, fc.option(secretText, { nil: undefined })), { maxLength: 3 }),
          fragment: fc.option(secretText, { nil: undefined }),
        }),
        (u) => {
          const userinfo =
            u.user !== undefined ? `${u.user}${u.password !== undefined ? `:${u.password}` : ""}@` : "";
          const query = u.query.map(([k, v]) => (v === undefined ? `${k}=` : `${k}=${v}`)).join("&");
          const url = `${u.scheme}://${userinfo}${u.host}${u.port ? `:${u.port}` : ""}${u.path}${query ? `?${query}` : ""}${u.fragment ? `#${u.fragment}` : ""}`;
          const shown = redactUrl(url);
          const secrets = [u.user, u.user && u.password, ...u.query.map(([, v]) => v), u.fragment].filter(
            (s): s is string => typeof s === "string",
          );
          for (const s of secrets) {
            assert.ok(!shown.includes(s), `${url} shown as ${shown}`);
            assert.ok(!urlForName(url).includes(s), `${url} named ${urlForName(url)}`);
          }
          const before = new URL(url);
          const after = new URL(shown);
          assert.deepEqual(
            [after.protocol, after.hostname, after.port, after.pathname],
            [before.protocol, before.hostname, before.port, before.pathname],
          );
          assert.deepEqual(
            [...after.searchParams.keys()],
            [...before.searchParams.keys()],
            "query keys are kept",
          );
          assert.equal(hasCredentials(url), userinfo !== "" || query !== "" || !!u.fragment);
          assert.equal(redactUrl(shown), shown, "redacting twice changes nothing");
        },
      ),
      FUZZ,
    );
    assert.equal(redactUrl(QUERY_URL), "https://hooks.example.test/ci?token=***");
    assert.equal(redactUrl(USER_URL), "https://***@hooks.example.test/basic");
    assert.equal(redactUrl(PLAIN_URL), PLAIN_URL);
    assert.equal(hasCredentials(PLAIN_URL), false);
  });

  describe("through the engine, plan and export", () => {
    let f: Fixture;
    let engine: Engine;
    let restore: () => void;
    beforeEach(async () => {
      f = await fixture({ ...DEFAULT_SEED, pullRequests: { "acme/api": [7] } });
      engine = new Engine(f.harness);
      restore = useEmulator(f.emulator, { BITBUCKET_PR_ID: "7", BITBUCKET_REPO_FULL_NAME: "acme/api" });
    });
    afterEach(async () => {
      restore();
      await f.close();
    });

    const deploy = (text: string) => async () =>
      Object.values(
        (await deployManifest(parseManifest(text, "bitbucket.yaml"), () => [{ slug: "api" }])).resources,
      );

    it("keeps a URL with credentials encrypted in state and in no output of a deploy; a plain URL stays plain", async () => {
      const first = await engine.up(deploy(MANIFEST()));
      assert.equal(first.error, undefined);
      assert.deepEqual(
        f.emulator.store
          .allHooks()
          .map((h) => h.url)
          .sort(),
        [QUERY_URL, USER_URL, PLAIN_URL].sort(),
        "Bitbucket gets the whole URL",
      );
      for (const name of [NAMES.query, NAMES.user]) {
        const e = engine.entry("Webhook", name)!;
        assert.ok(e.secretInputs?.includes("url"), `${name}: url is a secret input`);
        assert.ok(e.secretOutputs?.includes("url"), `${name}: url is a secret output`);
      }
      const plain = engine.entry("Webhook", NAMES.plain)!;
      assert.deepEqual([plain.secretInputs, plain.secretOutputs], [[], ["generatedSecret", "secretHash"]]);
      const checkpoint = engine.checkpoint();
      assert.deepEqual(leaks(checkpoint), [], "the state as `pulumi stack export` writes it");
      assert.ok(checkpoint.includes(`"url": "${PLAIN_URL}"`), "a plain URL stays readable");
      assert.deepEqual(leaks([...engine.state.keys()].join("\n")), [], "names");

      const again = await engine.up(deploy(MANIFEST()));
      assert.deepEqual(
        ops(again.steps),
        Object.values(NAMES)
          .map((n) => `same Webhook ${n}`)
          .sort(),
      );
      await engine.refresh();
      assert.deepEqual(leaks(engine.checkpoint()), [], "refresh keeps it encrypted");
      assert.deepEqual(leaks(f.harness.stderr), []);
    });

    it("prints no credential in plan text, Markdown or JSON, with or without the stack's state, nor in the pull request comment", async () => {
      const dir = workdir({ "bitbucket.yaml": MANIFEST() });
      const created: Record<string, string> = {};
      for (const format of ["text", "markdown", "json"]) {
        const r = await run(["plan", "--format", format], dir);
        assert.equal(r.code, 2, r.err);
        assert.deepEqual(leaks(r.out + r.err), [], format);
        created[format] = r.out;
      }
      assert.match(
        created.text!,
        /\+ create {3}webhook https:\/\/hooks\.example\.test\/ci\?token=\*\*\* on acme\/api\n/,
      );
      assert.match(created.text!, / {4}url: "https:\/\/\*\*\*@hooks\.example\.test\/basic"\n/);
      assert.match(created.markdown!, /url: `"https:\/\/hooks\.example\.test\/ci\?token=\*\*\*"`/);
      // JSON carries the value itself, redacted (#21 item 8: no display quotes inside the string).
      assert.match(created.json!, /"to": "https:\/\/\*\*\*@hooks\.example\.test\/basic"/);

      assert.equal((await engine.up(deploy(MANIFEST()))).error, undefined);
      fs.writeFileSync(path.join(dir, "bitbucket.yaml"), MANIFEST("[repo:push, pullrequest:created]"));
      fs.writeFileSync(path.join(dir, "state.json"), engine.checkpoint());
      for (const format of ["text", "markdown", "json"]) {
        const r = await run(["plan", "--state", "state.json", "--format", format], dir);
        assert.equal(r.code, 2, r.err);
        assert.deepEqual(leaks(r.out + r.err), [], format);
        if (format === "text")
          assert.match(
            r.out,
            /~ update {3}webhook https:\/\/\*\*\*@hooks\.example\.test\/basic on acme\/api\n/,
          );
      }
      const commented = await run(["plan", "--state", "state.json", "--comment"], dir);
      assert.equal(commented.code, 2, commented.err);
      const [comment] = f.emulator.store.workspaces
        .get("acme")!
        .repos.get("api")!
        .pullRequests.get(7)!.comments;
      assert.match(
        comment!.raw,
        /\*\*update\*\* webhook https:\/\/hooks\.example\.test\/ci\?token=\\\*\\\*\\\* on acme\/api/,
      );
      assert.deepEqual(leaks(comment!.raw), []);
      assert.deepEqual(leaks(commented.out + commented.err), []);
    });

    it("names no credential when refusing to adopt a hook that differs, nor when Bitbucket's own message quotes the URL", async () => {
      f.emulator.store.addHook("acme", "api", { url: QUERY_URL, events: ["issue:created"] });
      const refused = await engine.up(deploy(MANIFEST()));
      assert.match(
        String(refused.error?.message),
        /create webhook https:\/\/hooks\.example\.test\/ci\?token=\*\*\* on acme\/api: it already exists in Bitbucket and differs/,
      );
      assert.deepEqual(leaks(String(refused.error?.message)), []);

      f.emulator.store.workspaces.get("acme")!.repos.get("api")!.hooks.splice(0);
      await f.harness.newRun();
      f.emulator.fault({
        method: "POST",
        status: 400,
        times: 3,
        body: {
          type: "error",
          error: {
            message: `Bad request: ${USER_URL} is not reachable`,
            fields: { url: [`${QUERY_URL} is blocked`] },
          },
        },
      });
      const errors = await Promise.all(
        [QUERY_URL, USER_URL].map((url) =>
          f.harness.up("Webhook", { workspace: "acme", repository: "api", url, events: ["repo:push"] }).then(
            () => "created",
            (e: Error) => e.message,
          ),
        ),
      );
      for (const m of errors) {
        assert.match(
          m,
          /^create webhook https:\/\/(\*\*\*@)?hooks\.example\.test\/\w+(\?token=\*\*\*)? on acme\/api: POST .* failed \(400\)/,
        );
        assert.deepEqual(leaks(m), [], m);
      }
      assert.deepEqual(leaks(f.harness.stderr), []);
    });

    it("exports a URL with credentials as a config reference, and that manifest validates, plans and deploys to the same hooks", async () => {
      for (const url of [QUERY_URL, USER_URL, PLAIN_URL])
        f.emulator.store.addHook("acme", "api", { url, events: ["repo:push"] });
      const dir = workdir({});
      const toStdout = await run(["export", "--workspace", "acme", "--repositories", "api"], dir);
      const toFile = await run(
        ["export", "--workspace", "acme", "--repositories", "api", "-o", "exported.yaml"],
        dir,
      );
      assert.equal(toFile.code, 0, toFile.err);
      const text = fs.readFileSync(path.join(dir, "exported.yaml"), "utf8");
      assert.deepEqual(leaks(toStdout.out + toStdout.err + toFile.out + toFile.err + text), []);
      const hooks = (yaml.parse(text) as { webhooks: Array<Record<string, unknown>> }).webhooks;
      const refs = hooks.filter((h) => typeof h.url === "object") as Array<{
        name: string;
        url: { fromConfig: string };
      }>;
      assert.deepEqual(refs.map((h) => h.name).sort(), ["hooks.example.test-basic", "hooks.example.test-ci"]);
      assert.deepEqual(
        hooks.filter((h) => typeof h.url === "string").map((h) => h.url),
        [PLAIN_URL],
      );
      const keyOf = (name: string) => refs.find((h) => h.name === name)!.url.fromConfig;
      for (const [name, shown] of [
        ["hooks.example.test-ci", "https://hooks.example.test/ci?token=***"],
        ["hooks.example.test-basic", "https://***@hooks.example.test/basic"],
      ]) {
        const line = `pulumi config set --secret ${keyOf(name!)} <value>   # the URL of webhook ${shown} on acme/api`;
        assert.ok(toFile.err.includes(line), `stderr lists ${line}`);
        assert.ok(text.includes(line), `the file lists ${line}`);
      }

      assert.equal((await run(["validate", "exported.yaml"], dir)).code, 0);
      const planned = await run(["plan", "exported.yaml"], dir);
      assert.equal(planned.code, 0, planned.out);
      assert.match(
        planned.out,
        /1 adopted as they are, 0 unchanged, 2 not looked up \(a URL from a secret reference\)\.$/m,
      );
      assert.deepEqual(leaks(planned.out + planned.err), []);

      pulumi.runtime.setAllConfig(
        {
          [`bitbucket-iac:${keyOf("hooks.example.test-ci")}`]: QUERY_URL,
          [`bitbucket-iac:${keyOf("hooks.example.test-basic")}`]: USER_URL,
        },
        [
          `bitbucket-iac:${keyOf("hooks.example.test-ci")}`,
          `bitbucket-iac:${keyOf("hooks.example.test-basic")}`,
        ],
      );
      try {
        const up = await engine.up(deploy(text));
        assert.equal(up.error, undefined);
        assert.equal(f.emulator.store.allHooks().length, 3, "each hook adopted, none duplicated");
        assert.deepEqual(leaks(engine.checkpoint()), []);
        assert.ok(
          engine.entry("Webhook", "webhook/acme/api/hooks.example.test-ci")?.secretOutputs?.includes("url"),
        );
        const again = await engine.up(deploy(text));
        assert.ok(
          again.steps.every((s) => s.op === "same"),
          ops(again.steps).join(", "),
        );
      } finally {
        pulumi.runtime.setAllConfig({});
      }
    });
  });

  it("needs a name for a URL given by reference, and says which config key is missing", async () => {
    const entry = (extra: string) => `version: 1
workspace: acme
webhooks:
  - repositories: [api]
    url: { fromConfig: ciHookUrl }
    events: [repo:push]${extra}
`;
    assert.throws(
      () => parseManifest(entry(""), "bitbucket.yaml"),
      (e: Error) => {
        assert.match(
          e.message,
          /bitbucket\.yaml:5:10 webhooks\[0\]\.url: a url given by reference needs a name on the entry/,
        );
        return true;
      },
    );
    assert.throws(
      () =>
        parseManifest(
          entry("\n    name: ci").replace("{ fromConfig: ciHookUrl }", "{ fromConfig: a, fromEnv: B }"),
          "bitbucket.yaml",
        ),
      /bitbucket\.yaml:5:10 webhooks\[0\]\.url: give exactly one of fromConfig, fromEnv/,
    );
    const m = parseManifest(entry("\n    name: ci"), "bitbucket.yaml");
    pulumi.runtime.setAllConfig({});
    await assert.rejects(
      deployManifest(m, () => [{ slug: "api" }]),
      (e: unknown) => {
        assert.ok(isManifestError(e));
        assert.match(
          e.message,
          /webhooks\[0\]\.url: stack config "ciHookUrl" is not set: run `pulumi config set --secret ciHookUrl <value>`/,
        );
        return true;
      },
    );
  });
});
