/**
 * Development mode only: create the activity table when it is missing and seed activity 1, so that
 * GET /activity/1 answers on a fresh DynamoDB Local. Never called in test or production.
 */
import { setTimeout } from "node:timers/promises";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ACTIVITY_TABLE } from "../contract.js";
import { isStorageUnavailable } from "../errors.js";
import type { Activity } from "../schemas.js";

/** The activity every environment's smoke test reads: GET /activity/1. */
export const SEED_ACTIVITY: Activity = {
  id: "1",
  userId: "demo-user",
  type: "run",
  startedAt: "2026-01-05T07:30:00.000Z",
  durationSeconds: 1800,
  distanceMeters: 5000,
  calories: 350,
  notes: "Morning run along the river",
  version: 1,
};

const TABLE_WAIT_SECONDS = 30;
/**
 * The first wait, in seconds, when the new table is not active yet; the SDK doubles it from there. Local
 * engines activate a table within milliseconds, and a first wait of 1 s made a test suite that creates a
 * table per test (test/app/activities.test.ts) take 10 s instead of 4.
 */
const TABLE_FIRST_WAIT_SECONDS = 0.1;

/** Creates the table (on-demand, with the user index) unless it exists; safe when two processes race. */
export async function ensureTable(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<"created" | "existed"> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return "existed";
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const { partitionKey, userIndex } = ACTIVITY_TABLE;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: "S" },
          { AttributeName: userIndex.partitionKey, AttributeType: "S" },
          { AttributeName: userIndex.sortKey, AttributeType: "S" },
        ],
        KeySchema: [{ AttributeName: partitionKey, KeyType: "HASH" }],
        GlobalSecondaryIndexes: [
          {
            IndexName: userIndex.name,
            KeySchema: [
              { AttributeName: userIndex.partitionKey, KeyType: "HASH" },
              { AttributeName: userIndex.sortKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists(
    { client, maxWaitTime: TABLE_WAIT_SECONDS, minDelay: TABLE_FIRST_WAIT_SECONDS },
    { TableName: tableName },
  );
  return "created";
}

/** Writes SEED_ACTIVITY unless activity 1 already exists (a developer's edits are never overwritten). */
export async function seedActivity(client: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: SEED_ACTIVITY,
        ConditionExpression: "attribute_not_exists(#id)",
        ExpressionAttributeNames: { "#id": ACTIVITY_TABLE.partitionKey },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** How long development start-up waits for DynamoDB Local to come up beside the app. */
const DEVELOPMENT_DB_WAIT_MS = 30_000;

/** ensureTable + seedActivity, retried while the engine is still starting (a container beside ours). */
export async function prepareDevelopmentTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void },
): Promise<void> {
  const deadline = Date.now() + DEVELOPMENT_DB_WAIT_MS;
  for (;;) {
    try {
      const table = await ensureTable(client, tableName);
      const seeded = await seedActivity(client, tableName);
      log.info({ tableName, table, seeded }, "development table ready");
      return;
    } catch (error) {
      if (!isStorageUnavailable(error) || Date.now() > deadline) throw error;
      log.warn({ err: error, tableName }, "DynamoDB not reachable yet; retrying");
      await setTimeout(1000);
    }
  }
}
