import type { FastifyInstance } from "fastify";
import { Histogram, type Registry } from "prom-client";
import { METRIC_PREFIX } from "./registry.js";

export const HTTP_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The route label: the route's pattern (`/reports/user/:userId`), never the URL with its ids; `unmatched` for 404s without a route. */
export const routeLabel = (pattern: string | undefined): string => pattern ?? "unmatched";

/**
 * bionicpro_http_request_duration_seconds{method,route,status_code}: every response of `app`,
 * measured by Fastify from the request's arrival to the response's end (a live stream's whole
 * lifetime for /api/reports/stream).
 */
export function instrumentRequests(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: "API request duration by method, route pattern and status code",
    labelNames: ["method", "route", "status_code"],
    buckets: HTTP_SECONDS_BUCKETS,
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: routeLabel(request.routeOptions.url),
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
}
