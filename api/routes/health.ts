import type { ClickHouseClient } from "@clickhouse/client";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { readFreshness } from "../../clickhouse/freshness.js";
import { martsReadiness } from "../../clickhouse/readiness.js";
import type { ConsumerStatusProvider } from "../consumer-status.js";
import { Health, Probe, type ConsumerHealth, type Health as HealthBody } from "../schemas/health.js";

export interface HealthDeps {
  client: ClickHouseClient;
  database: string;
  clock: () => Date;
  consumerStatus?: ConsumerStatusProvider;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 300);

/**
 * /health: every component and the freshness (200 while ClickHouse answers, 503 when it does not);
 * /health/live: the process serves requests; /health/ready: migrations applied and the marts answer.
 * Public and not rate limited: probes call them often and they carry no user data.
 */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthDeps> = async (app, deps) => {
  const probe = { config: { access: "public" as const, rateLimit: false as const } };

  app.get(
    "/health",
    {
      ...probe,
      schema: {
        tags: ["health"],
        summary: "Component status and freshness",
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const started = performance.now();
      const ping = await deps.client.ping();
      const latency = performance.now() - started;
      const up = ping.success;
      const [marts, freshness, consumers] = await Promise.all([
        up ? martsReadiness(deps.client, deps.database).catch(() => null) : Promise.resolve(null),
        up
          ? readFreshness(deps.client, deps.database, deps.clock()).catch(() => null)
          : Promise.resolve(null),
        deps.consumerStatus
          ? deps.consumerStatus().catch((error: unknown): ConsumerHealth => ({
              status: "unknown",
              lag: null,
              records: 0,
              chunks: 0,
              dead_letters: 0,
              last_flush_at: null,
              error: message(error),
            }))
          : Promise.resolve(null),
      ]);
      const degraded = !marts?.ready || (consumers !== null && consumers.status !== "running");
      reply.code(up ? 200 : 503);
      const body: HealthBody = {
        status: !up ? "down" : degraded ? "degraded" : "ok",
        checks: {
          clickhouse: {
            status: up ? "up" : "down",
            latency_ms: latency,
            error: up ? null : message(ping.error),
          },
          marts: marts
            ? {
                status: marts.ready ? "ready" : "not_ready",
                migrations_applied: marts.migrationsApplied,
                migrations_expected: marts.migrationsExpected,
                reason: marts.reason,
              }
            : {
                status: "unknown",
                migrations_applied: 0,
                migrations_expected: 0,
                reason: "ClickHouse did not answer",
              },
          consumers,
        },
        sources: (freshness?.sources ?? []).map((s) => ({
          source: s.source,
          data_as_of: s.dataAsOf,
          lag_seconds: s.lagSeconds,
        })),
        data_as_of: freshness?.dataAsOf ?? null,
        lag_seconds: freshness?.lagSeconds ?? null,
      };
      return body;
    },
  );

  app.get(
    "/health/live",
    { ...probe, schema: { tags: ["health"], summary: "Liveness", response: { 200: Probe } } },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/health/ready",
    {
      ...probe,
      schema: {
        tags: ["health"],
        summary: "Readiness: migrations ran and the marts answer",
        response: { 200: Probe, 503: Probe },
      },
    },
    async (_request, reply) => {
      const readiness = await martsReadiness(deps.client, deps.database).catch((error: unknown) => ({
        ready: false,
        reason: `ClickHouse: ${message(error)}`,
      }));
      if (readiness.ready) return { status: "ok" as const };
      reply.code(503);
      return { status: "not_ready" as const, reason: readiness.reason ?? "not ready" };
    },
  );
};
