/**
 * Bearer tokens on the routes of the plugin that adds these hooks. The token is verified as the request arrives
 * (onRequest), so that the rate limiter, which runs next, counts a verified caller by user and anyone else by
 * address; a refused token is answered after that (preParsing, before any body is read), so garbage tokens
 * spend their sender's allowance, never the user they name.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Caller, TokenVerifier } from "../auth/verifier.js";
import { UnauthorizedError } from "../errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified caller; undefined when auth is off (or the token was refused, which is then answered). */
    caller: Caller | undefined;
    /** Why the request's credentials were refused, answered once the rate limiter has counted the request. */
    authFailure: Error | undefined;
  }
}

/** The OpenAPI security scheme's name for these tokens. */
export const BEARER_SCHEME = "bearerAuth";

/** RFC 6750 §2.1: the scheme, then a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^\s*Bearer(\s|$)/i;

export function requireBearerTokens(app: FastifyInstance, verifier: TokenVerifier): void {
  app.decorateRequest("caller", undefined);
  app.decorateRequest("authFailure", undefined);
  app.addHook("onRequest", async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (header === undefined || !SCHEME.test(header)) {
      request.authFailure = new UnauthorizedError(
        "this route needs a bearer token: send Authorization: Bearer <access token>",
        "missing_token",
      );
      return;
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      request.authFailure = new UnauthorizedError(
        "the Authorization header must be Bearer followed by one token",
        "invalid_token",
      );
      return;
    }
    try {
      request.caller = await verifier.verify(token);
    } catch (error) {
      request.authFailure = error as Error;
    }
  });
  app.addHook("preParsing", async (request) => {
    if (request.authFailure !== undefined) throw request.authFailure;
  });
}
