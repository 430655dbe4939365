/**
 * Verifies the bearer tokens of one OpenID Connect issuer and names their caller. The signing keys come from the
 * issuer's discovery document (`jwks_uri`), fetched on the first token, never per request, and cached by jose's
 * remote key set, which refetches on an unknown `kid` at most once per cooldown. Failed fetches are bounded
 * the same way here, and the last good key set keeps serving while the issuer is unreachable.
 */
import type { FastifyBaseLogger } from "fastify";
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  jwtVerify,
  type RemoteJWKSet,
} from "jose";
import type { AuthConfig } from "../config.js";
import { isLoopback } from "../contract.js";
import { IssuerUnavailableError, UnauthorizedError } from "../errors.js";
import { ID_PATTERN } from "../schemas.js";

/** Asymmetric signatures only: with an HMAC algorithm, anyone holding the published key could sign tokens. */
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "Ed25519",
  "EdDSA",
];

/** Leeway on exp and nbf for clocks that disagree a little; tokens live minutes to hours. */
const CLOCK_TOLERANCE_SECONDS = 30;

export interface KeySetTiming {
  /** Keys older than this are fetched again before use. @default 10 minutes */
  cacheMaxAgeMs: number;
  /** After a fetch, or a failed one, no other fetch for this long, whatever kids tokens name. @default 30 s */
  cooldownMs: number;
  /** One fetch from the issuer ends within this. @default 5 s */
  timeoutMs: number;
}

const DEFAULT_KEY_SET_TIMING: KeySetTiming = {
  cacheMaxAgeMs: 10 * 60_000,
  cooldownMs: 30_000,
  timeoutMs: 5000,
};

/** Who a verified token says is calling. */
export interface Caller {
  /** The user claim's value, compared with activities' userId. */
  userId: string;
}

const USER_ID = new RegExp(ID_PATTERN);

export class TokenVerifier {
  private keySet: Promise<RemoteJWKSet> | undefined;
  /** The last key set the issuer served, as JSON: served again while the issuer cannot be reached. */
  private lastGoodKeys: string | undefined;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private readonly timing: KeySetTiming;

  constructor(
    private readonly config: AuthConfig,
    private readonly log: FastifyBaseLogger,
    timing: Partial<KeySetTiming> = {},
  ) {
    this.timing = { ...DEFAULT_KEY_SET_TIMING, ...timing };
  }

  /**
   * The caller a token names, or an UnauthorizedError saying in our own words what is wrong with it (the
   * library's own messages, which name its internals, are never shown), or IssuerUnavailableError when no key can
   * be had to check it.
   */
  async verify(token: string): Promise<Caller> {
    const { issuer, userClaim } = this.config;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.resolveKey, {
        issuer,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp", userClaim],
      }));
    } catch (error) {
      if (error instanceof IssuerUnavailableError) throw error;
      throw new UnauthorizedError(describeFailure(error), "invalid_token");
    }
    if (payload.token_use === "id" || payload.nonce !== undefined || payload.at_hash !== undefined) {
      throw new UnauthorizedError(
        "an ID token is not an API credential; send an access token",
        "invalid_token",
      );
    }
    if (!this.isForThisApi(payload)) {
      throw new UnauthorizedError("the token is meant for another audience", "invalid_token");
    }
    const userId = payload[userClaim];
    if (typeof userId !== "string" || !USER_ID.test(userId)) {
      throw new UnauthorizedError(
        `the token's ${userClaim} claim is not a user id this API accepts (1 to 64 of A-Z a-z 0-9 _ -)`,
        "invalid_token",
      );
    }
    return { userId };
  }

  /** `aud` names the API; or, in a Cognito access token, which has no `aud`, `client_id` does. */
  private isForThisApi(payload: JWTPayload): boolean {
    const { audience } = this.config;
    if (payload.aud !== undefined) return [payload.aud].flat().includes(audience);
    return payload.token_use === "access" && payload.client_id === audience;
  }

  private readonly resolveKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const keys = await this.remoteKeySet();
    try {
      return await keys(header, token);
    } catch (error) {
      // The issuer served something that is not a key set: no token can be checked, whatever it holds.
      if (error instanceof errors.JWKSInvalid)
        throw new IssuerUnavailableError("the issuer's key set is invalid");
      throw error;
    }
  };

  /** The key set named by the discovery document, which is read once (a failed read is retried after the cooldown). */
  private remoteKeySet(): Promise<RemoteJWKSet> {
    this.keySet ??= this.discoverKeySet().catch((error: unknown) => {
      this.keySet = undefined;
      throw error;
    });
    return this.keySet;
  }

  private async discoverKeySet(): Promise<RemoteJWKSet> {
    const { issuer } = this.config;
    const discoveryUrl = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const jwksUri = await this.fetchFromIssuer(
      discoveryUrl,
      AbortSignal.timeout(this.timing.timeoutMs),
      (document) => {
        // OpenID Connect Discovery §4.3: a document naming another issuer must not be used.
        if (document.issuer !== issuer) {
          throw new Error(`it names issuer ${JSON.stringify(document.issuer)}, not ${issuer}`);
        }
        const uri = typeof document.jwks_uri === "string" ? URL.parse(document.jwks_uri) : null;
        if (uri === null || !isFetchable(uri)) {
          throw new Error(`its jwks_uri ${JSON.stringify(document.jwks_uri)} is not an https:// URL`);
        }
        return uri;
      },
    );
    const { cacheMaxAgeMs, cooldownMs, timeoutMs } = this.timing;
    return createRemoteJWKSet(jwksUri, {
      cacheMaxAge: cacheMaxAgeMs,
      cooldownDuration: cooldownMs,
      timeoutDuration: timeoutMs,
      [customFetch]: this.fetchKeys,
    });
  }

  /**
   * jose's fetch of the key set. A successful fetch starts jose's cooldown; a failed one would not, so every
   * unknown kid would reach the issuer again while it is down. Instead the last good key set is served again
   * (so the cooldown applies, and tokens signed with known keys keep working through the outage), and with
   * none yet, fetchFromIssuer refuses to try more than once per cooldown.
   */
  private readonly fetchKeys: FetchImplementation = async (url, options) => {
    try {
      this.lastGoodKeys = await this.fetchFromIssuer(url, options.signal, (document) => {
        if (!Array.isArray(document.keys)) throw new Error('it has no "keys" array');
        return JSON.stringify(document);
      });
    } catch (error) {
      if (this.lastGoodKeys === undefined) throw error;
      this.log.warn({ err: error }, "token issuer unreachable: verifying with the last key set it served");
    }
    return new Response(this.lastGoodKeys, { status: 200, headers: { "content-type": "application/json" } });
  };

  /** GETs a JSON object from the issuer and reads it; after a failure of any kind, no attempt for a cooldown. */
  private async fetchFromIssuer<T>(
    url: string,
    signal: AbortSignal,
    read: (document: Record<string, unknown>) => T,
  ): Promise<T> {
    if (Date.now() - this.lastFailureAt < this.timing.cooldownMs) {
      throw new IssuerUnavailableError("the token issuer failed recently; not asking it again yet");
    }
    try {
      const response = await fetch(url, {
        signal,
        redirect: "error",
        headers: { accept: "application/json" },
      });
      if (response.status !== 200) throw new Error(`it answered ${response.status}`);
      const document: unknown = await response.json();
      if (typeof document !== "object" || document === null || Array.isArray(document)) {
        throw new Error("it is not a JSON object");
      }
      return read(document as Record<string, unknown>);
    } catch (error) {
      this.lastFailureAt = Date.now();
      throw this.failure(`${url} cannot be used`, error);
    }
  }

  /** Logs why the issuer cannot be used, with the full error, and returns what the client is told. */
  private failure(reason: string, cause?: unknown): IssuerUnavailableError {
    this.log.error({ err: cause, issuer: this.config.issuer }, `token issuer unusable: ${reason}`);
    return new IssuerUnavailableError("the token issuer cannot be reached to check tokens");
  }
}

/** https://, or plain http:// to this machine's loopback only (an issuer run by tests or `npm run auth:dev`). */
function isFetchable(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname));
}

/** Our words for why jose refused a token: its own messages name internals and go to no client. */
function describeFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return `the token has no ${error.claim} claim`;
    if (error.claim === "nbf") return "the token is not valid yet";
    if (error.claim === "iss") return "the token was issued by another issuer";
    return `the token's ${error.claim} claim is not acceptable`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return "the token's signing algorithm is not accepted; asymmetric algorithms only";
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return "the token is signed with a key the issuer does not publish";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  return "the token is not a well-formed signed JWT";
}
