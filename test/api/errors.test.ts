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

  it("reads Data Center errors[], OAuth errors and plain text", () => {
    assert.equal(
      parseErrorBody({ errors: [{ context: "name", message: "required" }, { message: "two" }] }).apiMessage,
      "name: required; two",
    );
    assert.equal(
      parseErrorBody({ error: "unauthorized_client", error_description: "Invalid OAuth client credentials" })
        .apiMessage,
      "Invalid OAuth client credentials (unauthorized_client)",
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
});
