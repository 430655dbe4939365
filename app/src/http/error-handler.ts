/**
 * The one place errors become responses. 4xx answers carry a message meant for the client; 5xx answers are
 * generic. No stack trace, AWS message or internal name ever reaches a client; the log gets the full error.
 */
import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  BadRequestError,
  ForbiddenError,
  IssuerUnavailableError,
  isStorageUnavailable,
  NotFoundError,
  PreconditionFailedError,
  RETRY_AFTER_SECONDS,
  TooManyRequestsError,
  UnauthorizedError,
} from "../errors.js";
import type { ErrorBody } from "../schemas.js";
import { describeValidationError } from "./validation.js";

export const BODY_LIMIT_BYTES = 16 * 1024;

/** Client-facing messages for Fastify's own 4xx errors, by code. */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "Content-Type must be application/json",
  FST_ERR_CTP_BODY_TOO_LARGE: `request body is larger than ${BODY_LIMIT_BYTES} bytes`,
  FST_ERR_CTP_EMPTY_JSON_BODY: "request body is empty; send a JSON object",
  FST_ERR_CTP_INVALID_JSON_BODY: "request body is not valid JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "Content-Length does not match the request body",
  FST_ERR_CTP_INVALID_TYPE: "Content-Type header is malformed",
  FST_ERR_CTP_EMPTY_TYPE: "Content-Type header is empty",
  FST_ERR_BAD_URL: "the request URL is malformed",
  FST_ERR_ASYNC_CONSTRAINT: "the request could not be routed",
};

/** What an error body may add to its message: the input at fault, or a code a client can branch on. */
type ErrorDetail = Pick<ErrorBody, "field" | "code">;

export function sendError(
  reply: FastifyReply,
  statusCode: number,
  message: string,
  detail: ErrorDetail = {},
): FastifyReply {
  const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? "Error", message, ...detail };
  return reply.code(statusCode).type("application/json; charset=utf-8").send(body);
}

export function errorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error.validation && error.validation.length > 0 && error.validation[0]) {
    const { message, field } = describeValidationError(
      error.validationContext ?? "request",
      error.validation[0],
    );
    return sendError(reply, 400, message, { field });
  }
  if (error instanceof BadRequestError) return sendError(reply, 400, error.message, { field: error.field });
  if (error instanceof UnauthorizedError) {
    // Why, in the log too: a wrong AUTH_AUDIENCE or issuer shows as every token refused for the same reason.
    request.log.info({ code: error.code, reason: error.message }, "token refused");
    // RFC 6750 §3: a request with no token gets the bare challenge; a bad token gets the error code.
    reply.header(
      "www-authenticate",
      error.code === "missing_token" ? "Bearer" : `Bearer error="${error.code}"`,
    );
    return sendError(reply, 401, error.message, { code: error.code });
  }
  if (error instanceof ForbiddenError) return sendError(reply, 403, error.message, { code: error.code });
  if (error instanceof TooManyRequestsError)
    return sendError(reply, 429, error.message, { code: error.code });
  if (error instanceof IssuerUnavailableError) {
    reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return sendError(reply, 503, error.message, { code: error.code });
  }
  if (error instanceof NotFoundError) return sendError(reply, 404, error.message);
  if (error instanceof PreconditionFailedError) return sendError(reply, 412, error.message);
  if (isStorageUnavailable(error)) {
    request.log.warn({ err: error }, "storage unavailable");
    reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return sendError(reply, 503, "the activity store is unavailable; retry later");
  }
  const statusCode = error.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) {
    request.log.info({ code: error.code, statusCode }, "client error");
    const known = error.code === undefined ? undefined : FRAMEWORK_MESSAGES[error.code];
    return sendError(reply, statusCode, known ?? STATUS_CODES[statusCode] ?? "Bad Request");
  }
  request.log.error({ err: error }, "unhandled error");
  return sendError(reply, 500, "internal error; it has been logged with this request's id");
}
