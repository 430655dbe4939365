/**
 * Deletes a local preview's table from the local preview host's DynamoDB Local once its stack is destroyed:
 * the table lives in the host's engine, not in the preview's stack.
 */

/**
 * DynamoDB Local accepts any credentials but the SDK insists on some (app/src/db/client.ts does the same); the
 * host runs it with -sharedDb, so every key and region see the same tables.
 */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/** Deletes `tableName` at `endpoint`; a table that does not exist is "absent", not an error. */
export async function deleteLocalTable(endpoint: string, tableName: string): Promise<"deleted" | "absent"> {
  // Imported here: the SDK takes a moment to load that every other command can do without.
  const { DeleteTableCommand, DynamoDBClient, ResourceNotFoundException } = await import(
    "@aws-sdk/client-dynamodb"
  );
  const client = new DynamoDBClient({
    endpoint,
    region: "eu-west-1",
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  });
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    return "deleted";
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return "absent";
    throw error;
  } finally {
    client.destroy();
  }
}
