/** What MartsPipeline tells an observer (the Prometheus metrics: observability/pipeline-metrics.ts). */
export interface ChunkOutcome {
  topic: string;
  partition: number;
  /** Kafka records of the chunk, dead letters and dropped re-emissions included. */
  records: number;
  /** Rows written to ClickHouse tables (signed change rows and dimension rows). */
  changes: number;
  deadLetters: number;
  /** Records dropped as changes Debezium emitted again. */
  reemitted: number;
  /** TRUNCATEs and new snapshots applied. */
  resets: number;
  /** The chunk's writer had died mid-insert: it was repaired, not redone (sink/crash-repair.ts). */
  repaired: boolean;
  /** From reading the chunk to recording it applied. */
  seconds: number;
  /**
   * From the chunk's first record being fetched to the chunk starting: buffering until the chunk is
   * ready (CONSUMER_CHUNK_QUIET_MS, CONSUMER_CHUNK_MAX_WAIT_MS) and waiting for the partition's chunk
   * before it. With `seconds`, what a change spends in the consumer.
   */
  waitSeconds: number;
}

/**
 * Called synchronously by the pipeline; must not throw (a failing observer would fail a chunk
 * that was applied).
 */
export interface PipelineObserver {
  chunkApplied(outcome: ChunkOutcome): void;
  /** A transient failure of `operation` (a fixed name such as "inserting chunk") is retried. */
  retried(operation: string): void;
  /**
   * A step of `operation` ended (succeeded or gave up), `seconds` after it started, retries
   * included: which step of a chunk (recording intent, inserting chunk, recording applied, ...) its
   * time goes to.
   */
  stepDone(operation: string, seconds: number): void;
}
