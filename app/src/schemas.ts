/** The API's wire format: TypeBox schemas for every request part and every response, and the types they infer. */
import Type from "typebox";

export const ACTIVITY_TYPES = [
  "run",
  "walk",
  "hike",
  "cycle",
  "swim",
  "row",
  "yoga",
  "strength",
  "other",
] as const;

/** Ids and user ids: URL-safe, short, never needing escaping in a path or a log line. */
export const ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$";
const Id = Type.String({ pattern: ID_PATTERN, description: "1 to 64 of A-Z a-z 0-9 _ -" });

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

/** What a client sends: every field but `id` (from the URL or generated) and `version` (kept by the server). */
export const ActivityInput = Type.Object(
  {
    userId: Id,
    type: Type.Enum(ACTIVITY_TYPES),
    startedAt: Type.String({ format: "date-time", maxLength: 40, description: "ISO 8601 date-time" }),
    durationSeconds: Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600 }),
    distanceMeters: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
    calories: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    notes: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type ActivityInput = Type.Static<typeof ActivityInput>;

export const Activity = Type.Object(
  {
    id: Id,
    ...ActivityInput.properties,
    version: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type Activity = Type.Static<typeof Activity>;

export const ActivityPage = Type.Object({
  items: Type.Array(Activity),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type ActivityPage = Type.Static<typeof ActivityPage>;

export const IdParams = Type.Object({ id: Id });

export const ListQuery = Type.Object(
  {
    userId: Id,
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
    cursor: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,1024}$" })),
  },
  { additionalProperties: false },
);

/**
 * Every error the API answers, whatever the status. `field` names the offending input when there is one; `code`
 * is set on authentication, authorization and rate-limit answers, for clients to branch on.
 */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
  code: Type.Optional(
    Type.Enum(["missing_token", "invalid_token", "not_owner", "rate_limited", "issuer_unavailable"]),
  ),
});
export type ErrorBody = Type.Static<typeof ErrorBody>;

export const Health = Type.Object({ status: Type.String() });
