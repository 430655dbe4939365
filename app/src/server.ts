/**
 * Owns a serving process: one DynamoDB client, the app on its port, development table set-up, and a
 * graceful stop on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the client, exit 0).
 */
import closeWithGrace from "close-with-grace";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import type { AppConfig } from "./config.js";
import { ActivityRepository } from "./db/activities.js";
import { createDocumentClient } from "./db/client.js";
import { prepareDevelopmentTable } from "./db/development.js";
import { replaceSdkNodeWarning } from "./node-version.js";

/** Below Docker's default 10 s stop timeout, so that we exit 0 before a SIGKILL. */
export const SHUTDOWN_GRACE_MS = 8000;

export interface ServerHooks {
  /** Runs after the app and its client are closed (local.ts stops its embedded engine here). */
  onClose?: () => Promise<void>;
}

/** Builds and starts the API; resolves once it listens. Closing the returned app releases everything. */
export async function startServer(config: AppConfig, hooks: ServerHooks = {}): Promise<FastifyInstance> {
  const oldNode = replaceSdkNodeWarning();
  const client = createDocumentClient(config);
  const app = await buildApp({
    activities: new ActivityRepository(client, config.tableName),
    logger: { level: config.logLevel, redact: ["req.headers.authorization", "req.headers.cookie"] },
  });
  if (oldNode !== undefined) app.log.warn(oldNode);
  app.addHook("onClose", async () => {
    client.destroy();
    await hooks.onClose?.();
  });
  try {
    if (config.appEnv === "development") await prepareDevelopmentTable(client, config.tableName, app.log);
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    throw error;
  }
  app.log.info(
    { appEnv: config.appEnv, tableName: config.tableName, endpoint: config.dynamodbEndpoint ?? "regional" },
    "activity API started",
  );
  return app;
}

/** startServer, then close gracefully on the first signal; a second signal or the grace period exits 1. */
export async function runServer(config: AppConfig, hooks: ServerHooks = {}): Promise<FastifyInstance> {
  const app = await startServer(config, hooks);
  closeWithGrace(
    { delay: SHUTDOWN_GRACE_MS, logger: { error: (message) => app.log.error(message) } },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, "closing after an uncaught error");
      else app.log.info({ signal }, "closing: finishing in-flight requests");
      await app.close();
    },
  );
  return app;
}
