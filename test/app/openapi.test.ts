/**
 * The OpenAPI document against the server that serves it: every answer the routes give here (each status of
 * each route, with auth on and off) is declared for its route, its body matches the declared schema and it
 * carries the declared headers; every declared operation exists, and every path serves exactly the declared
 * methods (the 405 answer's Allow lists them).
 */
import { Ajv } from "ajv";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthConfig } from "../../app/src/config.js";
import { OPENAPI_PATH } from "../../app/src/contract.js";
import { DEV_AUDIENCE, type LocalIssuer, startLocalIssuer } from "../../cli/auth-dev/issuer.js";
import {
  buildTestApp,
  type Endpoint,
  startDynalite,
  type TestApp,
  unreachableEndpoint,
} from "../helpers/dynamodb.js";

type Method = "GET" | "POST" | "PUT" | "DELETE";
interface DeclaredResponse {
  headers?: Record<string, unknown>;
  content?: { "application/json"?: { schema: object } };
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, DeclaredResponse>; security?: unknown }>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme: string }> };
}

const ajv = new Ajv({ strict: false, allErrors: true });

let engine: Endpoint;
let issuer: LocalIssuer;
let auth: AuthConfig;
const opened: TestApp[] = [];

beforeAll(async () => {
  engine = await startDynalite();
  issuer = await startLocalIssuer();
  auth = { issuer: issuer.url, audience: DEV_AUDIENCE, userClaim: "sub" };
});
afterAll(async () => {
  for (const api of opened) await api.close();
  await issuer.close();
  await engine.close();
});

async function open(...args: Parameters<typeof buildTestApp>): Promise<TestApp> {
  const api = await buildTestApp(...args);
  opened.push(api);
  return api;
}

async function documentOf(api: TestApp): Promise<Document> {
  const response = await api.app.inject({ method: "GET", url: OPENAPI_PATH });
  expect(response.statusCode).toBe(200);
  return response.json() as Document;
}

/** The declared path template a URL matches ("/activity/{id}" for "/activity/run-1?x"), if any. */
function templateOf(document: Document, url: string): string | undefined {
  const path = url.split("?")[0] ?? "";
  return Object.keys(document.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path),
  );
}

/** Records which operations were exercised, and checks each answer against the document. */
function contract(document: Document) {
  const exercised = new Set<string>();
  return {
    exercised,
    check(method: Method, url: string, response: LightMyRequestResponse) {
      const template = templateOf(document, url);
      const label = `${method} ${url} answered ${response.statusCode}`;
      expect(template, `${label}: no declared path`).toBeDefined();
      const operation = document.paths[template as string]?.[method.toLowerCase()];
      expect(operation, `${label}: no declared operation`).toBeDefined();
      exercised.add(`${method} ${template}`);
      const declared = operation?.responses[String(response.statusCode)];
      expect(declared, `${label}: status not declared`).toBeDefined();
      for (const header of Object.keys(declared?.headers ?? {})) {
        expect(response.headers[header], `${label}: declared header ${header} missing`).toBeDefined();
      }
      const schema = declared?.content?.["application/json"]?.schema;
      if (schema === undefined) {
        expect(response.body, `${label}: a body where none is declared`).toBe("");
        return;
      }
      const validate = ajv.compile(schema);
      expect(validate(response.json()), `${label}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    },
  };
}

const run = { type: "run", startedAt: "2026-03-01T10:00:00Z", durationSeconds: 1800 };

describe(`GET ${OPENAPI_PATH}`, () => {
  it("is an OpenAPI 3.1 document, open without a token, with the bearer scheme when auth is on", async () => {
    const api = await open(engine.url, { auth });
    const document = await documentOf(api);
    expect(document.openapi).toBe("3.1.0");
    expect(document.components?.securitySchemes?.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const expected = path.startsWith("/activity") ? [{ bearerAuth: [] }] : undefined;
        expect(operation.security, `${method} ${path}`).toEqual(expected);
      }
    }
  });

  it("agrees with every answer of every route, with auth on", async () => {
    const api = await open(engine.url, { auth });
    const document = await documentOf(api);
    const { check, exercised } = contract(document);
    const alice = { authorization: `Bearer ${await issuer.accessToken("alice")}` };
    const json = { ...alice, "content-type": "application/json" };
    const send = async (
      method: Method,
      url: string,
      headers: Record<string, string> = alice,
      payload?: unknown,
    ) => {
      const response = await api.app.inject({
        method,
        url,
        headers,
        ...(payload !== undefined && {
          payload: typeof payload === "string" ? payload : JSON.stringify(payload),
        }),
      });
      check(method, url, response);
      return response;
    };

    expect((await send("GET", "/health", {})).statusCode).toBe(200);
    expect((await send("GET", "/ready", {})).statusCode).toBe(200);
    expect((await send("POST", "/activity", json, { ...run, userId: "alice" })).statusCode).toBe(201);
    expect((await send("POST", "/activity", json, { ...run, userId: "bob" })).statusCode).toBe(403);
    expect((await send("POST", "/activity", json, { ...run, userId: "alice", id: "x" })).statusCode).toBe(
      400,
    );
    const large = { ...run, userId: "alice", notes: "x".repeat(20_000) };
    expect((await send("POST", "/activity", json, large)).statusCode).toBe(413);
    const text = { ...alice, "content-type": "text/plain" };
    expect((await send("POST", "/activity", text, "hello")).statusCode).toBe(415);
    expect((await send("PUT", "/activity/a1", json, { ...run, userId: "alice" })).statusCode).toBe(201);
    expect((await send("PUT", "/activity/a1", json, { ...run, userId: "alice" })).statusCode).toBe(200);
    const stale = { ...json, "if-match": '"1"' };
    expect((await send("PUT", "/activity/a1", stale, { ...run, userId: "alice" })).statusCode).toBe(412);
    expect((await send("PUT", "/activity/a1", json, { ...run, userId: "bob" })).statusCode).toBe(403);
    expect((await send("GET", "/activity/a1")).statusCode).toBe(200);
    expect((await send("GET", "/activity/missing")).statusCode).toBe(404);
    expect((await send("GET", "/activity/bad.id")).statusCode).toBe(400);
    expect((await send("GET", "/activity/a1", {})).statusCode).toBe(401);
    expect((await send("GET", "/activity/a1", { authorization: "Bearer x.y.z" })).statusCode).toBe(401);
    expect((await send("GET", "/activity?userId=alice")).statusCode).toBe(200);
    expect((await send("GET", "/activity?userId=bob")).statusCode).toBe(403);
    expect((await send("GET", "/activity?limit=0")).statusCode).toBe(400);
    expect((await send("DELETE", "/activity/a1", { ...alice, "if-match": '"1"' })).statusCode).toBe(412);
    expect((await send("DELETE", "/activity/a1")).statusCode).toBe(204);
    expect((await send("DELETE", "/activity/a1")).statusCode).toBe(404);

    const limited = await open(engine.url, { auth, rateLimit: { max: 1, windowSeconds: 60 } });
    for (const expected of [404, 429]) {
      const response = await limited.app.inject({ method: "GET", url: "/activity/a1", headers: alice });
      expect(response.statusCode).toBe(expected);
      check("GET", "/activity/a1", response);
    }
    const noIssuer = await open(engine.url, { auth: { ...auth, issuer: await unreachableEndpoint() } });
    const unavailable = await noIssuer.app.inject({
      method: "GET",
      url: "/activity?userId=alice",
      headers: alice,
    });
    expect(unavailable.statusCode).toBe(503);
    check("GET", "/activity?userId=alice", unavailable);
    const noTable = await open(await unreachableEndpoint(), { createTable: false, auth });
    const notReady = await noTable.app.inject({ method: "GET", url: "/ready" });
    expect(notReady.statusCode).toBe(503);
    check("GET", "/ready", notReady);

    // Every declared operation exists and was answered above; every path serves exactly what is declared.
    const declared = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...exercised].sort()).toEqual(declared.sort());
    for (const [path, operations] of Object.entries(document.paths)) {
      const url = path.replace(/\{[^}]+\}/g, "x");
      const refused = await api.app.inject({ method: "PATCH", url });
      expect(refused.statusCode, `PATCH ${url}`).toBe(405);
      const served = String(refused.headers.allow)
        .split(", ")
        .filter((method) => method !== "HEAD");
      expect(served.sort(), path).toEqual(
        Object.keys(operations)
          .map((m) => m.toUpperCase())
          .sort(),
      );
    }
  });

  it("declares neither tokens nor 401/403 when auth is off, and still agrees with the routes", async () => {
    const api = await open(engine.url);
    const document = await documentOf(api);
    expect(document.components?.securitySchemes).toBeUndefined();
    const { check } = contract(document);
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.security, `${method} ${path}`).toBeUndefined();
        expect(Object.keys(operation.responses), `${method} ${path}`).not.toContain("401");
        expect(Object.keys(operation.responses), `${method} ${path}`).not.toContain("403");
      }
    }
    const json = { "content-type": "application/json" };
    check(
      "PUT",
      "/activity/b1",
      await api.app.inject({
        method: "PUT",
        url: "/activity/b1",
        headers: json,
        payload: { ...run, userId: "bob" },
      }),
    );
    check("GET", "/activity/b1", await api.app.inject({ method: "GET", url: "/activity/b1" }));
    check(
      "GET",
      "/activity?userId=anyone",
      await api.app.inject({ method: "GET", url: "/activity?userId=anyone" }),
    );
  });
});
