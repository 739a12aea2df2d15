import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";
import { scrapeAllowed } from "../../observability/exposition.js";
import { exposition, type MetricsJson } from "../../observability/registry.js";
import { ApiError } from "../errors.js";

export interface MetricsRouteDeps {
  registry: Registry;
  /** BIONICPRO_METRICS_TOKEN; null = open. */
  token: string | null;
  /** Metrics of the process kept elsewhere (the consumers' worker thread), served with the registry's. */
  more?: () => Promise<MetricsJson>;
}

/**
 * GET /metrics: the process's registry (and `more`) in Prometheus' text format. Outside the JWT auth (Prometheus
 * holds no Keycloak token) and the rate limit (scrapes are regular); guarded by its own bearer token
 * when one is configured. Not in the OpenAPI document: it is for Prometheus, not API clients
 * (docs/metrics-and-logs.md documents every series).
 */
export const metricsRoutes: FastifyPluginAsync<MetricsRouteDeps> = async (app, deps) => {
  app.get(
    "/metrics",
    { config: { access: "public", rateLimit: false }, schema: { hide: true } },
    async (request, reply) => {
      if (!scrapeAllowed(request.headers.authorization, deps.token))
        throw new ApiError("METRICS_TOKEN_INVALID", "send Authorization: Bearer <BIONICPRO_METRICS_TOKEN>", {
          headers: { "www-authenticate": "Bearer" },
        });
      const text = await exposition(deps.registry, deps.more ? [await deps.more()] : []);
      return reply.type(deps.registry.contentType).send(text);
    },
  );
};
