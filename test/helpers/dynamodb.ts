/** Real DynamoDB-compatible engines for tests: dynalite in-process, and stub endpoints that fail on purpose. */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { type AppOptions, buildApp } from "../../app/src/app.js";
import { ActivityRepository } from "../../app/src/db/activities.js";
import { createDocumentClient } from "../../app/src/db/client.js";
import { ensureTable } from "../../app/src/db/development.js";

export interface Endpoint {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<Endpoint> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** An in-memory dynalite on a free loopback port. */
export function startDynalite(): Promise<Endpoint> {
  return listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
}

/**
 * An endpoint that answers every DynamoDB call with the given AWS error, as DynamoDB does on the wire
 * (JSON 1.0 body with __type), so the real SDK parses it. The message is a marker tests look for in responses.
 */
export function startFailingDynamo(
  errorType: string,
  status = 400,
  message = "STUB-INTERNAL-DETAIL",
): Promise<Endpoint> {
  return listen(
    createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(status, {
          "content-type": "application/x-amz-json-1.0",
          "x-amzn-errortype": errorType,
        });
        response.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${errorType}`, message }));
      });
    }),
  );
}

/** An endpoint that reads every request and never answers, as a DynamoDB lost behind a network partition. */
export function startSilentDynamo(): Promise<Endpoint> {
  return listen(createServer((request) => request.resume()));
}

/** A loopback URL where nothing listens (a port that was just released). */
export async function unreachableEndpoint(): Promise<string> {
  const endpoint = await listen(createServer());
  await endpoint.close();
  return endpoint.url;
}

export interface TestApp {
  app: Awaited<ReturnType<typeof buildApp>>;
  client: DynamoDBDocumentClient;
  tableName: string;
  close(): Promise<void>;
}

/** The real app on a real engine, with a fresh table unless `createTable` is false. */
export async function buildTestApp(
  endpoint: string,
  options: Pick<
    AppOptions,
    "requestTimeoutMs" | "auth" | "keySetTiming" | "rateLimit" | "trustedProxyHops"
  > & {
    createTable?: boolean;
  } = {},
): Promise<TestApp> {
  const tableName = `activities-${randomUUID().slice(0, 8)}`;
  const client = createDocumentClient({ dynamodbEndpoint: endpoint, region: "us-east-1" }, {});
  if (options.createTable ?? true) await ensureTable(client, tableName);
  const { createTable: _, ...appOptions } = options;
  const app = await buildApp({ activities: new ActivityRepository(client, tableName), ...appOptions });
  return {
    app,
    client,
    tableName,
    close: async () => {
      await app.close();
      client.destroy();
    },
  };
}
