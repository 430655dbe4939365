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
  /** An access key, read by the AWS SDK's default credential chain: how a preview's own identity reaches it. */
  accessKeyId: "AWS_ACCESS_KEY_ID",
  secretAccessKey: "AWS_SECRET_ACCESS_KEY",
  logLevel: "LOG_LEVEL",
  /** Set: every activity route needs a bearer token from this OIDC issuer. Unset: the API is open. */
  authIssuer: "AUTH_ISSUER",
  /** The API's identifier at the issuer: a token's `aud`, or a Cognito access token's `client_id`. */
  authAudience: "AUTH_AUDIENCE",
  /** The token claim that names the caller, matched against activities' userId. */
  authUserClaim: "AUTH_USER_CLAIM",
  rateLimitMax: "RATE_LIMIT_MAX",
  rateLimitWindowSeconds: "RATE_LIMIT_WINDOW_SECONDS",
  /** How many proxies in front of the API append to X-Forwarded-For: 1 behind Caddy or an ALB, 0 when none. */
  trustedProxyHops: "TRUSTED_PROXY_HOPS",
} as const;

export const DEFAULT_TABLE_NAME = "activities";

/** AUTH_ISSUER: a URL with no query or fragment, exactly as its tokens' `iss` gives it. */
export const AUTH_ISSUER = { pattern: "^https?://[^\\s?#]+$", maxLength: 512 } as const;
/** AUTH_AUDIENCE: visible ASCII, as audiences and Cognito app client ids are. */
export const AUTH_AUDIENCE = { pattern: "^[\\x21-\\x7E]{1,512}$" } as const;
/** AUTH_USER_CLAIM: the claim that names the caller unless another is set, and what a claim name may be. */
export const AUTH_USER_CLAIM = { default: "sub", pattern: "^[A-Za-z0-9_:.-]{1,64}$" } as const;
/** RATE_LIMIT_MAX and RATE_LIMIT_WINDOW_SECONDS: their defaults and bounds. */
export const RATE_LIMIT = {
  max: { default: 1000, min: 1, max: 1_000_000 },
  windowSeconds: { default: 60, min: 1, max: 3600 },
} as const;

/** Host names that never leave the machine: the only ones an issuer may be reached at over plain HTTP. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.[0-9]{1,3}){3}$/.test(hostname);
}

/** The activity table: `id` is the partition key; a GSI serves "a user's activities, newest first". */
export const ACTIVITY_TABLE = {
  partitionKey: "id",
  userIndex: { name: "userId-startedAt-index", partitionKey: "userId", sortKey: "startedAt" },
} as const;

/** Liveness (no database call) and readiness (database reachable, table present). */
export const HEALTH_PATH = "/health";
export const READY_PATH = "/ready";
/** The OpenAPI document, generated from the routes' schemas; open, like the probes. */
export const OPENAPI_PATH = "/openapi.json";
