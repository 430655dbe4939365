/**
 * The API's logs: one JSON object per line, each tied to its request's id; probes leave no request lines; a
 * refused token's reason is logged, the token never.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../app/src/app.js";
import { ActivityRepository } from "../../app/src/db/activities.js";
import { createDocumentClient } from "../../app/src/db/client.js";
import { ensureTable } from "../../app/src/db/development.js";
import { DEV_AUDIENCE, startLocalIssuer } from "../../cli/auth-dev/issuer.js";
import { type Endpoint, startDynalite } from "../helpers/dynamodb.js";

let engine: Endpoint;
const lines: Array<Record<string, unknown>> = [];
let app: Awaited<ReturnType<typeof buildApp>>;
let secured: Awaited<ReturnType<typeof buildApp>>;
let expiredToken: string;

beforeAll(async () => {
  engine = await startDynalite();
  const client = createDocumentClient({ dynamodbEndpoint: engine.url, region: "us-east-1" }, {});
  await ensureTable(client, "logged");
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  app = await buildApp({
    activities: new ActivityRepository(client, "logged"),
    logger: { level: "info", stream },
  });
  const issuer = await startLocalIssuer();
  secured = await buildApp({
    activities: new ActivityRepository(client, "logged"),
    logger: { level: "info", stream },
    auth: { issuer: issuer.url, audience: DEV_AUDIENCE, userClaim: "sub" },
  });
  expiredToken = await issuer.accessToken("alice", {}, { expiresInSeconds: -600 });
  return async () => {
    await app.close();
    await secured.close();
    await issuer.close();
    client.destroy();
  };
});
afterAll(() => engine.close());

describe("logs", () => {
  it("tie every line of a request to the id it answers with in x-request-id", async () => {
    lines.length = 0;
    const response = await app.inject({
      method: "GET",
      url: "/activity/missing",
      headers: { "x-request-id": "trace-42" },
    });
    expect(response.headers["x-request-id"]).toBe("trace-42");
    const requestLines = lines.filter((line) => line.requestId === "trace-42");
    expect(requestLines.map((line) => line.msg)).toEqual(["incoming request", "request completed"]);
    expect(requestLines[1]).toMatchObject({ res: { statusCode: 404 }, level: 30 });
  });

  it("leave out the health and readiness probes, which run every few seconds", async () => {
    lines.length = 0;
    await app.inject({ method: "GET", url: "/health" });
    await app.inject({ method: "GET", url: "/ready" });
    expect(lines).toEqual([]);
  });

  it("say why a token was refused, and never hold the token", async () => {
    lines.length = 0;
    const response = await secured.inject({
      method: "GET",
      url: "/activity/1",
      headers: { authorization: `Bearer ${expiredToken}`, "x-request-id": "refused-1" },
    });
    expect(response.statusCode).toBe(401);
    const refused = lines.find((line) => line.msg === "token refused");
    expect(refused).toMatchObject({
      requestId: "refused-1",
      code: "invalid_token",
      reason: "the token has expired",
    });
    const signature = expiredToken.split(".")[2] as string;
    for (const line of lines) expect(JSON.stringify(line)).not.toContain(signature);
  });
});
