/** Liveness (is the process serving?) and readiness (can it reach its table?) for probes and load balancers. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HEALTH_PATH, READY_PATH } from "../contract.js";
import type { ActivityRepository } from "../db/activities.js";
import { RETRY_AFTER_SECONDS } from "../errors.js";
import { sendError } from "../http/error-handler.js";
import { ANY_ROUTE, answer, errors } from "../http/responses.js";
import { Health } from "../schemas.js";

export function healthRoutes(activities: ActivityRepository): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Probes are exempt from rate limiting: a load balancer's come from a few addresses, every few seconds.
    const probe = { config: { rateLimit: false } } as const;
    app.get(
      HEALTH_PATH,
      {
        ...probe,
        schema: {
          summary: "Liveness: the process serves (no database call)",
          response: { 200: answer(Health, "Serving"), ...errors(ANY_ROUTE) },
        },
      },
      async () => ({ status: "ok" }),
    );

    app.get(
      READY_PATH,
      {
        ...probe,
        schema: {
          summary: "Readiness: the activity table answers (the token issuer is never asked)",
          response: { 200: answer(Health, "Ready"), ...errors([...ANY_ROUTE, 503]) },
        },
      },
      async (request, reply) => {
        try {
          await activities.ping();
          return { status: "ready" };
        } catch (error) {
          request.log.warn({ err: error }, "not ready: activity table unreachable");
          reply.header("retry-after", String(RETRY_AFTER_SECONDS));
          return sendError(reply, 503, "the activity store is unreachable or its table is missing");
        }
      },
    );
  };
}
