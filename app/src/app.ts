/**
 * Builds the Fastify application: server limits, validation, error handling and routes. It opens no socket,
 * so tests drive it with `app.inject`; server.ts owns the process and the listening socket.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyInstance,
  type FastifyServerOptions,
  type HTTPMethods,
  LogController,
} from "fastify";
import ipaddr from "ipaddr.js";
import { type KeySetTiming, TokenVerifier } from "./auth/verifier.js";
import type { AppConfig, AuthConfig } from "./config.js";
import { HEALTH_PATH, READY_PATH } from "./contract.js";
import type { ActivityRepository } from "./db/activities.js";
import { TooManyRequestsError } from "./errors.js";
import { BEARER_SCHEME } from "./http/authentication.js";
import { BODY_LIMIT_BYTES, errorHandler, sendError } from "./http/error-handler.js";
import { validatorCompiler } from "./http/validation.js";
import { activityRoutes } from "./routes/activities.js";
import { healthRoutes } from "./routes/health.js";
import { openApiRoutes } from "./routes/openapi.js";

/** Time to receive a whole request, headers and body: a slow client gets 408, not a held worker. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Above the 60 s idle timeout of AWS load balancers, so that the balancer, not us, closes idle connections. */
const KEEP_ALIVE_TIMEOUT_MS = 75_000;
/**
 * How often Node looks for requests past their timeout. Its default, 30 s, let a stalled client hold its
 * connection for up to 40 s instead of REQUEST_TIMEOUT_MS; a sweep each second keeps the bound within 1 s.
 */
const TIMEOUT_SWEEP_MS = 1000;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROBE_PATHS = new Set([HEALTH_PATH, READY_PATH]);
const ROUTABLE_METHODS: HTTPMethods[] = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"];
/** A year: browsers and HTTP clients that honour it keep to HTTPS for this host; subdomains are not ours. */
const HSTS = "max-age=31536000";
/** The contract's version in the OpenAPI document: changes when a client would see a difference. */
const API_VERSION = "1.0.0";

export interface AppOptions {
  activities: ActivityRepository;
  /** Fastify's logger option: pino options, or false for none. @default false */
  logger?: FastifyServerOptions["logger"];
  /** Time to receive a whole request; tests shorten it rather than wait 10 s. @default REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number;
  /** Set: the activity routes need bearer tokens from this issuer. @default undefined, an open API */
  auth?: AuthConfig;
  /** How the issuer's keys are cached; tests shorten the cooldown. @default DEFAULT_KEY_SET_TIMING */
  keySetTiming?: Partial<KeySetTiming>;
  /** Requests per caller per window. @default undefined, no limit (the server always passes the config's) */
  rateLimit?: AppConfig["rateLimit"];
  /** Proxies in front whose X-Forwarded-For entry names the client. @default 0 */
  trustedProxyHops?: number;
}

/** One IPv6 subscriber commonly holds a /56 (the rate-limit plugin's own default), so one key covers it all. */
const IPV6_CLIENT_PREFIX = 56;

/** The rate-limit key of a client address: itself for IPv4 (and IPv4-mapped IPv6), its /56 for IPv6. */
function clientNetwork(ip: string | undefined): string {
  // No address (a socket already gone) cannot be parsed; it still gets a key of its own.
  if (ip === undefined || !ipaddr.isValid(ip)) return String(ip);
  const address = ipaddr.process(ip);
  if (address.kind() === "ipv4") return address.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${IPV6_CLIENT_PREFIX}`).toString()}/${IPV6_CLIENT_PREFIX}`;
}

/** Keeps a caller's X-Request-Id when it is safe to log; otherwise makes one. */
function requestId(request: IncomingMessage): string {
  const header = request.headers["x-request-id"];
  return typeof header === "string" && REQUEST_ID.test(header) ? header : randomUUID();
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const trustedProxyHops = options.trustedProxyHops ?? 0;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: TIMEOUT_SWEEP_MS },
    genReqId: requestId,
    // Behind Caddy or an ALB, the client is the last X-Forwarded-For entry, the one that proxy appended;
    // earlier entries are whatever the client sent, and trusting them would let it pick its rate-limit key.
    // (Fastify's own form of "trust n hops", which its types do not declare.) With none, Fastify's plain
    // request, which never parses the header.
    trustProxy: trustedProxyHops > 0 ? (_address, hop) => hop < trustedProxyHops : false,
    // While draining, a request that still reaches the app (on a connection its proxy opened before the stop)
    // is answered, with Connection: close, rather than refused with 503: a client behind the proxy would see
    // that 503, while the old release can still serve it.
    return503OnClosing: false,
    // Probes run every few seconds: their request lines would drown the log.
    logController: new LogController({
      requestIdLogLabel: "requestId",
      disableRequestLogging: (request) => PROBE_PATHS.has(request.url),
    }),
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, "no such route"));
  // JSON only: without this, text/plain bodies would be parsed and then fail validation as 400, not 415.
  app.removeContentTypeParser("text/plain");
  // A callback hook, not an async one: it runs on every request, and a promise per request costs throughput.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    // HSTS only on answers a client received over HTTPS (RFC 6797 §7.2), as the trusted proxy reports it: a
    // client that once reached the API over HTTPS never sends its token in clear text to that host again.
    if (request.protocol === "https") reply.header("strict-transport-security", HSTS);
    // Bodies are parsed as sent; a compressed one would be read as garbage JSON (RFC 9110 §15.5.16: 415).
    const encoding = request.headers["content-encoding"];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
      sendError(reply, 415, "Content-Encoding is not supported; send the body uncompressed");
      return;
    }
    done();
  });

  // Every route's path answers 405 with an Allow header for the methods it does not serve.
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByPath.set(route.url, methods);
  });

  if (options.rateLimit !== undefined) {
    const { max, windowSeconds } = options.rateLimit;
    await app.register(rateLimit, {
      max,
      timeWindow: windowSeconds * 1000,
      // Route hooks run after the activity routes' own onRequest hook, which has verified the token by then.
      hook: "onRequest",
      // A verified caller is limited as a user, anyone else by address: a refused token naming a user spends
      // its sender's allowance, never that user's.
      keyGenerator: (request) =>
        request.caller === undefined
          ? `address ${clientNetwork(request.ip)}`
          : `user ${request.caller.userId}`,
      errorResponseBuilder: (_request, context) =>
        new TooManyRequestsError(
          `more than ${context.max} requests in ${windowSeconds} s; retry in ${context.after}`,
        ),
    });
  }
  // Before the routes: it records each one as it is added.
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Activity API",
        version: API_VERSION,
        description:
          "A user's workouts (activities): read, list, create, replace and delete, with ETags and conditional " +
          "writes. Errors share one JSON shape. Besides the statuses listed, any path answers 404 for an unknown " +
          "route and 405 (with Allow) for a method it does not serve.",
      },
      ...(options.auth !== undefined && {
        components: {
          securitySchemes: {
            [BEARER_SCHEME]: {
              type: "http",
              scheme: "bearer",
              bearerFormat: "JWT",
              description: `An access token from ${options.auth.issuer} for audience ${options.auth.audience}`,
            },
          },
        },
      }),
    },
  });
  await app.register(healthRoutes(options.activities));
  await app.register(openApiRoutes());
  const verifier =
    options.auth === undefined ? undefined : new TokenVerifier(options.auth, app.log, options.keySetTiming);
  await app.register(activityRoutes(options.activities, verifier));

  for (const [url, methods] of [...methodsByPath]) {
    const allow = [...methods].join(", ");
    app.route({
      method: ROUTABLE_METHODS.filter((method) => !methods.has(method)),
      url,
      schema: { hide: true },
      handler: async (request, reply) =>
        sendError(reply.header("allow", allow), 405, `${request.method} is not allowed here; use ${allow}`),
    });
  }
  return app as unknown as FastifyInstance;
}
