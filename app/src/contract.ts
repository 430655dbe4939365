/**
 * The facts the API and the infrastructure must agree on, written once: ports, environment variable names,
 * the table's key schema and the health endpoints. The Pulumi components import this module; it imports nothing.
 */

/** Host port the API is published on everywhere (the original workflow's `docker run -p 10001:4567`). */
export const HOST_PORT = 10001;

/** Port the API listens on inside its container (the original workflow's 4567). */
export const APP_PORT = 4567;

/** Numeric uid/gid of the dedicated non-root user the image runs as (see app/Dockerfile). */
export const APP_UID = 10001;

/** The values of APP_ENV; `test` is the original workflow's RACK_ENV=test switch to regional DynamoDB. */
export const APP_ENVS = ["development", "test", "production"] as const;
export type AppEnv = (typeof APP_ENVS)[number];

/** Environment variables the API reads. */
export const ENV = {
  appEnv: "APP_ENV",
  port: "PORT",
  host: "HOST",
  tableName: "TABLE_NAME",
  dynamodbEndpoint: "DYNAMODB_ENDPOINT",
  region: "AWS_REGION",
  logLevel: "LOG_LEVEL",
} as const;

export const DEFAULT_TABLE_NAME = "activities";

/** The activity table: `id` is the partition key; a GSI serves "a user's activities, newest first". */
export const ACTIVITY_TABLE = {
  partitionKey: "id",
  userIndex: { name: "userId-startedAt-index", partitionKey: "userId", sortKey: "startedAt" },
} as const;

/** Liveness (no database call) and readiness (database reachable, table present). */
export const HEALTH_PATH = "/health";
export const READY_PATH = "/ready";
