/** Health, readiness and what clients see when DynamoDB is missing, unreachable, throttling or failing. */
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CALL_DEADLINE_MS } from "../../app/src/db/activities.js";
import { isStorageUnavailable } from "../../app/src/errors.js";
import {
  buildTestApp,
  type Endpoint,
  startDynalite,
  startFailingDynamo,
  startSilentDynamo,
  type TestApp,
  unreachableEndpoint,
} from "../helpers/dynamodb.js";

const activity = {
  userId: "u1",
  type: "swim",
  startedAt: "2026-04-01T06:00:00Z",
  durationSeconds: 900,
};

/** A response body must never carry storage internals: AWS messages, error names, stacks, table names. */
function expectNoInternals(body: string, tableName: string) {
  for (const leak of ["STUB-INTERNAL-DETAIL", "Exception", "ECONNREFUSED", "at ", "aws", tableName]) {
    expect(body).not.toContain(leak);
  }
}

describe("with a reachable engine", () => {
  let engine: Endpoint;
  beforeAll(async () => {
    engine = await startDynalite();
  });
  afterAll(() => engine.close());

  it("/health and /ready answer 200 when the table exists", async () => {
    const api = await buildTestApp(engine.url);
    expect((await api.app.inject({ method: "GET", url: "/health" })).json()).toEqual({ status: "ok" });
    expect((await api.app.inject({ method: "GET", url: "/ready" })).json()).toEqual({ status: "ready" });
    await api.close();
  });

  it("/ready answers 503 with Retry-After when the table is missing, and requests get 503 too", async () => {
    const api = await buildTestApp(engine.url, { createTable: false });
    const ready = await api.app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers["retry-after"]).toBe("2");
    const read = await api.app.inject({ method: "GET", url: "/activity/1" });
    expect(read.statusCode).toBe(503);
    expectNoInternals(read.body, api.tableName);
    await api.close();
  });
});

describe("with DynamoDB unreachable", () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await buildTestApp(await unreachableEndpoint(), { createTable: false });
  });
  afterAll(() => api.close());

  it("/health still answers 200: it makes no database call", async () => {
    expect((await api.app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
  });

  it("/ready answers 503 with Retry-After", async () => {
    const response = await api.app.inject({ method: "GET", url: "/ready" });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("2");
  });

  it.each([
    ["GET", "/activity/1", undefined],
    ["GET", "/activity?userId=u1", undefined],
    ["POST", "/activity", activity],
    ["PUT", "/activity/x1", activity],
    ["DELETE", "/activity/x1", undefined],
  ] as const)("%s %s answers 503 with Retry-After and a generic message", async (method, url, body) => {
    const response = await api.app.inject({
      method,
      url,
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, payload: JSON.stringify(body) }),
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("2");
    expect(response.json()).toEqual({
      statusCode: 503,
      error: "Service Unavailable",
      message: "the activity store is unavailable; retry later",
    });
    expectNoInternals(response.body, api.tableName);
  });
});

describe("with DynamoDB that never answers", () => {
  it(`gives up after ${CALL_DEADLINE_MS} ms, retries included, and answers 503`, async () => {
    // The SDK alone would take three attempts of 2 s each, plus back-off: over 6 s.
    const stub = await startSilentDynamo();
    const api = await buildTestApp(stub.url, { createTable: false });
    const started = Date.now();
    const response = await api.app.inject({ method: "GET", url: "/activity/1" });
    const elapsed = Date.now() - started;
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("2");
    expect(elapsed).toBeGreaterThanOrEqual(CALL_DEADLINE_MS - 100);
    expect(elapsed).toBeLessThan(CALL_DEADLINE_MS + 1000);
    expectNoInternals(response.body, api.tableName);
    await api.close();
    await stub.close();
  });
});

describe("isStorageUnavailable", () => {
  const metadata = { $metadata: {}, message: "m" };
  it.each([
    ["throttling", new ProvisionedThroughputExceededException(metadata)],
    ["request limit", new RequestLimitExceeded(metadata)],
    ["server error", new InternalServerError(metadata)],
    ["missing table", new ResourceNotFoundException(metadata)],
    ["deadline", Object.assign(new Error("aborted"), { name: "AbortError" })],
    ["refused", Object.assign(new Error("connect"), { code: "ECONNREFUSED" })],
    ["5xx", Object.assign(new Error("x"), { $metadata: { httpStatusCode: 503 } })],
  ])("is true for %s", (_label, error) => {
    expect(isStorageUnavailable(error)).toBe(true);
  });

  it.each([
    ["a failed condition", new ConditionalCheckFailedException(metadata)],
    [
      "a bad request",
      Object.assign(new Error("x"), { name: "ValidationException", $metadata: { httpStatusCode: 400 } }),
    ],
    ["a programming error", new TypeError("x is undefined")],
    ["a non-error", "ECONNREFUSED"],
  ])("is false for %s", (_label, error) => {
    expect(isStorageUnavailable(error)).toBe(false);
  });
});

describe("with DynamoDB answering errors", () => {
  it.each([
    ["ProvisionedThroughputExceededException", 400],
    ["InternalServerError", 500],
  ])("a %s becomes 503 with Retry-After, after the SDK's bounded retries", async (errorType, status) => {
    const stub = await startFailingDynamo(errorType, status);
    const api = await buildTestApp(stub.url, { createTable: false });
    const started = Date.now();
    const response = await api.app.inject({ method: "GET", url: "/activity/1" });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("2");
    expect(Date.now() - started).toBeLessThan(5000);
    expectNoInternals(response.body, api.tableName);
    await api.close();
    await stub.close();
  });

  it("an unexpected DynamoDB error becomes a generic 500 that leaks nothing", async () => {
    const stub = await startFailingDynamo("ValidationException");
    const api = await buildTestApp(stub.url, { createTable: false });
    const response = await api.app.inject({ method: "GET", url: "/activity/1" });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      statusCode: 500,
      error: "Internal Server Error",
      message: "internal error; it has been logged with this request's id",
    });
    expectNoInternals(response.body, api.tableName);
    await api.close();
    await stub.close();
  });
});
