/**
 * One benchmark subject, run by test/bench/index.ts as a plain node child process on the app's compiled
 * output (app/dist, as in the image), so that its event loop and memory are its own: `engine` is dynalite
 * with the seeded table; `app` and `bare` serve HTTP against it with the same DynamoDB client, the app through
 * Fastify, `bare` through node:http doing the same GetItem; `app-auth` is the app requiring tokens from the
 * issuer at ISSUER_URL. Reports its port over IPC.
 */
import { createServer } from "node:http";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { buildApp } from "../../app/dist/app.js";
import { ActivityRepository } from "../../app/dist/db/activities.js";
import { createDocumentClient } from "../../app/dist/db/client.js";
import { ensureTable, seedActivity } from "../../app/dist/db/development.js";

const [mode, endpoint, logLevel = "warn", issuerUrl] = process.argv.slice(2);
const tableName = "activities";

/** @param {{ listen: Function, address(): any }} server */
async function listen(server) {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server.address().port;
}

let port;
if (mode === "engine") {
  // Imported here only, so that the HTTP subjects' memory holds no dynalite.
  const { default: dynalite } = await import("dynalite");
  port = await listen(dynalite({ createTableMs: 0 }));
  const client = createDocumentClient({ dynamodbEndpoint: `http://127.0.0.1:${port}`, region: "us-east-1" });
  await ensureTable(client, tableName);
  await seedActivity(client, tableName);
  client.destroy();
} else if (mode === "app" || mode === "app-auth") {
  const client = createDocumentClient({ dynamodbEndpoint: endpoint, region: "us-east-1" });
  const app = await buildApp({
    activities: new ActivityRepository(client, tableName),
    logger: { level: logLevel },
    ...(mode === "app-auth" && { auth: { issuer: issuerUrl, audience: "activity-api", userClaim: "sub" } }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = app.server.address().port;
} else if (mode === "bare") {
  const client = createDocumentClient({ dynamodbEndpoint: endpoint, region: "us-east-1" });
  const server = createServer(async (request, response) => {
    const json = (status, body) => {
      response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
      response.end(body);
    };
    if (request.url === "/health") return json(200, '{"status":"ok"}');
    const id = request.url?.startsWith("/activity/") ? request.url.slice("/activity/".length) : undefined;
    if (id === undefined) return json(404, "{}");
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }),
    );
    return Item ? json(200, JSON.stringify(Item)) : json(404, "{}");
  });
  server.keepAliveTimeout = 75_000;
  port = await listen(server);
} else {
  throw new Error(
    `usage: server.mjs <engine | app ENDPOINT [logLevel] | app-auth ENDPOINT logLevel ISSUER_URL | bare ENDPOINT>; got ${mode}`,
  );
}
process.send?.({ port });
