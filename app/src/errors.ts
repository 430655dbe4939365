/** The API's own error types, and the one place that decides which storage failures mean "try again later". */

export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** An If-Match / If-None-Match condition did not hold (answered 412). */
export class PreconditionFailedError extends Error {
  override name = "PreconditionFailedError";
}

/** A client input the schemas cannot express (a cursor from another query, an unparsable If-Match). */
export class BadRequestError extends Error {
  override name = "BadRequestError";
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * A request to a protected route without a usable bearer token (401). `code` is RFC 6750's: `invalid_token`
 * for a token that does not verify, `missing_token` when none was sent (whose challenge carries no error).
 */
export class UnauthorizedError extends Error {
  override name = "UnauthorizedError";
  constructor(
    message: string,
    readonly code: "missing_token" | "invalid_token",
  ) {
    super(message);
  }
}

/** A verified caller asked for something that is someone else's (403). */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
  readonly code = "not_owner";
}

/** The caller's rate limit is spent (429); the rate limiter sets Retry-After. */
export class TooManyRequestsError extends Error {
  override name = "TooManyRequestsError";
  readonly code = "rate_limited";
}

/** The token issuer's keys cannot be had right now, so no token can be checked (503 with Retry-After). */
export class IssuerUnavailableError extends Error {
  override name = "IssuerUnavailableError";
  readonly code = "issuer_unavailable";
}

/** Seconds a client should wait before retrying when storage is unavailable or throttled. */
export const RETRY_AFTER_SECONDS = 2;

const UNAVAILABLE_NAMES = new Set([
  // Throttling and capacity.
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  // DynamoDB's own failures.
  "InternalServerError",
  "ServiceUnavailable",
  // Table missing or not yet created: the deployment is not ready.
  "ResourceNotFoundException",
  "ResourceInUseException",
  // Our per-call deadline and the SDK's socket timeouts.
  "AbortError",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

/** True when a storage error is transient from the client's point of view: answer 503 with Retry-After. */
export function isStorageUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNAVAILABLE_NAMES.has(error.name)) return true;
  const { code, $metadata } = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  return ($metadata?.httpStatusCode ?? 0) >= 500;
}
