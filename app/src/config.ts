/**
 * Reads and validates the API's configuration from environment variables, once, at start-up.
 * A bad value is a ConfigError whose one-line message names the variable and what is allowed.
 */
import { Ajv } from "ajv";
import Type from "typebox";
import {
  APP_ENVS,
  APP_PORT,
  type AppEnv,
  AUTH_AUDIENCE,
  AUTH_ISSUER,
  AUTH_USER_CLAIM,
  DEFAULT_TABLE_NAME,
  ENV,
  isLoopback,
  RATE_LIMIT,
} from "./contract.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The environment schema; each `description` is the "what is allowed" of the error message. */
const envSchema = Type.Object({
  [ENV.appEnv]: Type.Enum(APP_ENVS, { default: "development", description: `one of ${APP_ENVS.join(", ")}` }),
  [ENV.port]: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: APP_PORT,
    description: "an integer port from 1 to 65535",
  }),
  [ENV.host]: Type.String({
    minLength: 1,
    maxLength: 255,
    pattern: "^[A-Za-z0-9.:\\[\\]-]+$",
    default: "0.0.0.0",
    description: "an interface address or host name to listen on, such as 0.0.0.0 or 127.0.0.1",
  }),
  [ENV.tableName]: Type.String({
    pattern: "^[A-Za-z0-9_.-]{3,255}$",
    default: DEFAULT_TABLE_NAME,
    description: "a DynamoDB table name: 3 to 255 characters of A-Z, a-z, 0-9, '_', '-', '.'",
  }),
  [ENV.dynamodbEndpoint]: Type.Optional(
    Type.String({
      pattern: "^https?://[^\\s/?#]+(:[0-9]{1,5})?/?$",
      description: "an http:// or https:// URL with no path, such as http://localhost:8000",
    }),
  ),
  [ENV.region]: Type.Optional(
    Type.String({
      pattern: "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$",
      description: "an AWS region code such as eu-west-1",
    }),
  ),
  [ENV.logLevel]: Type.Enum(LOG_LEVELS, { default: "info", description: `one of ${LOG_LEVELS.join(", ")}` }),
  [ENV.authIssuer]: Type.Optional(
    Type.String({
      ...AUTH_ISSUER,
      description:
        "the issuer URL exactly as its tokens' iss claim gives it, with no query or fragment, such as " +
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
    }),
  ),
  [ENV.authAudience]: Type.Optional(
    Type.String({
      ...AUTH_AUDIENCE,
      description: "the API's audience (or Cognito app client id): 1 to 512 visible ASCII characters",
    }),
  ),
  [ENV.authUserClaim]: Type.String({
    ...AUTH_USER_CLAIM,
    description: "a claim name such as sub or username",
  }),
  [ENV.rateLimitMax]: Type.Integer({
    minimum: RATE_LIMIT.max.min,
    maximum: RATE_LIMIT.max.max,
    default: RATE_LIMIT.max.default,
    description: "the requests one caller may make per window: an integer from 1 to 1000000",
  }),
  [ENV.rateLimitWindowSeconds]: Type.Integer({
    minimum: RATE_LIMIT.windowSeconds.min,
    maximum: RATE_LIMIT.windowSeconds.max,
    default: RATE_LIMIT.windowSeconds.default,
    description: "the rate limit's window in seconds: an integer from 1 to 3600",
  }),
  [ENV.trustedProxyHops]: Type.Integer({
    minimum: 0,
    maximum: 1,
    default: 0,
    description:
      "1 when one proxy or load balancer in front of the API sets X-Forwarded-For, 0 when clients connect directly",
  }),
});

/** Bearer-token verification: on when AUTH_ISSUER is set. */
export interface AuthConfig {
  /** Compared exactly with each token's `iss`; its discovery document names the signing keys. */
  issuer: string;
  audience: string;
  /** The claim that names the caller (its activities' userId). */
  userClaim: string;
}

export interface AppConfig {
  appEnv: AppEnv;
  port: number;
  host: string;
  tableName: string;
  /** Set: DynamoDB Local or another compatible endpoint. Unset: the regional endpoint of `region`. */
  dynamodbEndpoint: string | undefined;
  region: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Unset: the API is open to anyone who can reach it, as on a laptop. */
  auth: AuthConfig | undefined;
  /** Requests per caller (a verified token's user, else the client address) per window. */
  rateLimit: { max: number; windowSeconds: number };
  /** Proxies whose X-Forwarded-For entry is trusted as the client address: 0 or 1. */
  trustedProxyHops: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Region the SDK is given when a local endpoint is used and AWS_REGION is unset (local engines ignore it). */
const LOCAL_ENDPOINT_REGION = "us-east-1";

const validate = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false }).compile<
  Type.Static<typeof envSchema>
>(envSchema);

/** Validates `env` (process.env by default). Empty values count as unset, as `docker run -e NAME=` gives. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const data: Record<string, string> = {};
  for (const name of Object.keys(envSchema.properties)) {
    const value = env[name];
    if (value !== undefined && value !== "") data[name] = value;
  }
  if (!validate(data)) {
    const [error] = validate.errors ?? [];
    const name = error?.instancePath.slice(1) ?? "";
    const property = envSchema.properties[name as keyof typeof envSchema.properties] as
      | { description?: string }
      | undefined;
    if (!property?.description)
      throw new ConfigError(`Invalid environment: ${error?.message ?? "unknown error"}`);
    throw new ConfigError(
      `Invalid environment: ${name}=${JSON.stringify(env[name])} is not allowed; expected ${property.description}`,
    );
  }
  const endpoint = data[ENV.dynamodbEndpoint] as string | undefined;
  const region = data[ENV.region] as string | undefined;
  const appEnv = data[ENV.appEnv] as AppEnv;
  if (appEnv === "development" && endpoint === undefined) {
    throw new ConfigError(
      `Invalid environment: ${ENV.dynamodbEndpoint} is required when ${ENV.appEnv}=development ` +
        "(point it at DynamoDB Local, e.g. http://localhost:8000, or set APP_ENV=test for regional DynamoDB)",
    );
  }
  if (endpoint === undefined && region === undefined) {
    throw new ConfigError(
      `Invalid environment: ${ENV.region} is required when ${ENV.dynamodbEndpoint} is unset ` +
        "(the API then uses the regional DynamoDB endpoint of AWS_REGION)",
    );
  }
  return {
    appEnv,
    port: data[ENV.port] as unknown as number,
    host: data[ENV.host] as string,
    tableName: data[ENV.tableName] as string,
    dynamodbEndpoint: endpoint,
    region: region ?? LOCAL_ENDPOINT_REGION,
    logLevel: data[ENV.logLevel] as AppConfig["logLevel"],
    auth: authConfig(data),
    rateLimit: {
      max: data[ENV.rateLimitMax] as unknown as number,
      windowSeconds: data[ENV.rateLimitWindowSeconds] as unknown as number,
    },
    trustedProxyHops: data[ENV.trustedProxyHops] as unknown as number,
  };
}

function authConfig(data: Record<string, string>): AuthConfig | undefined {
  const issuer = data[ENV.authIssuer];
  const audience = data[ENV.authAudience];
  if (issuer === undefined) {
    if (audience === undefined) return undefined;
    throw new ConfigError(
      `Invalid environment: ${ENV.authAudience} is set but ${ENV.authIssuer} is not; set both to require ` +
        "tokens, or neither for an open API",
    );
  }
  if (audience === undefined) {
    throw new ConfigError(
      `Invalid environment: ${ENV.authAudience} is required when ${ENV.authIssuer} is set ` +
        "(the API's audience at the issuer, or its Cognito app client id)",
    );
  }
  const url = URL.parse(issuer);
  if (url === null) {
    throw new ConfigError(`Invalid environment: ${ENV.authIssuer}=${JSON.stringify(issuer)} is not a URL`);
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    throw new ConfigError(
      `Invalid environment: ${ENV.authIssuer}=${JSON.stringify(issuer)} is not allowed; an issuer's keys ` +
        "must come over https:// (http:// is accepted only for an issuer on this machine's loopback)",
    );
  }
  return { issuer, audience, userClaim: data[ENV.authUserClaim] as string };
}
