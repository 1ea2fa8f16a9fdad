import * as assert from "node:assert/strict";
import { apiError, isApiError, parseErrorBody } from "../../provider/api/errors";

describe("API errors", () => {
  it("reads the Cloud envelope with message, detail and object fields", () => {
    assert.deepEqual(
      parseErrorBody({
        type: "error",
        error: { message: "Bad request", detail: "why", fields: { url: ["Enter a valid URL."] } },
      }),
      { apiMessage: "Bad request", detail: "why", fields: ["url: Enter a valid URL."] },
    );
  });

  it("reads fields given as an array of strings, as real webhook 400s have them", () => {
    assert.deepEqual(
      parseErrorBody({ type: "error", error: { message: "Bad request", fields: ["Required field: url"] } }),
      {
        apiMessage: "Bad request",
        fields: ["Required field: url"],
      },
    );
  });

  it("reads a scope 403 whose detail is an object, and names the scopes", () => {
    const parsed = parseErrorBody({
      type: "error",
      error: {
        message: "Your credentials lack one or more required privilege scopes.",
        detail: { required: ["account"], granted: ["team"] },
      },
    });
    assert.deepEqual(parsed.requiredScopes, ["account"]);
    const e = apiError({ status: 403, method: "GET", path: "/user", ...parsed });
    assert.equal(
      e.message,
      "GET /user failed (403): Your credentials lack one or more required privilege scopes. - the credentials need scope(s) account but were granted team: add them to the OAuth consumer or token",
    );
  });

  it("reads Data Center errors[], OAuth errors, Code Insights errors and plain text", () => {
    assert.equal(
      parseErrorBody({ errors: [{ context: "name", message: "required" }, { message: "two" }] }).apiMessage,
      "name: required; two",
    );
    assert.equal(
      parseErrorBody({ error: "unauthorized_client", error_description: "Invalid OAuth client credentials" })
        .apiMessage,
      "Invalid OAuth client credentials (unauthorized_client)",
    );
    assert.equal(
      parseErrorBody({
        key: "report-service.general.bad-request",
        message: "The summary field cannot contain more than 450 characters.",
        arguments: {},
      }).apiMessage,
      "The summary field cannot contain more than 450 characters.",
    );
    assert.equal(
      parseErrorBody({ code: 400, message: "Bulk upload supports a maximum of 100 annotations." }).apiMessage,
      "Bulk upload supports a maximum of 100 annotations.",
    );
    assert.equal(parseErrorBody("Bad Request\n").apiMessage, "Bad Request");
    assert.equal(parseErrorBody(undefined).apiMessage, "no message");
  });

  it("is recognized by its code, not its class", () => {
    const e = apiError({ status: 0, method: "GET", path: "/x", apiMessage: "ECONNRESET" });
    assert.equal(isApiError(e), true);
    assert.equal(isApiError({ code: "BITBUCKET_API_ERROR" }), true);
    assert.equal(isApiError(new Error("x")), false);
    assert.equal(e.message, "GET /x failed (network): ECONNRESET");
  });

  it("tells a 401 where the credentials come from", () => {
    assert.match(
      apiError({ status: 401, method: "GET", path: "/x", apiMessage: "Access token expired." }).message,
      /BITBUCKET_TOKEN/,
    );
  });
  it("says what Bitbucket said in full: the detail, then every field message", () => {
    const e = apiError({
      status: 400,
      method: "POST",
      path: "/repositories/acme/api/hooks",
      ...parseErrorBody({
        type: "error",
        error: {
          message: "Bad request",
          detail: "The webhook could not be saved.",
          fields: { url: ["Enter a valid URL.", "Use https."], events: "required" },
        },
      }),
    });
    assert.equal(
      e.message,
      "POST /repositories/acme/api/hooks failed (400): Bad request - The webhook could not be saved. - url: Enter a valid URL. Use https.; events: required",
    );
    assert.equal(e.name, "BitbucketApiError");
    assert.match(String(e), /^BitbucketApiError: POST /);
  });

  it("names every required and granted scope of a 403, and says none when nothing was granted", () => {
    const none = apiError({
      status: 403,
      method: "POST",
      path: "/workspaces/acme/hooks",
      ...parseErrorBody({
        type: "error",
        error: {
          message: "Your credentials lack one or more required privilege scopes.",
          detail: { required: ["webhook", "repository"] },
        },
      }),
    });
    assert.equal(
      none.message,
      "POST /workspaces/acme/hooks failed (403): Your credentials lack one or more required privilege scopes. - the credentials need scope(s) webhook, repository but were granted none: add them to the OAuth consumer or token",
    );
    assert.match(
      apiError({
        status: 403,
        method: "GET",
        path: "/user",
        apiMessage: "m",
        requiredScopes: ["account"],
        grantedScopes: ["team", "project"],
      }).message,
      /but were granted team, project: add them/,
    );
  });

  it("keeps an object detail without scopes as JSON, and ignores a null detail or null fields", () => {
    assert.deepEqual(
      parseErrorBody({ type: "error", error: { message: "m", detail: { reason: "locked" } } }),
      {
        apiMessage: "m",
        detail: '{"reason":"locked"}',
      },
    );
    assert.deepEqual(parseErrorBody({ type: "error", error: { message: "m", detail: null, fields: null } }), {
      apiMessage: "m",
    });
  });

  it("says no message when Bitbucket sent none: an empty error, a blank text, null", () => {
    assert.deepEqual(parseErrorBody({ type: "error", error: {} }), { apiMessage: "no message" });
    assert.deepEqual(parseErrorBody({}), { apiMessage: "no message" });
    assert.deepEqual(parseErrorBody(" \n"), { apiMessage: "no message" });
    assert.deepEqual(parseErrorBody(null), { apiMessage: "no message" });
  });

  it("keeps the first 300 characters of a plain-text error (an HTML error page)", () => {
    const page = `<html>${"x".repeat(1000)}</html>`;
    assert.equal(parseErrorBody(page).apiMessage, page.slice(0, 300));
  });

  it("reads an OAuth error without a description as its code alone", () => {
    assert.deepEqual(parseErrorBody({ error: "invalid_grant" }), { apiMessage: "invalid_grant" });
  });

  it("tells a Data Center 401 that it may be a missing permission, and a Cloud 401 where the credentials come from", () => {
    const dc = apiError({
      status: 401,
      method: "POST",
      path: "/rest/api/latest/projects/PROJ/webhooks",
      apiMessage: "Authentication failed.",
    });
    assert.equal(
      dc.message,
      "POST /rest/api/latest/projects/PROJ/webhooks failed (401): Authentication failed. - Data Center answers 401 both for bad credentials and for a missing permission: check BITBUCKET_TOKEN / BITBUCKET_USERNAME+BITBUCKET_API_TOKEN, and that the user or token has REPO_ADMIN on the repository (PROJECT_ADMIN for project hooks, keys and tokens)",
    );
    assert.equal(
      apiError({
        status: 401,
        method: "GET",
        path: "/repositories/acme/rest/hooks",
        apiMessage: "Access token expired.",
      }).message,
      "GET /repositories/acme/rest/hooks failed (401): Access token expired. - check BITBUCKET_TOKEN / BITBUCKET_USERNAME+BITBUCKET_API_TOKEN or the bitbucket:* config",
    );
    assert.equal(
      apiError({
        status: 403,
        method: "GET",
        path: "/rest/api/latest/projects/PROJ/webhooks",
        apiMessage: "Licence limit.",
      }).message,
      "GET /rest/api/latest/projects/PROJ/webhooks failed (403): Licence limit.",
    );
  });

  it("is not an API error when it is null, undefined or a plain value", () => {
    for (const v of [null, undefined, "BITBUCKET_API_ERROR", 0])
      assert.equal(isApiError(v), false, String(v));
  });
});
