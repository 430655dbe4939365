/**
 * What `npm run verify:aws` runs inside a preview's container, and what it makes of the answers: the probe
 * (a CommonJS script fed to the container's own node on stdin) records what the metadata service and DynamoDB
 * answered, and `judge` turns those observations into the checks the user reads. Nothing the probe does can
 * harm the other preview: its writes and deletes there carry a condition no item meets, so a write that was
 * wrongly allowed still changes nothing.
 */

import { INSTANCE_METADATA_ADDRESS } from "../../components/docker-host.js";

/** What one request came back with: an answer (an HTTP status, or success), or the error it failed with. */
export type Outcome =
  | { kind: "answered"; status?: number; found?: boolean }
  | { kind: "failed"; name: string; message: string };

/** Everything the probe observed, as it prints it in one JSON line. */
export interface Observations {
  /** PUT /latest/api/token: an IMDSv2 session token. */
  metadataToken: Outcome;
  /** GET of the role credentials' path without a token (IMDSv1). */
  metadataV1: Outcome;
  /** On the preview's own table: put an item, read it back, delete it. */
  ownWrite: Outcome;
  ownRead: Outcome;
  ownDelete: Outcome;
  /** On the other preview's table: a read, and a conditional write and delete that can change nothing. */
  otherRead: Outcome;
  otherWrite: Outcome;
  otherDelete: Outcome;
  /** ListTables: the names of every table of the account. */
  listTables: Outcome;
}

/** The environment the probe reads its tables from (passed with `docker exec -e`). */
export const PROBE_ENV = { ownTable: "VERIFY_OWN_TABLE", otherTable: "VERIFY_OTHER_TABLE" } as const;

/** The line the probe prints its observations after. */
export const OBSERVATIONS_MARKER = "verify-aws observations:";

/**
 * The probe, run by the app image's node from its working directory, whose node_modules hold the AWS SDK the
 * app uses; its credentials are the container's own (its environment), exactly as the app's are.
 */
export const PROBE_SCRIPT = `"use strict";
const { createRequire } = require("node:module");
const load = createRequire(process.cwd() + "/");
const ddb = load("@aws-sdk/client-dynamodb");
const METADATA = "http://${INSTANCE_METADATA_ADDRESS}";
const ownTable = process.env.${PROBE_ENV.ownTable};
const otherTable = process.env.${PROBE_ENV.otherTable};
const id = "verify-aws-" + Date.now() + "-" + Math.random().toString(16).slice(2);
const failed = (error) => ({
  kind: "failed",
  name: String((error && (error.name || error.code)) || "Error"),
  message: String((error && error.message) || error).split("\\n")[0],
});
async function http(method, path, headers) {
  try {
    const response = await fetch(METADATA + path, { method, headers, signal: AbortSignal.timeout(3000) });
    return { kind: "answered", status: response.status };
  } catch (error) {
    return failed(error.cause || error);
  }
}
async function call(command, found) {
  try {
    const output = await client.send(command);
    return found ? { kind: "answered", found: output.Item !== undefined } : { kind: "answered" };
  } catch (error) {
    return failed(error);
  }
}
const client = new ddb.DynamoDBClient({ maxAttempts: 1 });
const key = { id: { S: id } };
const never = { ConditionExpression: "attribute_exists(id)" };
(async () => {
  const observations = {
    metadataToken: await http("PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "60" }),
    metadataV1: await http("GET", "/latest/meta-data/iam/security-credentials/", {}),
    ownWrite: await call(new ddb.PutItemCommand({ TableName: ownTable, Item: { ...key, userId: { S: "verify-aws" } } })),
    ownRead: await call(new ddb.GetItemCommand({ TableName: ownTable, Key: key, ConsistentRead: true }), true),
    ownDelete: await call(new ddb.DeleteItemCommand({ TableName: ownTable, Key: key })),
    otherRead: await call(new ddb.GetItemCommand({ TableName: otherTable, Key: key }), true),
    otherWrite: await call(new ddb.PutItemCommand({ TableName: otherTable, Item: key, ...never })),
    otherDelete: await call(new ddb.DeleteItemCommand({ TableName: otherTable, Key: key, ...never })),
    listTables: await call(new ddb.ListTablesCommand({ Limit: 1 })),
  };
  process.stdout.write("${OBSERVATIONS_MARKER}" + JSON.stringify(observations) + "\\n");
})();
`;

/** The observations in a probe's output, or undefined when it printed none (it failed before the end). */
export function parseObservations(output: string): Observations | undefined {
  const line = output.split("\n").find((candidate) => candidate.startsWith(OBSERVATIONS_MARKER));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line.slice(OBSERVATIONS_MARKER.length)) as Observations;
  } catch {
    return undefined;
  }
}

/** One check as the user reads it. */
export interface Check {
  name: string;
  passed: boolean;
  /** What was seen, in a few words. */
  detail: string;
}

const describe = (outcome: Outcome) =>
  outcome.kind === "failed"
    ? `${outcome.name}: ${outcome.message}`
    : outcome.status === undefined
      ? "allowed"
      : `HTTP ${outcome.status}`;

/** What the metadata service did: a check passes only when neither request got a successful answer. */
function metadataCheck({ metadataToken, metadataV1 }: Observations): Check {
  const answered = (outcome: Outcome) =>
    outcome.kind === "answered" && outcome.status !== undefined && outcome.status < 400;
  const passed = !answered(metadataToken) && !answered(metadataV1);
  return {
    name: "the metadata service is unreachable from the container",
    passed,
    detail: passed
      ? `token request: ${describe(metadataToken)}; IMDSv1: ${describe(metadataV1)}`
      : `the container reached it (token request: ${describe(metadataToken)}; IMDSv1: ${describe(metadataV1)}): it can take the host's credentials`,
  };
}

/** A request on the other preview's table passes only when IAM refused it. */
function deniedCheck(name: string, outcome: Outcome): Check {
  const passed = outcome.kind === "failed" && outcome.name === "AccessDeniedException";
  const allowed =
    outcome.kind === "failed" && outcome.name === "ConditionalCheckFailedException"
      ? "allowed (it changed nothing only because its condition failed)"
      : describe(outcome);
  return { name, passed, detail: passed ? "AccessDeniedException" : `not denied: ${allowed}` };
}

/** The verdict on every check, in the order the user reads them. */
export function judge(observations: Observations): Check[] {
  const { ownWrite, ownRead, ownDelete } = observations;
  const ownWorks =
    ownWrite.kind === "answered" &&
    ownRead.kind === "answered" &&
    ownRead.found === true &&
    ownDelete.kind === "answered";
  const ownFailure = [ownWrite, ownRead, ownDelete].find((outcome) => outcome.kind === "failed");
  return [
    metadataCheck(observations),
    {
      name: "its own table: an item written, read back and deleted",
      passed: ownWorks,
      detail: ownWorks
        ? "all three allowed"
        : ownFailure
          ? describe(ownFailure)
          : "the item written was not read back",
    },
    deniedCheck("the other preview's table: a read is denied", observations.otherRead),
    deniedCheck("the other preview's table: a write is denied", observations.otherWrite),
    deniedCheck("the other preview's table: a delete is denied", observations.otherDelete),
    deniedCheck("the account's tables cannot be listed", observations.listTables),
  ];
}
