import { readFreshness } from "../../clickhouse/freshness.js";
import { startMetricsServer, type MetricsServer } from "../../observability/exposition.js";
import { registerFreshness } from "../../observability/freshness-metrics.js";
import { createMetricsRegistry } from "../../observability/registry.js";
import { loadConsumerConfig } from "./config.js";
import { consumerLog } from "./logging.js";
import { startPipeline } from "./runtime/run.js";

/**
 * The consumer process on its own (`npm run consume`): server mode, or embedded when nothing else
 * holds the ClickHouse directory. SIGTERM/SIGINT stop it cleanly; a fatal error exits with 1.
 * CONSUMER_METRICS_PORT serves its Prometheus metrics on GET /metrics.
 */
const config = loadConsumerConfig();
const log = consumerLog(config);
const registry = config.metrics.port > 0 ? createMetricsRegistry() : undefined;

// Served from the start: while the pipeline waits for its topics or migrates, scrapes already answer.
const metricsServer: MetricsServer | undefined = registry
  ? await startMetricsServer({
      registry,
      host: config.metrics.host,
      port: config.metrics.port,
      token: config.metrics.token,
    })
  : undefined;
if (metricsServer)
  log(`metrics on ${metricsServer.url}${config.metrics.token ? " (bearer token required)" : ""}`);
const running = await startPipeline(config, log, { metrics: registry }).catch(async (error: unknown) => {
  await metricsServer?.close();
  throw error;
});
if (registry) {
  registerFreshness(registry, {
    read: () => readFreshness(running.clickhouse, config.clickhouse.database),
    timeoutMs: config.metrics.collectTimeoutMs,
  });
}
const close = async () => {
  await metricsServer?.close();
  await running.close();
};
let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: finishing in-flight chunks and closing`);
  await close();
  process.exit(0);
};
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
const error = await running.pipeline.failed;
log(`stopping after a fatal error: ${error.message}`, "error");
await close().catch(() => undefined);
process.exit(1);
