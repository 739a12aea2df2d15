import { loadClickHouseConfig } from "../../clickhouse/config.js";
import type { ClickHouseOptions } from "../../clickhouse/client.js";

/**
 * Configuration of the consumer process, read from the environment once, here.
 * Defaults are tuned for sub-second freshness when idle and large inserts under load.
 */
export interface ConsumerConfig {
  /** @default ["127.0.0.1:19092"] (KAFKA_BROKERS, comma separated) */
  brokers: string[];
  /** Confluent-compatible registry API. @default http://127.0.0.1:18081/apis/ccompat/v7 */
  registryUrl: string;
  /** Source topics are `<prefix>.<crm|telemetry>.<table>`. @default bionicpro (TOPIC_PREFIX) */
  topicPrefix: string;
  /** @default bionicpro-marts (CONSUMER_GROUP) */
  group: string;
  /** Dead-letter topic. @default <prefix>.dlq (DLQ_TOPIC) */
  dlqTopic: string;
  clickhouse: ClickHouseOptions;
  /** Flush a partition's chunk at this many records. @default 50000 (CONSUMER_CHUNK_MAX_RECORDS) */
  chunkMaxRecords: number;
  /** Flush a partition's chunk once no record arrived for this long. @default 50 (CONSUMER_CHUNK_QUIET_MS) */
  chunkQuietMs: number;
  /** Flush a partition's chunk when its oldest record waited this long. @default 500 (CONSUMER_CHUNK_MAX_WAIT_MS) */
  chunkMaxWaitMs: number;
  /** Wait for the source topics this long at start. @default 300000 (CONSUMER_TOPIC_WAIT_MS) */
  topicWaitMs: number;
  /** Give up retrying a transient ClickHouse/registry failure after this long. @default 600000 */
  retryMaxMs: number;
  /**
   * Records per partition whose source identities are kept to drop changes Debezium emits again
   * after its task restarts (runtime/reemission.ts); re-read from Kafka after every (re)assignment.
   * It must exceed what Connect writes between two offset flushes (offset.flush.interval.ms, 1 s in
   * the native stack). @default 100000 (CONSUMER_REEMIT_WINDOW)
   */
  reemissionWindow: number;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

export function loadConsumerConfig(env: NodeJS.ProcessEnv = process.env): ConsumerConfig {
  const kafkaPort = env.BIONICPRO_KAFKA_PORT || "19092";
  const registryPort = env.BIONICPRO_REGISTRY_PORT || "18081";
  const topicPrefix = env.TOPIC_PREFIX || "bionicpro";
  return {
    brokers: (env.KAFKA_BROKERS || `127.0.0.1:${kafkaPort}`).split(",").map((b) => b.trim()),
    registryUrl: env.SCHEMA_REGISTRY_URL || `http://127.0.0.1:${registryPort}/apis/ccompat/v7`,
    topicPrefix,
    group: env.CONSUMER_GROUP || "bionicpro-marts",
    dlqTopic: env.DLQ_TOPIC || `${topicPrefix}.dlq`,
    clickhouse: loadClickHouseConfig(env),
    chunkMaxRecords: positiveInt("CONSUMER_CHUNK_MAX_RECORDS", env.CONSUMER_CHUNK_MAX_RECORDS, 50_000),
    chunkQuietMs: positiveInt("CONSUMER_CHUNK_QUIET_MS", env.CONSUMER_CHUNK_QUIET_MS, 50),
    chunkMaxWaitMs: positiveInt("CONSUMER_CHUNK_MAX_WAIT_MS", env.CONSUMER_CHUNK_MAX_WAIT_MS, 500),
    topicWaitMs: positiveInt("CONSUMER_TOPIC_WAIT_MS", env.CONSUMER_TOPIC_WAIT_MS, 300_000),
    retryMaxMs: positiveInt("CONSUMER_RETRY_MAX_MS", env.CONSUMER_RETRY_MAX_MS, 600_000),
    reemissionWindow: positiveInt("CONSUMER_REEMIT_WINDOW", env.CONSUMER_REEMIT_WINDOW, 100_000),
  };
}
