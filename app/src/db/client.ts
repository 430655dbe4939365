/** The one DynamoDB client a process uses: bounded retries and timeouts, credentials from the default chain. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AppConfig } from "../config.js";

/** Attempts per call, including the first; the SDK backs off with jitter between them. */
const MAX_ATTEMPTS = 3;
/** Per attempt: time to open a connection, and time for the whole request and response. */
const CONNECTION_TIMEOUT_MS = 1000;
const ATTEMPT_TIMEOUT_MS = 2000;

/**
 * Local engines (DynamoDB Local, dynalite) accept any credentials but the SDK insists on having some; real
 * endpoints get the default provider chain (environment, profile, instance role), never values from config.
 */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export function createDocumentClient(
  config: Pick<AppConfig, "dynamodbEndpoint" | "region">,
  env: NodeJS.ProcessEnv = process.env,
): DynamoDBDocumentClient {
  const useLocalCredentials = config.dynamodbEndpoint !== undefined && env.AWS_ACCESS_KEY_ID === undefined;
  const client = new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
    ...(useLocalCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: ATTEMPT_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}
