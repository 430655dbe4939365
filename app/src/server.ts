/**
 * Owns a serving process: one DynamoDB client, development table set-up, the app on its port once its table
 * answers, and a graceful stop on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the client,
 * exit 0).
 */
import { setTimeout as sleep } from "node:timers/promises";
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
async function startServer(config: AppConfig, hooks: ServerHooks = {}): Promise<FastifyInstance> {
  const oldNode = replaceSdkNodeWarning();
  const client = createDocumentClient(config);
  const activities = new ActivityRepository(client, config.tableName);
  const app = await buildApp({
    activities,
    logger: { level: config.logLevel, redact: ["req.headers.authorization", "req.headers.cookie"] },
    auth: config.auth,
    rateLimit: config.rateLimit,
    trustedProxyHops: config.trustedProxyHops,
  });
  if (oldNode !== undefined) app.log.warn(oldNode);
  app.addHook("onClose", async () => {
    client.destroy();
    await hooks.onClose?.();
  });
  try {
    if (config.appEnv === "development") await prepareDevelopmentTable(client, config.tableName, app.log);
    else await untilTableAnswers(activities, app.log);
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    throw error;
  }
  app.log.info(
    {
      appEnv: config.appEnv,
      tableName: config.tableName,
      endpoint: config.dynamodbEndpoint ?? "regional",
      auth:
        config.auth === undefined ? "off" : { issuer: config.auth.issuer, audience: config.auth.audience },
    },
    "activity API started",
  );
  return app;
}

/** Waits before the first retry of an unreachable table, doubling up to READY_RETRY_MAX_MS. */
const READY_RETRY_FIRST_MS = 250;
const READY_RETRY_MAX_MS = 5000;

/**
 * Waits, however long it takes, until the table answers a read: the port opens only then, so that a proxy or
 * load balancer that connects to every new instance at once never reaches one that cannot serve (a release
 * rolled out beside the old one takes traffic only once it is ready). Readiness probes see a closed port
 * meanwhile, and the log says why.
 */
async function untilTableAnswers(activities: ActivityRepository, log: FastifyInstance["log"]): Promise<void> {
  for (let delay = READY_RETRY_FIRST_MS; ; delay = Math.min(delay * 2, READY_RETRY_MAX_MS)) {
    try {
      await activities.ping();
      return;
    } catch (error) {
      log.warn(
        { err: error, retryInMs: delay },
        "not ready: the activity table does not answer; port not opened yet",
      );
      await sleep(delay);
    }
  }
}

/** startServer, then close gracefully on the first signal; a second signal or the grace period exits 1. */
export async function runServer(config: AppConfig, hooks: ServerHooks = {}): Promise<FastifyInstance> {
  // Until the port is open there is nothing to drain: a stop while waiting for the table is a clean exit.
  const stopBeforeReady = () => process.exit(0);
  process.once("SIGTERM", stopBeforeReady).once("SIGINT", stopBeforeReady);
  const app = await startServer(config, hooks);
  process.off("SIGTERM", stopBeforeReady).off("SIGINT", stopBeforeReady);
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
