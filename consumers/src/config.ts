import { loadClickHouseConfig } from "../../clickhouse/config.js";
import type { ClickHouseOptions } from "../../clickhouse/client.js";
import { intInRange, pgEndpoint, type PgEndpoint } from "../../scripts/config.js";

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
  /**
   * `threadNice` from CONSUMER_CLICKHOUSE_NICE (0–19, @default 0): every client made from these
   * options (the consumers', a replay's) runs its statements on engine threads at that Linux nice,
   * so on a busy host they give way to the API's reads and event loop in the same process
   * (`npm start`) or on the same server.
   */
  clickhouse: ClickHouseOptions;
  /**
   * Flush a partition's chunk at this many records; fetch-ahead buffers up to two chunks per partition.
   * @default 20000 (CONSUMER_CHUNK_MAX_RECORDS): against 50000, 0.92–0.96x the drain's records/s and
   * ~150 MiB less peak RSS (bench/results/pipeline-2026-12-06.md)
   */
  chunkMaxRecords: number;
  /**
   * Records a chunk's decode and map handle before letting the event loop turn (a `setImmediate`):
   * the API's requests in the same process (`npm start`) are served between them instead of waiting
   * for a whole chunk. A chunk also yields once before its preparation and once before its insert.
   * 0: never yields. @default 0 (CONSUMER_YIELD_RECORDS)
   */
  yieldRecords: number;
  /**
   * `npm start` only: where the consumers run. `worker`: a worker thread of the process, so their
   * decode, map and serialisation never hold the API's event loop (runtime/thread.ts); `main`: on
   * the API's thread. @default worker (CONSUMER_THREAD)
   */
  thread: "worker" | "main";
  /**
   * `npm start` with the consumers in a worker thread: that thread's Linux nice (0–19), so on a busy
   * host it gives way to the API's thread (the engine's threads keep theirs: CONSUMER_CLICKHOUSE_NICE).
   * @default 0 (CONSUMER_THREAD_NICE)
   */
  threadNice: number;
  /** Flush a partition's chunk once no record arrived for this long. @default 50 (CONSUMER_CHUNK_QUIET_MS) */
  chunkQuietMs: number;
  /** Flush a partition's chunk when its oldest record waited this long. @default 500 (CONSUMER_CHUNK_MAX_WAIT_MS) */
  chunkMaxWaitMs: number;
  /**
   * Kafka's session timeout of the consumer group's members: a member that dies without leaving (SIGKILL,
   * OOM, power loss) keeps its partitions this long, and a restarted consumer joins only after it.
   * Between the broker's minimum (6 s) and 30 s (a replay's `--restart` waits that long for a killed
   * run's member to go). @default 10000 (CONSUMER_SESSION_TIMEOUT_MS)
   */
  sessionTimeoutMs: number;
  /** Wait for the source topics this long at start. @default 300000 (CONSUMER_TOPIC_WAIT_MS) */
  topicWaitMs: number;
  /** Give up retrying a transient ClickHouse/registry failure after this long. @default 600000 */
  retryMaxMs: number;
  /**
   * Keep fetching while chunks are applied, up to two chunks' worth of buffered records per partition
   * (then the fetch waits: the backpressure). false: every batch waits for its partition's chunks.
   * @default true (CONSUMER_FETCH_AHEAD)
   */
  fetchAhead: boolean;
  /**
   * Embedded engine only: chDB connections the partitions' chunks are written through. One chDB
   * connection runs one statement at a time, so with one a payment's chunk waited behind every
   * telemetry insert (a server's connections are @clickhouse/client's pool: this does not apply).
   * @default 3 (CONSUMER_CLICKHOUSE_WRITERS)
   */
  clickhouseWriters: number;
  /**
   * Records per partition whose source identities are kept to drop changes Debezium emits again
   * after its task restarts (runtime/reemission.ts); re-read from Kafka after every (re)assignment.
   * It must exceed what Connect writes between two offset flushes (offset.flush.interval.ms, 1 s in
   * the native stack). @default 100000 (CONSUMER_REEMIT_WINDOW)
   */
  reemissionWindow: number;
  metrics: ConsumerMetricsConfig;
  /** `text`: readable lines; `json`: one pino JSON object per line with a level. @default text (LOG_FORMAT) */
  logFormat: "text" | "json";
  /** Lines below this level are left out. @default info (CONSUMER_LOG_LEVEL: error, warn, info) */
  logLevel: "error" | "warn" | "info";
}

/** Prometheus metrics of the consumers (docs/metrics-and-logs.md). */
export interface ConsumerMetricsConfig {
  /**
   * `npm run consume` serves GET /metrics on this port; 0 = no metrics server (`npm start` serves
   * the consumers' metrics on the API's /metrics instead). @default 0 (CONSUMER_METRICS_PORT)
   */
  port: number;
  /** @default 127.0.0.1 (CONSUMER_METRICS_HOST) */
  host: string;
  /** Scrapes must send `Authorization: Bearer <token>`; null = open. Non-enumerable. @default null (BIONICPRO_METRICS_TOKEN) */
  token: string | null;
  /** A collector that talks to Kafka, PostgreSQL or ClickHouse on scrape gives up after this. @default 2000 (METRICS_COLLECT_TIMEOUT_MS) */
  collectTimeoutMs: number;
  /** Where the replication slots' lag is read (pg_replication_slots). @default PGHOST/PGPORT/PGUSER/PGPASSWORD */
  sourcePg: PgEndpoint;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

function port(name: string, value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 0;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new Error(`${name} must be a port number (0 = off), got "${value}"`);
  return parsed;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value.trim() === "") return fallback;
  const v = value.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(v))
    throw new Error(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  return v as T;
}

function loadConsumerMetricsConfig(env: NodeJS.ProcessEnv): ConsumerMetricsConfig {
  const config: ConsumerMetricsConfig = {
    port: port("CONSUMER_METRICS_PORT", env.CONSUMER_METRICS_PORT),
    host: env.CONSUMER_METRICS_HOST?.trim() || "127.0.0.1",
    token: null,
    collectTimeoutMs: positiveInt("METRICS_COLLECT_TIMEOUT_MS", env.METRICS_COLLECT_TIMEOUT_MS, 2000),
    sourcePg: pgEndpoint(
      env.PGHOST || "127.0.0.1",
      positiveInt("PGPORT", env.PGPORT, 55432),
      env.PGUSER || "postgres",
      env.PGPASSWORD,
    ),
  };
  // Non-enumerable: a logged or serialised config never shows it.
  Object.defineProperty(config, "token", {
    value: env.BIONICPRO_METRICS_TOKEN?.trim() || null,
    enumerable: false,
  });
  return config;
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
    clickhouse: {
      ...loadClickHouseConfig(env),
      threadNice: intInRange("CONSUMER_CLICKHOUSE_NICE", env.CONSUMER_CLICKHOUSE_NICE, 0, 0, 19),
    },
    chunkMaxRecords: positiveInt("CONSUMER_CHUNK_MAX_RECORDS", env.CONSUMER_CHUNK_MAX_RECORDS, 20_000),
    yieldRecords: intInRange("CONSUMER_YIELD_RECORDS", env.CONSUMER_YIELD_RECORDS, 0, 0, 1_000_000),
    thread: oneOf("CONSUMER_THREAD", env.CONSUMER_THREAD, ["worker", "main"] as const, "worker"),
    threadNice: intInRange("CONSUMER_THREAD_NICE", env.CONSUMER_THREAD_NICE, 0, 0, 19),
    chunkQuietMs: positiveInt("CONSUMER_CHUNK_QUIET_MS", env.CONSUMER_CHUNK_QUIET_MS, 50),
    chunkMaxWaitMs: positiveInt("CONSUMER_CHUNK_MAX_WAIT_MS", env.CONSUMER_CHUNK_MAX_WAIT_MS, 500),
    sessionTimeoutMs: intInRange(
      "CONSUMER_SESSION_TIMEOUT_MS",
      env.CONSUMER_SESSION_TIMEOUT_MS,
      10_000,
      6_000,
      30_000,
    ),
    topicWaitMs: positiveInt("CONSUMER_TOPIC_WAIT_MS", env.CONSUMER_TOPIC_WAIT_MS, 300_000),
    retryMaxMs: positiveInt("CONSUMER_RETRY_MAX_MS", env.CONSUMER_RETRY_MAX_MS, 600_000),
    fetchAhead:
      oneOf("CONSUMER_FETCH_AHEAD", env.CONSUMER_FETCH_AHEAD, ["true", "false"] as const, "true") === "true",
    clickhouseWriters: positiveInt("CONSUMER_CLICKHOUSE_WRITERS", env.CONSUMER_CLICKHOUSE_WRITERS, 3),
    reemissionWindow: positiveInt("CONSUMER_REEMIT_WINDOW", env.CONSUMER_REEMIT_WINDOW, 100_000),
    metrics: loadConsumerMetricsConfig(env),
    logFormat: oneOf("LOG_FORMAT", env.LOG_FORMAT, ["text", "json"] as const, "text"),
    logLevel: oneOf("CONSUMER_LOG_LEVEL", env.CONSUMER_LOG_LEVEL, ["error", "warn", "info"] as const, "info"),
  };
}
