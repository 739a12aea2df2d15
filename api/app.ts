import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { registerFreshness } from "../observability/freshness-metrics.js";
import { instrumentRequests } from "../observability/http-metrics.js";
import { registerReportCache } from "../observability/report-cache-metrics.js";
import { createMetricsRegistry, type MetricsJson } from "../observability/registry.js";
import { registerAuthentication } from "./auth/plugin.js";
import type { TokenVerifier } from "./auth/verifier.js";
import type { ApiConfig } from "./config.js";
import type { ConsumerStatusProvider } from "./consumer-status.js";
import { registerErrorHandling } from "./error-handler.js";
import { ApiError } from "./errors.js";
import { loggerOptions, type LogStream } from "./logging.js";
import { ReportService } from "./reports/service.js";
import { healthRoutes } from "./routes/health.js";
import { reportRoutes } from "./routes/reports.js";
import { sqlRoutes } from "./routes/sql.js";
import { SqlService } from "./sql/runner.js";
import { readAppliedMarker, readFreshness } from "../clickhouse/freshness.js";
import { bffPlugin } from "./bff/plugin.js";
import { openIdRelyingParty, type OidcRelyingParty } from "./bff/oidc.js";
import { dashboardPlugin } from "./dashboard/plugin.js";
import { LiveFeed } from "./live/feed.js";
import { FreshnessWatch } from "./live/freshness-watch.js";
import { endAllStreams, type LiveReports } from "./live/service.js";
import { ReportCache } from "./reports/cache.js";
import { followPipeline, pollProgress, type AppliedChunkSource } from "./live/sources.js";
import { streamRoutes } from "./routes/stream.js";
import { metricsRoutes } from "./routes/metrics.js";

export interface AppDeps {
  /**
   * The marts: the API's own client (embedded: a second connection to the consumers' data dir, so
   * a report never waits behind their inserts), the database, and how to open a session for the ML
   * SQL endpoint (clickhouse/client.ts openClickHouseSession; two per request, closed after it).
   */
  clickhouse: { client: ClickHouseClient; database: string; openSqlClient: () => Promise<ClickHouseClient> };
  auth: TokenVerifier;
  /** "Now" of every report (this month, lag). */
  clock: () => Date;
  config: ApiConfig;
  consumerStatus?: ConsumerStatusProvider;
  /** Log destination instead of stdout (tests). */
  logStream?: LogStream;
  /**
   * Where the live stream learns of changes. Embedded default: the consumers' pipeline in this
   * process (MartsPipeline.applied). Without it (server mode, or the API alone) the consumers'
   * progress table is polled.
   */
  appliedChunks?: AppliedChunkSource;
  /** The BFF's OpenID Connect relying party. @default openid-client against config.bff.issuer */
  oidc?: OidcRelyingParty;
  /**
   * The process's metrics registry (`npm start`: the consumers' metrics are on it too); the app adds
   * request durations and freshness and serves it on GET /metrics (config.metrics.enabled).
   * @default a registry of its own
   */
  metrics?: Registry;
  /** Metrics of the process not on `metrics` (the consumers' worker thread's), served with them. */
  moreMetrics?: () => Promise<MetricsJson>;
}

export const apiVersion = "1.0.0";

/**
 * The reports API as a Fastify instance, not listening (tests use inject(); api/start.ts listens).
 * Hooks in order: authenticate (onRequest, global), rate limit (onRequest, per route, keyed by the
 * verified subject or the client address), authorize (preValidation, per route), validate, handle.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: loggerOptions(config.logLevel, deps.logStream),
    trustProxy: config.trustProxy,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON bodies only (POST /api/sql): anything else is 415, not a string body.
  app.removeContentTypeParser("text/plain");
  registerErrorHandling(app);
  const metrics = config.metrics.enabled ? (deps.metrics ?? createMetricsRegistry()) : undefined;
  if (metrics) instrumentRequests(app, metrics);
  await app.register(helmet, { global: true });
  await app.register(cors, {
    // A list, not a string: other origins get no Access-Control-Allow-Origin at all.
    origin: config.corsOrigin ? [config.corsOrigin] : false,
    methods: ["GET", "POST"],
    allowedHeaders: ["Authorization", "Content-Type", "Accept"],
    maxAge: 600,
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "BionicPRO live reports API",
        version: apiVersion,
        description:
          "Reports over the live ClickHouse marts. Bearer tokens from Keycloak (RS256). " +
          "Errors are application/problem+json with a stable code (docs/api.md).",
      },
      components: {
        securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      tags: [
        { name: "reports", description: "Owners: own data; support/admin: any user" },
        { name: "ml", description: "ml_engineer: read-only SQL" },
        { name: "health", description: "Probes" },
      ],
    },
  });
  registerAuthentication(app, deps.auth);
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    keyGenerator: (request) => (request.principal ? `sub:${request.principal.subject}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new ApiError("RATE_LIMITED", `at most ${context.max} requests per ${context.after}; retry later`),
  });

  const { client, database } = deps.clickhouse;
  const sql = new SqlService(deps.clickhouse.openSqlClient, database, config.sql);

  // The report cache needs to hear of every write before and after it: only with the consumers in
  // this process. The API alone (server mode) reads the marts on every request.
  const changes = deps.appliedChunks;
  let cache: ReportCache | undefined;
  if (config.cache.enabled && changes?.onApplying) {
    const kept = new ReportCache({
      maxEntries: config.cache.maxEntries,
      freshnessMaxAgeMs: config.cache.freshnessMaxAgeMs,
    });
    const stops = [
      changes.onApplying((e) => kept.invalidate(e.touched)),
      changes.on((e) => kept.invalidate(e.touched)),
    ];
    app.addHook("onClose", async () => {
      for (const stop of stops) stop();
    });
    cache = kept;
    if (metrics) registerReportCache(metrics, () => kept.stats);
  }
  const reports = new ReportService({ client, database, clock: deps.clock, cache });
  await app.register(reportRoutes, { reports });
  const feed = new LiveFeed();
  const warn = (what: string) => (error: unknown) => app.log.warn({ err: error }, what);
  const freshness = new FreshnessWatch(
    () => readFreshness(client, database, deps.clock()),
    config.stream.pollMs,
    warn("live stream: reading data_as_of failed"),
  );
  const stopSource = deps.appliedChunks
    ? followPipeline(deps.appliedChunks, feed)
    : pollProgress(
        () => readAppliedMarker(client, database),
        feed,
        config.stream.pollMs,
        warn("live stream: polling the consumers' progress failed"),
      );
  const live: LiveReports = {
    feed,
    freshness,
    reports,
    config: config.stream,
    clock: deps.clock,
    open: new Map(),
    stop: () => {
      stopSource();
      freshness.stop();
      endAllStreams(live);
    },
  };
  app.addHook("preClose", async () => live.stop());
  await app.register(streamRoutes, { live, reports });
  await app.register(healthRoutes, {
    client,
    database,
    clock: deps.clock,
    consumerStatus: deps.consumerStatus,
  });
  await app.register(sqlRoutes, {
    sql,
    client,
    database,
    clock: deps.clock,
    maxQueryChars: config.sql.maxQueryChars,
    rateLimit: { max: config.rateLimit.sqlMax, timeWindow: config.rateLimit.windowMs },
  });

  if (config.bff.enabled) {
    await app.register(bffPlugin, {
      config: config.bff,
      oidc:
        deps.oidc ??
        openIdRelyingParty({
          issuer: config.bff.issuer,
          clientId: config.bff.clientId,
          clientSecret: config.bff.clientSecret,
        }),
      inject: (options) => app.inject(options),
    });
    await app.register(dashboardPlugin);
  }

  if (metrics) {
    registerFreshness(metrics, {
      read: () => readFreshness(client, database, deps.clock()),
      timeoutMs: config.metrics.collectTimeoutMs,
    });
    await app.register(metricsRoutes, {
      registry: metrics,
      token: config.metrics.token,
      more: deps.moreMetrics,
    });
  }

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: true,
    uiConfig: { url: "/openapi.json", deepLinking: true },
  });
  await app.ready();
  return app;
}
