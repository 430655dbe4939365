/** Deleting a local preview's table, against a real DynamoDB-compatible engine (dynalite). */
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteLocalTable } from "../../cli/preview/local-table.js";
import { type Endpoint, startDynalite, unreachableEndpoint } from "../helpers/dynamodb.js";

let engine: Endpoint;
let client: DynamoDBClient;

beforeAll(async () => {
  engine = await startDynalite();
  client = new DynamoDBClient({
    endpoint: engine.url,
    region: "us-east-1",
    credentials: { accessKeyId: "any", secretAccessKey: "any" },
  });
  for (const TableName of ["pv-a-00000000-activities", "pv-b-11111111-activities"]) {
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      }),
    );
  }
});

afterAll(async () => {
  client.destroy();
  await engine.close();
});

describe("deleteLocalTable", () => {
  it("deletes the one table, leaving the others, and calls a missing one absent", async () => {
    expect(await deleteLocalTable(engine.url, "pv-a-00000000-activities")).toBe("deleted");
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(["pv-b-11111111-activities"]);
    expect(await deleteLocalTable(engine.url, "pv-a-00000000-activities")).toBe("absent");
  });

  it("fails when the engine cannot be reached", async () => {
    await expect(deleteLocalTable(await unreachableEndpoint(), "pv-b-11111111-activities")).rejects.toThrow();
  });
});
