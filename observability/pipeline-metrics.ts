import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ChunkOutcome, PipelineObserver } from "../consumers/src/runtime/observer.js";
import { METRIC_PREFIX } from "./registry.js";

/** Chunk apply latency buckets: a heartbeat chunk takes ~5 ms, a 50k-record chunk under load up to ~30 s. */
export const CHUNK_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The consumers' counters and apply latency, fed by MartsPipeline (its observer). Every source topic
 * starts at 0, so rate() and increase() see the first records too.
 */
export class PipelineMetrics implements PipelineObserver {
  private readonly records: Counter<"topic">;
  private readonly changes: Counter<"topic">;
  private readonly deadLetters: Counter<"topic">;
  private readonly reemitted: Counter<"topic">;
  private readonly resets: Counter<"topic">;
  private readonly crashRepairs: Counter<"topic">;
  private readonly retries: Counter<"operation">;
  private readonly applySeconds: Histogram<"topic">;
  private readonly waitSeconds: Histogram<"topic">;
  private readonly stepSeconds: Histogram<"operation">;

  constructor(registry: Registry, topics: readonly string[], running: () => boolean) {
    const registers = [registry];
    const perTopic = (name: string, help: string) =>
      new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames: ["topic"], registers });
    this.records = perTopic(
      "consumer_records_applied_total",
      "Kafka records of applied chunks, per source topic (dead letters and dropped re-emissions included)",
    );
    this.changes = perTopic(
      "consumer_changes_applied_total",
      "Rows written to ClickHouse, per source topic: signed change rows (an update is -before and +after) and dimension rows",
    );
    this.deadLetters = perTopic(
      "consumer_dead_letters_total",
      "Records sent to the dead-letter topic (undecodable or unmappable), per source topic",
    );
    this.reemitted = perTopic(
      "consumer_reemitted_dropped_total",
      "Records dropped as changes Debezium emitted again after a Connect restart, per source topic",
    );
    this.resets = perTopic(
      "consumer_resets_total",
      "TRUNCATEs and new snapshots applied to the marts, per source topic",
    );
    this.crashRepairs = perTopic(
      "consumer_crash_repairs_total",
      "Chunks left open by a writer that died mid-insert, repaired instead of redone, per source topic",
    );
    this.retries = new Counter({
      name: `${METRIC_PREFIX}consumer_retries_total`,
      help: "Transient failures (ClickHouse, schema registry, Kafka producer) retried, per operation",
      labelNames: ["operation"],
      registers,
    });
    const seconds = <L extends string>(name: string, help: string, label: L) =>
      new Histogram<L>({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: [label],
        buckets: CHUNK_SECONDS_BUCKETS,
        registers,
      });
    this.applySeconds = seconds(
      "consumer_chunk_apply_duration_seconds",
      "From decoding a chunk to recording it applied in ClickHouse, per source topic",
      "topic",
    );
    this.waitSeconds = seconds(
      "consumer_chunk_wait_seconds",
      "From a chunk's first record being fetched to the chunk starting (buffering, then the partition's chunk before it), per source topic",
      "topic",
    );
    this.stepSeconds = seconds(
      "consumer_step_duration_seconds",
      "Steps of the consumers (recording intent, inserting chunk, recording applied, decoding, ...), retries included, per operation",
      "operation",
    );
    new Gauge({
      name: `${METRIC_PREFIX}consumer_running`,
      help: "1 while the consumer pipeline runs, 0 after it stopped on a fatal error",
      registers,
      collect() {
        this.set(running() ? 1 : 0);
      },
    });
    for (const topic of topics) {
      for (const counter of [
        this.records,
        this.changes,
        this.deadLetters,
        this.reemitted,
        this.resets,
        this.crashRepairs,
      ])
        counter.inc({ topic }, 0);
    }
  }

  chunkApplied(outcome: ChunkOutcome): void {
    const topic = { topic: outcome.topic };
    this.records.inc(topic, outcome.records);
    this.changes.inc(topic, outcome.changes);
    this.deadLetters.inc(topic, outcome.deadLetters);
    this.reemitted.inc(topic, outcome.reemitted);
    this.resets.inc(topic, outcome.resets);
    if (outcome.repaired) this.crashRepairs.inc(topic);
    this.applySeconds.observe(topic, outcome.seconds);
    this.waitSeconds.observe(topic, outcome.waitSeconds);
  }

  stepDone(operation: string, seconds: number): void {
    this.stepSeconds.observe({ operation }, seconds);
  }

  retried(operation: string): void {
    this.retries.inc({ operation });
  }
}
