/** The activity resource: read, list, create, replace and delete, with ETags and conditional writes. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { TokenVerifier } from "../auth/verifier.js";
import type { ActivityRepository } from "../db/activities.js";
import { BadRequestError, ForbiddenError, NotFoundError } from "../errors.js";
import { BEARER_SCHEME, requireBearerTokens } from "../http/authentication.js";
import { etagOf, parsePrecondition } from "../http/preconditions.js";
import { ANY_ROUTE, answer, type ErrorStatus, ETAG, errors, LOCATION, NoContent } from "../http/responses.js";
import { Activity, ActivityInput, ActivityPage, IdParams, ListQuery } from "../schemas.js";

const conditionalHeaders = Type.Object({
  "if-match": Type.Optional(
    Type.String({
      maxLength: 1024,
      description:
        'Write only if the activity is at one of these versions ("3" or "3", "4") or exists at all (*)',
    }),
  ),
  "if-none-match": Type.Optional(
    Type.String({ maxLength: 1024, description: "* on PUT: create only, never replace" }),
  ),
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
  const auth = verifier !== undefined;
  /** What every activity route can answer: storage is behind each, and a token when auth is on. */
  const statuses = (...own: ErrorStatus[]) => {
    const all: ErrorStatus[] = [400, ...(auth ? [401 as const] : []), ...own, 429, 503, ...ANY_ROUTE];
    return errors(all.sort((a, b) => a - b));
  };
  const security = auth ? { security: [{ [BEARER_SCHEME]: [] }] } : {};
  const own403: ErrorStatus[] = auth ? [403] : [];
  const withEtag = answer(Activity, "The activity", ETAG);

  return async (app) => {
    if (verifier !== undefined) requireBearerTokens(app, verifier);

    app.get(
      "/activity/:id",
      {
        schema: {
          summary: "Read one activity",
          ...security,
          params: IdParams,
          response: { 200: withEtag, ...statuses(404) },
        },
      },
      async (request, reply) => {
        const activity = await activities.get(request.params.id, request.caller?.userId);
        if (activity === undefined) throw new NotFoundError(`activity ${request.params.id} not found`);
        reply.header("etag", etagOf(activity.version));
        return activity;
      },
    );

    app.get(
      "/activity",
      {
        schema: {
          summary: "List a user's activities, newest first, a page at a time",
          ...security,
          querystring: ListQuery,
          response: {
            200: answer(ActivityPage, "One page; nextCursor fetches the next"),
            ...statuses(...own403),
          },
        },
      },
      async (request) => {
        const { userId, limit, cursor } = request.query;
        ownUserId(userId, request.caller?.userId, "querystring.userId");
        return activities.listByUser(userId, limit, cursor);
      },
    );

    app.post(
      "/activity",
      {
        schema: {
          summary: "Create an activity under a generated id",
          ...security,
          body: ActivityInput,
          response: {
            201: answer(Activity, "Created", { ...ETAG, ...LOCATION }),
            ...statuses(...own403, 413),
          },
        },
      },
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
          summary: "Create or replace the activity with this id",
          ...security,
          params: IdParams,
          headers: conditionalHeaders,
          body: ActivityInput,
          response: {
            200: answer(Activity, "Replaced", ETAG),
            201: answer(Activity, "Created", { ...ETAG, ...LOCATION }),
            ...statuses(...own403, 412, 413),
          },
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
        schema: {
          summary: "Delete an activity",
          ...security,
          params: IdParams,
          headers: conditionalHeaders,
          response: { 204: answer(NoContent, "Deleted"), ...statuses(404, 412) },
        },
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
