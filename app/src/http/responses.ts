/**
 * Response schemas with what the OpenAPI document says of them: each route declares every status it can answer
 * from this one catalogue, and the same schemas serialize the answers, so the document cannot drift from them.
 */
import Type, { type TSchema } from "typebox";
import { ErrorBody } from "../schemas.js";

const RETRY_AFTER = { "retry-after": { type: "string", description: "seconds to wait before retrying" } };

type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 412 | 413 | 415 | 429 | 500 | 503;

/** What each error status means on this API, and the headers that come with it. */
const ERRORS: Record<ErrorStatus, { description: string; headers?: Record<string, object> }> = {
  400: { description: "The request is malformed; `message` says how and `field` names the input at fault." },
  401: {
    description:
      "No bearer token (`code` missing_token), or one that does not verify (`code` invalid_token).",
    headers: {
      "www-authenticate": { type: "string", description: 'Bearer, or Bearer error="invalid_token"' },
    },
  },
  403: { description: "The request names another user's activities or user id (`code` not_owner)." },
  404: { description: "No such activity; another user's activity answers the same." },
  408: { description: "The request did not arrive whole within 10 s." },
  412: { description: "If-Match or If-None-Match does not hold for the activity as it is now." },
  413: { description: "The body is larger than 16 KiB." },
  415: { description: "The body is not uncompressed application/json." },
  429: {
    description: "The caller's rate limit is spent (`code` rate_limited).",
    headers: RETRY_AFTER,
  },
  500: { description: "An internal error, logged with this request's x-request-id." },
  503: {
    description: "The activity store, or the token issuer (`code` issuer_unavailable), is unavailable.",
    headers: RETRY_AFTER,
  },
};

/** Statuses every route can answer, whatever it does: a slow or compressed request, a bug. */
export type { ErrorStatus };
export const ANY_ROUTE: ErrorStatus[] = [408, 415, 500];

/** `schema` as the body of a response that also sends `headers`, documented with `description`. */
export function answer<T extends TSchema>(
  schema: T,
  description: string,
  headers: Record<string, object> = {},
): T {
  return {
    ...schema,
    "x-response-description": description,
    ...(Object.keys(headers).length > 0 && { headers }),
  } as T;
}

/** The error responses for `statuses`, each the API's error shape with its meaning and headers. */
export function errors(statuses: ErrorStatus[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(
    statuses.map((status) => [status, answer(ErrorBody, ERRORS[status].description, ERRORS[status].headers)]),
  );
}

export const ETAG = {
  etag: { type: "string", description: 'The activity\'s version as a strong entity-tag, such as "3"' },
};
export const LOCATION = { location: { type: "string", description: "/activity/<id>" } };

/** 204's empty body. */
export const NoContent = Type.Null();
