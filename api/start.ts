import type { ClickHouseClient } from "@clickhouse/client";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import {
  createClickHouseClient,
  openClickHouseSession,
  type ClickHouseOptions,
} from "../clickhouse/client.js";
import { freshAfterFailure } from "../clickhouse/fresh-session.js";
import type { MetricsJson } from "../observability/registry.js";
import { buildApp } from "./app.js";
import { createTokenVerifier } from "./auth/verifier.js";
import { loadApiConfig, type ApiConfig } from "./config.js";
import type { ConsumerStatusProvider } from "./consumer-status.js";
import type { AppliedChunkSource } from "./live/sources.js";

export interface StartApiOptions {
  /** @default loadApiConfig() (the environment) */
  config?: ApiConfig;
  /**
   * The API's own ClickHouse connection: never the consumers' (a report must not wait behind an
   * insert). Best a factory (the default: `reportClient` over config.clickhouse, with
   * config.reportConnections connections of its own to the same data directory): the API then replaces its session after a failed
   * statement (clickhouse/fresh-session.ts). A client is used as it is and left open on close.
   * @default a factory over config.clickhouse
   */
  clickhouse?: ClickHouseClient | (() => ClickHouseClient);
  /** Consumers running in the same process, for /health. */
  consumerStatus?: ConsumerStatusProvider;
  /** @default () => new Date() */
  clock?: () => Date;
  /** The consumers' applied chunks when they run in this process (MartsPipeline.applied); else progress is polled. */
  appliedChunks?: AppliedChunkSource;
  /** The process's metrics registry, served on GET /metrics (api/app.ts AppDeps.metrics). */
  metrics?: Registry;
  /** Metrics of the process not on `metrics` (api/app.ts AppDeps.moreMetrics). */
  moreMetrics?: () => Promise<MetricsJson>;
}

export interface RunningApi {
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  docsUrl: string;
  openApiUrl: string;
  /** The dashboard page (GET /). */
  dashboardUrl: string;
  /** Stops listening and closes the connection this function opened (not a client passed in). */
  close(): Promise<void>;
}

/**
 * The API's client for its own report SQL: on the embedded engine its parameters are rendered in
 * this process, so report reads run side by side instead of in chDB's one queue of bound
 * statements (clickhouse/client.ts `bindParamsInProcess`). The ML endpoint's session is separate.
 */
export const reportClient = (options: ClickHouseOptions, connections: number): ClickHouseClient =>
  createClickHouseClient({ ...options, bindParamsInProcess: true, connections });

/**
 * Builds and starts the API: `npm run api` (api/main.ts) in server mode, or next to the consumers in
 * the embedded default (scripts/start.ts), in which case ClickHouse migrations have already run.
 */
export async function startApi(options: StartApiOptions = {}): Promise<RunningApi> {
  const config = options.config ?? loadApiConfig();
  const given = options.clickhouse;
  const owned =
    typeof given === "object"
      ? null
      : freshAfterFailure(given ?? (() => reportClient(config.clickhouse, config.reportConnections)));
  const client = owned ?? (given as ClickHouseClient);
  try {
    const app = await buildApp({
      clickhouse: {
        client,
        database: config.clickhouse.database,
        openSqlClient: () => openClickHouseSession(config.clickhouse),
      },
      auth: createTokenVerifier(config.auth),
      clock: options.clock ?? (() => new Date()),
      config,
      consumerStatus: options.consumerStatus,
      appliedChunks: options.appliedChunks,
      metrics: options.metrics,
      moreMetrics: options.moreMetrics,
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = config.host.includes(":") ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    return {
      app,
      url,
      docsUrl: `${url}/docs`,
      openApiUrl: `${url}/openapi.json`,
      dashboardUrl: `${url}/`,
      close: async () => {
        await app.close();
        await owned?.close();
      },
    };
  } catch (error) {
    await owned?.close();
    throw error;
  }
}
