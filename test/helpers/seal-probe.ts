/**
 * What the real-engine suite runs inside one preview's container to try another preview's data: a script for
 * `docker exec <container> node -e` (the image has node and the app's AWS SDK, not curl) that tries to list,
 * describe, scan, write and drop a table at every endpoint it is given, and the readers that turn a
 * container's own view (/proc/net/route, /proc/net/tcp) into those endpoints.
 */
import { ACTIVITY_TABLE } from "../../app/src/contract.js";

/** One attempt, as the script reports it. */
export interface SealAttempt {
  endpoint: string;
  operation: "list" | "describe" | "scan" | "write" | "drop";
  ok: boolean;
  /** list: the tables it returned. */
  tables?: string[];
  /** scan: the items it returned. */
  items?: number;
  /** The error's name (or first words) when it failed. */
  error?: string;
}

/**
 * Reads PROBE ({ endpoints, table, operations }) from the environment, runs the operations (all when unset) at
 * every endpoint at once (each
 * bounded: an address that drops packets costs its connection timeout, not minutes), and prints one JSON line.
 * Run from the app's directory, where require finds the SDK the app ships.
 */
export const SEAL_PROBE_SCRIPT = `
const sdk = require("@aws-sdk/client-dynamodb");
const { endpoints, table, operations: only } = JSON.parse(process.env.PROBE);
const key = ${JSON.stringify(ACTIVITY_TABLE.partitionKey)};
async function attempt(endpoint, operation, command) {
  const client = new sdk.DynamoDBClient({
    endpoint, region: "us-east-1", maxAttempts: 1,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    requestHandler: { connectionTimeout: 2000, requestTimeout: 4000 },
  });
  try {
    const out = await client.send(command);
    return { endpoint, operation, ok: true, tables: out.TableNames, items: out.Count };
  } catch (error) {
    return { endpoint, operation, ok: false, error: String(error.name || error.message).slice(0, 80) };
  } finally {
    client.destroy();
  }
}
const commands = {
  list: () => new sdk.ListTablesCommand({}),
  describe: () => new sdk.DescribeTableCommand({ TableName: table }),
  scan: () => new sdk.ScanCommand({ TableName: table }),
  write: () => new sdk.PutItemCommand({ TableName: table, Item: { [key]: { S: "written-by-the-probe" } } }),
  drop: () => new sdk.DeleteTableCommand({ TableName: table }),
};
const operations = (endpoint) =>
  Object.entries(commands)
    .filter(([operation]) => only === undefined || only.includes(operation))
    .map(([operation, command]) => attempt(endpoint, operation, command()));
Promise.all(endpoints.flatMap(operations)).then((results) => console.log(JSON.stringify(results)));
`;

/** An IPv4 address as /proc/net writes it: 8 hex digits, least significant byte first. */
function procAddress(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  return bytes
    .reverse()
    .map((byte) => Number.parseInt(byte, 16))
    .join(".");
}

/** The gateways in a container's /proc/net/route (every route's, the default route's among them). */
export function routeGateways(procNetRoute: string): string[] {
  const gateways = procNetRoute
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[2])
    .filter((gateway): gateway is string => gateway !== undefined && /^[0-9A-F]{8}$/i.test(gateway))
    .filter((gateway) => gateway !== "00000000")
    .map(procAddress);
  return [...new Set(gateways)];
}

/** The TCP ports a container listens on, from its /proc/net/tcp and /proc/net/tcp6 (state 0A: LISTEN). */
export function listeningPorts(procNetTcp: string): number[] {
  const ports = procNetTcp
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === "0A")
    .map((fields) => Number.parseInt(fields[1]?.split(":")[1] ?? "", 16))
    .filter((port) => Number.isInteger(port));
  return [...new Set(ports)];
}

/** The host ports `docker ps --format '{{.Ports}}'` lists as published, e.g. "127.0.0.1:10080->10001/tcp". */
export function publishedPorts(dockerPsPorts: string): number[] {
  return [...new Set([...dockerPsPorts.matchAll(/:(\d+)->/g)].map((match) => Number(match[1])))];
}
