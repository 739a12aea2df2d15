import type { ClickHouseClient } from "@clickhouse/client";
import { Kafka, logLevel } from "kafkajs";
import type { Registry } from "prom-client";
import { createClickHouseClient } from "../../../clickhouse/client.js";
import { migrate } from "../../../clickhouse/migrate.js";
import type { ConsumerConfig } from "../config.js";
import { RecordDecoder } from "./decode.js";
import { kafkaLogCreator } from "./kafka-log.js";
import { slotNameFor } from "../../../connectors/render.js";
import { SOURCE_NAMES } from "../../../connectors/sources.js";
import { registerConsumerLag } from "../../../observability/consumer-lag.js";
import { PipelineMetrics } from "../../../observability/pipeline-metrics.js";
import { registerSlotLag } from "../../../observability/slot-lag.js";
import type { ConsumerLog } from "../logging.js";
import { MartsPipeline, sourceTopics } from "./pipeline.js";

export interface RunningPipeline {
  pipeline: MartsPipeline;
  /**
   * The pipeline's ClickHouse client: migrations, claims, progress, and one of the connections its
   * chunks are written through (embedded mode: the others are the pipeline's own, closed with it).
   */
  clickhouse: ClickHouseClient;
  /** Stops consuming, waits for in-flight chunks, closes Kafka and ClickHouse. */
  close(): Promise<void>;
}

export interface StartPipelineOptions {
  /**
   * The process's metrics registry (observability/registry.ts): the pipeline's counters and apply
   * latency, consumer lag and the source slots' lag are registered on it.
   */
  metrics?: Registry;
}

/** Applies migrations, then starts the consumer group. The caller decides when to close. */
export async function startPipeline(
  config: ConsumerConfig,
  log: ConsumerLog,
  options: StartPipelineOptions = {},
): Promise<RunningPipeline> {
  const clickhouse = createClickHouseClient(config.clickhouse);
  const applied = await migrate(clickhouse, config.clickhouse.database);
  log(
    `ClickHouse ${config.clickhouse.url ? `server ${new URL(config.clickhouse.url).host}` : `embedded at ${config.clickhouse.path}`}, ` +
      `database ${config.clickhouse.database}: ${applied.length} migration(s) applied`,
  );
  // The embedded engine's chunks go through several connections (ConsumerConfig.clickhouseWriters).
  const writers = config.clickhouse.url
    ? []
    : Array.from({ length: config.clickhouseWriters - 1 }, () => createClickHouseClient(config.clickhouse));
  const kafka = new Kafka({
    clientId: `marts-${process.pid}`,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(log),
  });
  const metrics = options.metrics
    ? instrument(options.metrics, config, kafka, (): MartsPipeline => pipeline)
    : undefined;
  const pipeline: MartsPipeline = new MartsPipeline({
    config,
    kafka,
    clickhouse,
    writers: writers.length ? [clickhouse, ...writers] : undefined,
    decoder: new RecordDecoder(config.registryUrl),
    log,
    observer: metrics?.observer,
  });
  const close = async () => {
    await pipeline.stop();
    await metrics?.close();
    for (const writer of writers) await writer.close();
    await clickhouse.close();
  };
  try {
    await pipeline.start();
  } catch (error) {
    await close();
    throw error;
  }
  return { pipeline, clickhouse, close };
}

/** The consumers' metrics on `registry`: counters fed by the pipeline, and Kafka and PostgreSQL read on scrape. */
export function instrument(
  registry: Registry,
  config: ConsumerConfig,
  kafka: Kafka,
  pipeline: () => MartsPipeline,
): { observer: PipelineMetrics; close(): Promise<void> } {
  const topics = sourceTopics(config.topicPrefix);
  const observer = new PipelineMetrics(registry, topics, () => pipeline().error === undefined);
  const lag = registerConsumerLag(registry, {
    kafka,
    group: config.group,
    topics,
    timeoutMs: config.metrics.collectTimeoutMs,
  });
  registerSlotLag(registry, {
    pg: config.metrics.sourcePg,
    slots: SOURCE_NAMES.map((source) => slotNameFor(config.topicPrefix, source)),
    timeoutMs: config.metrics.collectTimeoutMs,
  });
  return { observer, close: () => lag.close() };
}
