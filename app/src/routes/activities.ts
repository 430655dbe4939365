/** The activity resource: read, list, create, replace and delete, with ETags and conditional writes. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { TokenVerifier } from "../auth/verifier.js";
import type { ActivityRepository } from "../db/activities.js";
import { BadRequestError, ForbiddenError, NotFoundError } from "../errors.js";
import { requireBearerTokens } from "../http/authentication.js";
import { etagOf, parsePrecondition } from "../http/preconditions.js";
import { Activity, ActivityInput, ActivityPage, ErrorBody, IdParams, ListQuery } from "../schemas.js";

const errors = { "4xx": ErrorBody, "5xx": ErrorBody };
const conditionalHeaders = Type.Object({
  "if-match": Type.Optional(Type.String({ maxLength: 1024 })),
  "if-none-match": Type.Optional(Type.String({ maxLength: 1024 })),
});

/** The smallest magnitude a DynamoDB number can have, other than 0; a smaller one is a ValidationException. */
const DYNAMODB_SMALLEST_NUMBER = 1e-130;

/**
 * Stores startedAt as UTC with milliseconds, so that the index's string order is time order, and a distance
 * too small for DynamoDB as 0, the nearest value it can hold (the schema allows any number from 0); refuses
 * notes that are not valid Unicode.
 */
function normalized(input: ActivityInput): ActivityInput {
  const startedAt = new Date(input.startedAt);
  if (Number.isNaN(startedAt.getTime())) {
    throw new BadRequestError("body.startedAt is not a real date and time", "startedAt");
  }
  // A lone UTF-16 surrogate cannot be encoded as UTF-8, which DynamoDB strings must be.
  if (input.notes !== undefined && /\p{Cs}/u.test(input.notes)) {
    throw new BadRequestError("body.notes is not valid Unicode: it holds an unpaired surrogate", "notes");
  }
  const { distanceMeters } = input;
  return {
    ...input,
    startedAt: startedAt.toISOString(),
    ...(distanceMeters !== undefined && distanceMeters < DYNAMODB_SMALLEST_NUMBER && { distanceMeters: 0 }),
  };
}

/** With auth on, a body may name only the caller as its userId (POST generates ids; PUT onto one is checked). */
function ownUserId(userId: string, caller: string | undefined, what: string): void {
  if (caller !== undefined && userId !== caller) {
    throw new ForbiddenError(`${what} must be your own user id, ${caller}`);
  }
}

/**
 * The activity routes. With a verifier, every one needs a bearer token, and a caller sees and changes only the
 * activities whose userId is theirs; without one, anyone who reaches the API may use any activity.
 */
export function activityRoutes(
  activities: ActivityRepository,
  verifier: TokenVerifier | undefined,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    if (verifier !== undefined) requireBearerTokens(app, verifier);

    app.get(
      "/activity/:id",
      { schema: { params: IdParams, response: { 200: Activity, ...errors } } },
      async (request, reply) => {
        const activity = await activities.get(request.params.id, request.caller?.userId);
        if (activity === undefined) throw new NotFoundError(`activity ${request.params.id} not found`);
        reply.header("etag", etagOf(activity.version));
        return activity;
      },
    );

    app.get(
      "/activity",
      { schema: { querystring: ListQuery, response: { 200: ActivityPage, ...errors } } },
      async (request) => {
        const { userId, limit, cursor } = request.query;
        ownUserId(userId, request.caller?.userId, "querystring.userId");
        return activities.listByUser(userId, limit, cursor);
      },
    );

    app.post(
      "/activity",
      { schema: { body: ActivityInput, response: { 201: Activity, ...errors } } },
      async (request, reply) => {
        ownUserId(request.body.userId, request.caller?.userId, "body.userId");
        const activity = await activities.create(normalized(request.body));
        return reply
          .code(201)
          .header("location", `/activity/${activity.id}`)
          .header("etag", etagOf(activity.version))
          .send(activity);
      },
    );

    app.put(
      "/activity/:id",
      {
        schema: {
          params: IdParams,
          headers: conditionalHeaders,
          body: ActivityInput,
          response: { 200: Activity, 201: Activity, ...errors },
        },
      },
      async (request, reply) => {
        const precondition = parsePrecondition(request.headers["if-match"], request.headers["if-none-match"]);
        ownUserId(request.body.userId, request.caller?.userId, "body.userId");
        const { activity, created } = await activities.put(
          request.params.id,
          normalized(request.body),
          precondition,
          request.caller?.userId,
        );
        reply.header("etag", etagOf(activity.version));
        if (created) reply.code(201).header("location", `/activity/${activity.id}`);
        return activity;
      },
    );

    app.delete(
      "/activity/:id",
      {
        schema: { params: IdParams, headers: conditionalHeaders, response: { 204: Type.Null(), ...errors } },
      },
      async (request, reply) => {
        if (request.headers["if-none-match"] !== undefined) {
          throw new BadRequestError("DELETE supports If-Match only", "If-None-Match");
        }
        await activities.delete(
          request.params.id,
          parsePrecondition(request.headers["if-match"], undefined),
          request.caller?.userId,
        );
        return reply.code(204).send(null);
      },
    );
  };
}
