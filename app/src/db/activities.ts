/**
 * Activity storage on DynamoDB. Every write that depends on the current state is a single conditional
 * request (never read-then-write), so two clients can never silently overwrite each other. With an `owner`
 * (the verified caller, when auth is on), the owner is part of that same condition, so no write ever lands on
 * another user's activity, whatever happens between two requests.
 */
import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ACTIVITY_TABLE } from "../contract.js";
import { BadRequestError, ForbiddenError, NotFoundError, PreconditionFailedError } from "../errors.js";
import type { Activity, ActivityInput, ActivityPage } from "../schemas.js";

/** A whole storage call, retries included, ends within this bound; past it the API answers 503. */
export const CALL_DEADLINE_MS = 4000;

/** The conditional-request header of a write, parsed (see http/preconditions.ts). */
export type Precondition =
  | { kind: "none" }
  | { kind: "exists" } // If-Match: *
  | { kind: "absent" } // If-None-Match: *
  | { kind: "versions"; versions: number[] }; // If-Match: "3", "4" (none: a list that can never match)

const OPTIONAL_FIELDS = ["distanceMeters", "calories", "notes"] as const;
const REQUIRED_FIELDS = ["userId", "type", "startedAt", "durationSeconds"] as const;

/** Key that no activity can have (ids match [A-Za-z0-9_-]), read by the readiness probe. */
const READINESS_PROBE_KEY = { [ACTIVITY_TABLE.partitionKey]: "~readiness-probe" };

type Condition = { expression?: string; names: Record<string, string>; values: Record<string, unknown> };

/** Both conditions; `undefined` expressions hold always. */
function both(first: Condition, second: Condition): Condition {
  const expressions = [first.expression, second.expression].filter((e) => e !== undefined);
  return {
    ...(expressions.length > 0 && { expression: expressions.map((e) => `(${e})`).join(" AND ") }),
    names: { ...first.names, ...second.names },
    values: { ...first.values, ...second.values },
  };
}

/** The item is `owner`'s (or, with `orAbsent`, does not exist yet); no condition without an owner. */
function ownedBy(owner: string | undefined, options: { orAbsent: boolean }): Condition {
  if (owner === undefined) return { names: {}, values: {} };
  const owned = "#userId = :owner";
  return {
    expression: options.orAbsent ? `attribute_not_exists(#id) OR ${owned}` : owned,
    names: { "#userId": "userId", ...(options.orAbsent && { "#id": "id" }) },
    values: { ":owner": owner },
  };
}

function conditionFor(precondition: Precondition): Condition {
  switch (precondition.kind) {
    case "none":
      return { names: {}, values: {} };
    case "exists":
      return { expression: "attribute_exists(#id)", names: { "#id": "id" }, values: {} };
    case "absent":
      return { expression: "attribute_not_exists(#id)", names: { "#id": "id" }, values: {} };
    case "versions": {
      if (precondition.versions.length === 0) {
        throw new PreconditionFailedError(
          'If-Match names no version an activity can have; its ETag is a strong, numbered tag such as "3"',
        );
      }
      const values = Object.fromEntries(
        precondition.versions.map((version, i) => [`:expected${i}`, version]),
      );
      return {
        expression: `#version IN (${Object.keys(values).join(", ")})`,
        names: { "#version": "version" },
        values,
      };
    }
  }
}

/**
 * The abort signal of one storage call, retries and back-off included: it fires CALL_DEADLINE_MS after the call
 * starts, and `clear` stops its timer as soon as the call settles. It is the SDK's minimal signal (`aborted`,
 * `reason` and one `onabort` handler, which the SDK sets for the step in progress), not an EventTarget: with a
 * platform AbortSignal the SDK adds and removes event listeners at every step, and AbortSignal.timeout() kept
 * each signal and timer alive for the whole 4 s. Profiled on GET /activity/1 (docs/performance.md), that cost
 * about 60 µs of CPU per request and 40 MB of old space under load; this costs about 15 µs and nothing after.
 */
class CallDeadline {
  aborted = false;
  reason: Error | undefined = undefined;
  onabort: (() => void) | null = null;
  private readonly timer = setTimeout(() => {
    this.aborted = true;
    this.reason = new DOMException(`no answer within ${CALL_DEADLINE_MS} ms`, "TimeoutError");
    this.onabort?.();
  }, CALL_DEADLINE_MS);

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** Runs one storage call under a CallDeadline. */
async function withDeadline<T>(call: (options: { abortSignal: CallDeadline }) => Promise<T>): Promise<T> {
  const deadline = new CallDeadline();
  try {
    return await call({ abortSignal: deadline });
  } finally {
    deadline.clear();
  }
}

export class ActivityRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Activity `id`; with an `owner`, only if it is theirs (someone else's reads as absent). */
  async get(id: string, owner?: string): Promise<Activity | undefined> {
    const { Item } = await withDeadline((options) =>
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }),
        options,
      ),
    );
    // A read has no condition expression: the item is compared here, before anything of it leaves this method.
    if (owner !== undefined && Item?.userId !== owner) return undefined;
    return Item as Activity | undefined;
  }

  /** Stores a new activity under a generated id, at version 1. */
  async create(input: ActivityInput): Promise<Activity> {
    const activity: Activity = { id: randomUUID(), ...input, version: 1 };
    await withDeadline((options) =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: activity,
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": "id" },
        }),
        options,
      ),
    );
    return activity;
  }

  /**
   * Creates or replaces activity `id` in one UpdateItem: every field is set, absent optional fields are
   * removed, and the version is incremented by DynamoDB itself; `created` is true when no item existed.
   * With an `owner`, an existing item must be theirs: ForbiddenError when it is someone else's.
   */
  async put(
    id: string,
    input: ActivityInput,
    precondition: Precondition,
    owner?: string,
  ): Promise<{ activity: Activity; created: boolean }> {
    const condition = both(conditionFor(precondition), ownedBy(owner, { orAbsent: true }));
    const names: Record<string, string> = { ...condition.names, "#version": "version" };
    const values: Record<string, unknown> = { ...condition.values, ":zero": 0, ":one": 1 };
    const sets = ["#version = if_not_exists(#version, :zero) + :one"];
    const removes: string[] = [];
    for (const field of [...REQUIRED_FIELDS, ...OPTIONAL_FIELDS]) {
      names[`#${field}`] = field;
      if (input[field] === undefined) {
        removes.push(`#${field}`);
      } else {
        values[`:${field}`] = input[field];
        sets.push(`#${field} = :${field}`);
      }
    }
    const update = `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`;
    try {
      const { Attributes } = await withDeadline((options) =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { id },
            UpdateExpression: update,
            ConditionExpression: condition.expression,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
          }),
          options,
        ),
      );
      const activity = Attributes as Activity;
      return { activity, created: activity.version === 1 };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // The write was refused whole; this read only chooses the answer (dynalite, which the tests and
        // `npm start` use, has no ReturnValuesOnConditionCheckFailure to return the item with the refusal).
        if (owner !== undefined && (await this.isSomeoneElses(id, owner))) {
          throw new ForbiddenError(`activity ${id} belongs to another user; choose another id, or POST`);
        }
        throw new PreconditionFailedError(`activity ${id} does not match the request's precondition`);
      }
      throw error;
    }
  }

  private async isSomeoneElses(id: string, owner: string): Promise<boolean> {
    const { Item } = await withDeadline((options) =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id },
          ConsistentRead: true,
          ProjectionExpression: "#userId",
          ExpressionAttributeNames: { "#userId": "userId" },
        }),
        options,
      ),
    );
    return Item !== undefined && Item.userId !== owner;
  }

  /**
   * Deletes activity `id`: NotFoundError when absent, PreconditionFailedError when If-Match fails. With an
   * `owner`, someone else's activity is answered exactly as an absent one.
   */
  async delete(id: string, precondition: Precondition, owner?: string): Promise<void> {
    const condition = both(
      conditionFor(precondition.kind === "none" ? { kind: "exists" } : precondition),
      ownedBy(owner, { orAbsent: false }),
    );
    try {
      await withDeadline((options) =>
        this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { id },
            ConditionExpression: condition.expression,
            ExpressionAttributeNames: condition.names,
            ...(Object.keys(condition.values).length > 0
              ? { ExpressionAttributeValues: condition.values }
              : {}),
          }),
          options,
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        if (precondition.kind === "none") throw new NotFoundError(`activity ${id} not found`);
        throw new PreconditionFailedError(`activity ${id} does not match the request's precondition`);
      }
      throw error;
    }
  }

  /** One page of a user's activities, newest first, from the user index (a Query, never a Scan). */
  async listByUser(userId: string, limit: number, cursor?: string): Promise<ActivityPage> {
    const { name, partitionKey } = ACTIVITY_TABLE.userIndex;
    const { Items, LastEvaluatedKey } = await withDeadline((options) =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: name,
          KeyConditionExpression: "#user = :user",
          ExpressionAttributeNames: { "#user": partitionKey },
          ExpressionAttributeValues: { ":user": userId },
          ScanIndexForward: false,
          Limit: limit,
          ...(cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(cursor, userId) }),
        }),
        options,
      ),
    );
    return {
      items: (Items ?? []) as Activity[],
      nextCursor: LastEvaluatedKey === undefined ? null : encodeCursor(LastEvaluatedKey),
    };
  }

  /** Readiness: the table answers a read. Throws what the SDK throws (table missing, unreachable). */
  async ping(): Promise<void> {
    await withDeadline((options) =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: READINESS_PROBE_KEY }), options),
    );
  }
}

/** The cursor is the index's LastEvaluatedKey, base64url JSON: opaque to clients, checked on the way back. */
function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

function decodeCursor(cursor: string, userId: string): Record<string, string> {
  const invalid = new BadRequestError("cursor is not one this API returned for this userId", "cursor");
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  const { partitionKey, userIndex } = ACTIVITY_TABLE;
  const expected = [partitionKey, userIndex.partitionKey, userIndex.sortKey].sort();
  if (typeof key !== "object" || key === null || Array.isArray(key)) throw invalid;
  const entries = Object.entries(key);
  const names = entries.map(([name]) => name).sort();
  if (names.join() !== expected.join()) throw invalid;
  if (!entries.every(([, value]) => typeof value === "string" && value.length > 0 && value.length <= 64)) {
    throw invalid;
  }
  const typed = key as Record<string, string>;
  if (typed[userIndex.partitionKey] !== userId) throw invalid;
  return typed;
}
