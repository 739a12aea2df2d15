import type { ClickHouseClient } from "@clickhouse/client";
import {
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type PartitionAssigner,
  type Producer,
} from "kafkajs";
import {
  SOURCE_NAMES,
  SOURCES,
  HEARTBEAT_TABLE,
  tableTopic,
  type SourceName,
} from "../../../connectors/sources.js";
import type { ConsumerConfig } from "../config.js";
import { ConsumerError, isTransient } from "../errors.js";
import {
  ChunkCollector,
  mapChange,
  MappingError,
  parseTopicTable,
  type CollectedChunk,
  type Reset,
} from "../mapping/index.js";
import { chunkToken, insertMapped } from "../sink/clickhouse-sink.js";
import { formatRepair, repairChunk } from "../sink/crash-repair.js";
import {
  claimMember,
  claimPartitions,
  claimsMadeHere,
  holdsClaim,
  readHeartbeatHorizons,
  readProgress,
  recordApplied,
  recordCompleteness,
  recordIntent,
  type Claim,
  type PartitionCompleteness,
  type PartitionProgress,
  type TopicPartition,
} from "../sink/pipeline-state.js";
import { applyReset, formatReset, readSnapshotResets } from "../sink/resets.js";
import { AppliedChunks, touchedBy } from "./applied-events.js";
import { nextChunkSize, acceptRecord, type BufferedRecord } from "./chunking.js";
import { publishDeadLetters, type DeadLetter } from "./dead-letters.js";
import type { RecordDecoder } from "./decode.js";
import { partitionKey, PartitionState, type ResumePoint } from "./partition-state.js";
import { changeIdentity } from "./reemission.js";
import { retryTransient } from "./retry.js";
import type { ConsumerLog } from "../logging.js";
import type { PipelineObserver } from "./observer.js";

/** A chunk's rows and dead letters, before ClickHouse (MartsPipeline.prepareChunk). */
interface PreparedChunk {
  collected: CollectedChunk;
  letters: DeadLetter[];
  reemitted: number;
}

export interface PipelineStats {
  chunks: number;
  records: number;
  deadLetters: number;
  /** Records dropped as changes Debezium emitted again after a Connect restart. */
  reemitted: number;
  /** TRUNCATEs and new snapshots applied (sink/resets.ts). */
  resets: number;
  /** Rows written to ClickHouse (signed change rows and dimension rows). */
  changes: number;
  /** Transient failures retried. */
  retries: number;
  /** Chunks of a dead writer repaired instead of redone (sink/crash-repair.ts). */
  crashRepairs: number;
  lastFlushAt: number | undefined;
}

/** Counters of a pipeline that has applied nothing yet. */
export const noPipelineStats = (): PipelineStats => ({
  chunks: 0,
  records: 0,
  deadLetters: 0,
  reemitted: 0,
  resets: 0,
  changes: 0,
  retries: 0,
  crashRepairs: 0,
  lastFlushAt: undefined,
});

export interface PipelineDeps {
  config: ConsumerConfig;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  /**
   * Connections a partition's chunks are written through (each partition keeps one, spread in the
   * order partitions are first seen): an embedded chDB connection runs one statement at a time, so
   * with several a chunk of one partition need not wait for another's insert. Unset: `clickhouse`.
   */
  writers?: readonly ClickHouseClient[];
  decoder: RecordDecoder;
  log: ConsumerLog;
  /** Told of every applied chunk and retry (the Prometheus metrics). */
  observer?: PipelineObserver;
  /** How the group spreads partitions over its members (kafkajs' round robin when unset). */
  partitionAssigners?: PartitionAssigner[];
  /**
   * A bounded run (replay): per partition (partitionKey), the offset where consuming ends; records at
   * or past it are never applied, and a partition without a bound applies nothing. Unset: unbounded.
   * Raised while running with `extendBounds`.
   */
  bounds?: ReadonlyMap<string, bigint>;
}

/** Per source, in catalogue order, the topics of the tables `tablesOf` names. */
const topicsOf = (prefix: string, tablesOf: (source: SourceName) => readonly string[]): string[] =>
  SOURCE_NAMES.flatMap((source) => tablesOf(source).map((table) => tableTopic(prefix, source, table)));

/**
 * The topics of the source tables' changes (no heartbeat topics: their one record a second can show
 * a lag of 1 at any moment however drained the tables are).
 */
export const dataTopics = (prefix: string): string[] => topicsOf(prefix, (source) => SOURCES[source].tables);

/** Every source topic the marts are built from, heartbeats included (they move the freshness watermark). */
export const sourceTopics = (prefix: string): string[] =>
  topicsOf(prefix, (source) => [...SOURCES[source].tables, HEARTBEAT_TABLE]);

export const isHeartbeatTopic = (topic: string): boolean => topic.endsWith(`.${HEARTBEAT_TABLE}`);

/** Where a partition resumes: after an applied chunk, or at an open intent, redone as exactly that range. */
export const resumePoint = (row: PartitionProgress): ResumePoint =>
  row.status === "intent"
    ? {
        nextOffset: row.firstOffset,
        forcedLast: row.lastOffset,
        intentClaim: row.claimEpoch,
        completeTo: row.commitTs,
      }
    : {
        nextOffset: row.lastOffset + 1n,
        forcedLast: undefined,
        intentClaim: undefined,
        completeTo: row.commitTs,
      };

/**
 * Kafka member ids of the pipelines alive in this process. With the embedded engine only this
 * process can write the ClickHouse directory, so an open intent recorded by any other member was
 * left by a process that died: its chunk is repaired instead of redone (sink/crash-repair.ts).
 */
const liveMembers = new Set<string>();

/** How often idle partitions are marked complete to the newest heartbeat (markIdlePartitions). */
const FRESHNESS_INTERVAL_MS = 1_000;

/** One turn of the event loop: timers, I/O (the API's requests in the same process) run meanwhile. */
const eventLoopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How long a fenced partition that kafkajs still assigns to this member waits before claiming it again. */
const FENCE_RECOVERY_MS = 20_000;

/** Group errors kafkajs answers by rejoining the group (kafkajs' isRebalancing, plus an expired member). */
const REJOIN_ERRORS = new Set([
  "REBALANCE_IN_PROGRESS",
  "NOT_COORDINATOR_FOR_GROUP",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
]);

/** kafkajs' errors of an unreachable broker (kafkajs reconnects by itself). */
const CONNECTION_ERRORS = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
]);

export const isKafkaConnectionError = (error: unknown): boolean => {
  for (let e = error as { name?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (CONNECTION_ERRORS.has(String(e.name))) return true;
    if (e.cause === e) break;
  }
  return false;
};

export const needsRejoin = (error: unknown): boolean =>
  typeof error === "object" &&
  error !== null &&
  REJOIN_ERRORS.has(String((error as { type?: unknown }).type));

/**
 * The consumer group that turns CDC records into ClickHouse rows, exactly once in effect
 * (DESIGN §6): per partition, chunks of consecutive offsets; intent recorded, blocks inserted with a
 * deterministic dedup token, applied recorded, then the Kafka offset committed. ClickHouse's
 * partition_progress, not Kafka, decides where a partition resumes. Every (re)join claims the
 * assigned partitions first (partition_claims): a member whose claim was superseded inserts nothing.
 */
export class MartsPipeline {
  readonly stats: PipelineStats = noPipelineStats();
  /**
   * Chunks recorded applied, with the users, prostheses and chips their rows name (the live report
   * stream listens: api/live). Listeners run synchronously; their errors are logged, never fatal.
   */
  readonly applied = new AppliedChunks((error) =>
    this.deps.log(`a chunk-applied listener failed: ${(error as Error).message}`, "error"),
  );
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly admin: Admin;
  /** The newest snapshot applied per source table (its LSN): an older or equal one is not a reset. */
  private snapshotResets = new Map<string, bigint>();
  /** Per partition: the commit time it was last marked complete to (partition_freshness). */
  private readonly markedTo = new Map<string, string>();
  private freshnessTimer: NodeJS.Timeout | undefined;
  private marking = false;
  private readonly partitions = new Map<string, PartitionState>();
  /** The connection each partition's chunks are written through (PipelineDeps.writers). */
  private readonly writerOf = new Map<string, ClickHouseClient>();
  private progress = new Map<string, ResumePoint>();
  /** Every member id this pipeline had (a rejoin gets a new one); see liveMembers. */
  private readonly memberIds: string[] = [];
  private reloadNeeded = true;
  /** The reload started by the latest GROUP_JOIN (claims, then progress). */
  private reloading: Promise<void> = Promise.resolve();
  private claims = new Map<string, Claim>();
  private memberId = "";
  private joins = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private readonly abort = new AbortController();
  private bounds: ReadonlyMap<string, bigint> | undefined;
  /** While set, no chunk starts (holdWrites); released by its `release` or by stop(). */
  private hold: { promise: Promise<void>; release: () => void } | undefined;
  /** Chunks between the hold check and their end: what holdWrites waits for. */
  private readonly applying = new Set<Promise<boolean>>();
  /** The retried steps under way (activity()). */
  private readonly steps = new Set<{ what: string; since: number }>();

  constructor(private readonly deps: PipelineDeps) {
    this.bounds = deps.bounds;
    this.consumer = deps.kafka.consumer({
      groupId: deps.config.group,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // A member that dies without leaving the group (SIGKILL, OOM, power loss) keeps its partitions
      // until its session expires, and a restarted consumer cannot join before that: the marts stall
      // for the whole session timeout after every crash. Keep it short (10 s by default); onBatch
      // heartbeats while a chunk is applied, so a slow insert does not cost the session.
      sessionTimeout: deps.config.sessionTimeoutMs,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 60_000,
      ...(deps.partitionAssigners ? { partitionAssigners: deps.partitionAssigners } : {}),
    });
    this.producer = deps.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    this.admin = deps.kafka.admin();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      // Claim the assignment at once, not at the first batch: the sooner this member's claims are
      // recorded, the sooner a previous owner with a chunk in flight is fenced off.
      this.reloadNeeded = true;
      const { memberId, memberAssignment } = event.payload;
      this.memberIds.push(memberId);
      liveMembers.add(memberId);
      const assigned = Object.entries(memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      const join = ++this.joins;
      const previous = this.reloading;
      this.reloading = previous
        .then(() => this.reloadProgress(join, memberId, assigned))
        .catch((error: unknown) => this.fail(error));
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (!event.payload.restart) this.fail(event.payload.error);
    });
  }

  /** Fatal error of the pipeline, if it stopped because of one. */
  get error(): Error | undefined {
    return this.failure;
  }

  // Declared before `failed`: field initialisers run in order, and `failed` must set the final value.
  private onFailure: (error: Error) => void = () => undefined;
  /** Resolves with the fatal error once the pipeline cannot go on (never resolves while healthy). */
  readonly failed: Promise<Error> = new Promise((resolve) => {
    this.onFailure = resolve;
  });

  async start(): Promise<void> {
    const { config, log } = this.deps;
    const topics = sourceTopics(config.topicPrefix);
    await this.waitForTopics(topics);
    await this.admin.connect();
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    // Every half of the shorter wait: a lone change is seen ready within ~1.5 quiet periods.
    this.timer = setInterval(
      () => this.flushAged(),
      Math.max(10, Math.floor(Math.min(config.chunkQuietMs, config.chunkMaxWaitMs) / 2)),
    );
    this.freshnessTimer = setInterval(() => void this.markIdle(), FRESHNESS_INTERVAL_MS);
    log(`consuming ${topics.length} topics of ${config.topicPrefix}.* as group ${config.group}`);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.hold?.release();
    if (this.timer) clearInterval(this.timer);
    if (this.freshnessTimer) clearInterval(this.freshnessTimer);
    // Wait for the chunks in flight while this member still owns their partitions. Leaving the group
    // first would hand a partition to another member, which reads ClickHouse's progress before this
    // member's chunk records its intent, and the chunk would be applied twice.
    await Promise.all([...this.partitions.values()].map((p) => p.idle()));
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    for (const id of this.memberIds) liveMembers.delete(id);
  }

  /**
   * Starts no new chunk until the returned function is called, once the chunks already being applied
   * have ended: ClickHouse then holds exactly what partition_progress says, and stays so (the replay
   * swaps the marts in that moment). Fetching goes on into the buffers, bounded by the fetch loop.
   */
  async holdWrites(): Promise<() => void> {
    if (!this.hold) {
      let release: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      this.hold = { promise, release };
    }
    const hold = this.hold;
    await Promise.allSettled([...this.applying]);
    return () => {
      if (this.hold !== hold) return;
      this.hold = undefined;
      hold.release();
    };
  }

  /**
   * Raises the bounds of a bounded run. Records past the old bounds were fetched and dropped: each
   * partition's fetch moves back to the first offset it has not buffered.
   */
  extendBounds(bounds: ReadonlyMap<string, bigint>): void {
    this.bounds = bounds;
    for (const state of this.partitions.values()) {
      const tail = state.records[state.records.length - 1];
      const next = tail ? tail.offset + 1n : state.nextOffset;
      if (next === undefined || state.rereadUntil !== undefined) continue;
      this.consumer.seek({ topic: state.topic, partition: state.partition, offset: next.toString() });
    }
  }

  private async waitForTopics(topics: string[]): Promise<void> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      if (!existing.has(this.deps.config.dlqTopic)) {
        await admin
          .createTopics({ topics: [{ topic: this.deps.config.dlqTopic, numPartitions: 1 }] })
          .catch(() => undefined);
      }
      const deadline = Date.now() + this.deps.config.topicWaitMs;
      let missing = topics.filter((t) => !existing.has(t));
      while (missing.length > 0) {
        if (Date.now() > deadline) {
          throw new ConsumerError(
            "TOPICS_MISSING",
            `source topics missing after ${this.deps.config.topicWaitMs} ms: ${missing.join(", ")}. ` +
              "Are the Debezium connectors running? Check `npm run stack -- status` and `npm run stack -- logs connect`",
            false,
          );
        }
        this.deps.log(`waiting for ${missing.length} source topic(s), e.g. ${missing[0]}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = new Set(await admin.listTopics());
        missing = missing.filter((t) => !now.has(t));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * After a (re)join: wait for the chunks in flight, forget buffers, claim the assigned partitions,
   * then read every partition's position from ClickHouse (claims first: see partition_claims).
   */
  private async reloadProgress(join: number, memberId: string, assigned: TopicPartition[]): Promise<void> {
    await Promise.all([...this.partitions.values()].map((p) => p.idle()));
    // A later join superseded this one while chunks finished: claiming this assignment now could
    // fence off the partitions' current owners. The later join's reload claims instead.
    if (join !== this.joins) return;
    this.partitions.clear();
    this.memberId = memberId;
    const { clickhouse, config } = this.deps;
    const db = config.clickhouse.database;
    const claims = await this.retry("claiming partitions", () =>
      claimPartitions(clickhouse, db, config.group, memberId, assigned),
    );
    this.claims = new Map(claims.map((c) => [partitionKey(c.topic, c.partition), c]));
    const rows = await this.retry("reading pipeline progress", () =>
      readProgress(clickhouse, db, config.group),
    );
    this.progress = new Map(rows.map((row) => [partitionKey(row.topic, row.partition), resumePoint(row)]));
    this.snapshotResets = await this.retry("reading applied resets", () =>
      readSnapshotResets(clickhouse, db),
    );
    this.reloadNeeded = false;
    // Re-read every partition's history now, not at its first new record: the guard's window fills
    // while the process starts, instead of a restart's first live change waiting behind up to
    // CONSUMER_REEMIT_WINDOW records of history (2-17 s of a 1k/s stream, bench:freshness). Not
    // for an assignment a later join replaced meanwhile: its reload does it for the new one.
    if (join !== this.joins) return;
    for (const { topic, partition } of assigned) this.partitionState(topic, partition);
  }

  /** Claims one fenced partition again, reads its progress and moves the fetch position there. */
  private async reclaim(state: PartitionState): Promise<void> {
    const { clickhouse, config } = this.deps;
    const db = config.clickhouse.database;
    const target = { topic: state.topic, partition: state.partition };
    const [claim] = await this.retry("claiming partitions", () =>
      claimPartitions(clickhouse, db, config.group, this.memberId, [target]),
    );
    const rows = await this.retry("reading pipeline progress", () =>
      readProgress(clickhouse, db, config.group),
    );
    const row = rows.find((r) => r.topic === state.topic && r.partition === state.partition);
    const key = partitionKey(state.topic, state.partition);
    if (claim) this.claims.set(key, claim);
    const resumed = this.newPartitionState(state.topic, state.partition, row ? resumePoint(row) : undefined);
    this.partitions.set(key, resumed);
    this.consumer.seek({ ...target, offset: (resumed.nextOffset ?? 0n).toString() });
    this.deps.log(
      `${state.topic}:${state.partition}: claimed again (epoch ${claim?.epoch}) after a stale claim; resuming at ${resumed.nextOffset ?? 0n}`,
    );
  }

  private newPartitionState(topic: string, partition: number, resume: ResumePoint | undefined) {
    return new PartitionState(topic, partition, resume, BigInt(this.deps.config.reemissionWindow));
  }

  /**
   * The state of a partition, made once a join's progress is loaded (or at its first batch). The
   * re-emission guard needs the records just before the resume position: the fetch moves back to
   * re-read them as history.
   */
  private partitionState(topic: string, partition: number): { state: PartitionState; moved: boolean } {
    const key = partitionKey(topic, partition);
    let state = this.partitions.get(key);
    if (state) return { state, moved: false };
    state = this.newPartitionState(topic, partition, this.progress.get(key));
    this.partitions.set(key, state);
    const next = state.nextOffset ?? 0n;
    if (isHeartbeatTopic(topic) || next === 0n) return { state, moved: false };
    state.rereadUntil = next;
    this.consumer.seek({ topic, partition, offset: state.guard.historyStart(next).toString() });
    return { state, moved: true };
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.reloadNeeded) {
      await this.reloading;
      // Failed (fatal), or another join came meanwhile: kafkajs retries this batch.
      if (this.reloadNeeded) {
        throw (
          this.failure ??
          new ConsumerError("PROGRESS_NOT_LOADED", "partition progress not loaded yet after a join", true)
        );
      }
    }
    const { state, moved } = this.partitionState(batch.topic, batch.partition);
    // The fetch moves (back to re-read the records before the resume position, say): this batch was
    // fetched before the seek, and the fetch after it reads its records again from there.
    if (moved || isStale()) return;
    if (state.fenced) {
      // Fenced, yet kafkajs still hands this member the partition: once every member has had time to
      // rejoin or be expelled (two session timeouts), the other claim was stale (a member that
      // claimed during a rebalance it then lost). Claim the partition again and resume from ClickHouse.
      if (Date.now() - state.fencedAt >= FENCE_RECOVERY_MS) await state.exclusive(() => this.reclaim(state));
      return;
    }
    const now = Date.now();
    const going = () => isRunning() && !isStale() && !this.abort.signal.aborted;
    let below = false;
    const history: KafkaMessage[] = [];
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (state.rereadUntil !== undefined) {
        if (offset < state.rereadUntil) {
          history.push(message);
          // Re-read records are below ClickHouse's position: the group's offset may lag it.
          below = true;
          continue;
        }
        // Every record before the resume position has been re-read: the guard's window is full.
        if (!(await this.readHistory(state, history.splice(0), going))) return;
        state.rereadUntil = undefined;
      }
      if (this.bounds && offset >= (this.bounds.get(partitionKey(batch.topic, batch.partition)) ?? 0n))
        continue;
      if (!acceptRecord(state.records, state.nextOffset, offset)) {
        below ||= state.nextOffset !== undefined && offset < state.nextOffset;
        continue;
      }
      state.records.push({
        offset,
        key: message.key,
        value: message.value,
        headers: message.headers,
        receivedAt: now,
      });
    }
    if (history.length && !(await this.readHistory(state, history, going))) return;
    // The re-read reached the resume position with nothing after it yet (an idle partition): the
    // window is full. Without this the partition would count as re-reading until its next change,
    // and neither data_as_of nor the group's committed offset would move for it.
    if (state.rereadUntil !== undefined && BigInt(batch.lastOffset()) + 1n >= state.rereadUntil) {
      state.rereadUntil = undefined;
    }
    // Records below ClickHouse's position: applied by a run killed before it committed their
    // offsets. Commit the position now, or the group's lag stays above zero while the partition is
    // idle (nothing new would ever commit past them).
    if (below && !state.positionCommitted && state.nextOffset !== undefined) {
      state.positionCommitted = true;
      await this.commit(state, state.nextOffset);
    }
    // Below two chunks' worth of buffered records (CONSUMER_FETCH_AHEAD) the chunks are applied in the
    // background and the fetch loop goes on reading meanwhile; from there on this batch waits for them.
    if (this.deps.config.fetchAhead && state.records.length < 2 * this.deps.config.chunkMaxRecords) {
      this.flushInBackground(state);
      return;
    }
    // Flushing here, while the fetch loop waits, is the backpressure: a slow ClickHouse pauses reading.
    // kafkajs heartbeats only between batches: keep the session alive while chunks are applied.
    const keepAlive = setInterval(() => void heartbeat().catch(() => undefined), 1_000);
    try {
      while (isRunning() && !isStale() && !this.reloadNeeded) {
        const flushed = await state.exclusive(() => this.flushReady(state));
        if (!flushed) break;
        await heartbeat();
      }
    } catch (error) {
      // Kafka itself away (a broker restart: the heartbeat or a fetch fails to connect): not fatal.
      // kafkajs retries or restarts the consumer; what was applied is recorded in ClickHouse, and
      // records fetched again are recognised by their offsets.
      if (isKafkaConnectionError(error)) throw error;
      if (!needsRejoin(error)) {
        this.fail(error);
        throw error;
      }
      // A rebalance (a member joined or left, this member's session lapsed, the coordinator moved)
      // is not fatal: kafkajs rejoins once this returns. Start no more chunks and let those in flight
      // finish first, so that a partition's next owner reads their final progress from ClickHouse;
      // the GROUP_JOIN handler then reloads ours.
      this.reloadNeeded = true;
      await Promise.all([...this.partitions.values()].map((p) => p.idle()));
      throw error;
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * Source identities of re-read records before the resume position, for the re-emission guard.
   * False when interrupted (stopping, or a rebalance or seek made the batch stale): the partition's
   * state is made anew before its next batch, so the partial window is never used.
   */
  private async readHistory(
    state: PartitionState,
    messages: readonly KafkaMessage[],
    going: () => boolean,
  ): Promise<boolean> {
    if (!going()) return false;
    const read = await this.retry("decoding history", () =>
      this.deps.decoder.openChunk(messages.map((m) => m.value)),
    );
    for (const message of messages) {
      if (!going()) return false;
      const envelope = read(message.value);
      // A record that cannot be decoded was a dead letter when it was applied: nothing to compare.
      const identity =
        envelope instanceof ConsumerError ? null : changeIdentity(envelope ?? null, message.key);
      state.guard.remember(BigInt(message.offset), identity);
    }
    return true;
  }

  /** Applies the partition's ready chunks after whatever it is doing, without waiting for them. */
  private flushInBackground(state: PartitionState): void {
    if (state.flushing) return;
    state.flushing = true;
    state
      .exclusive(async () => {
        while (await this.flushReady(state)) {
          // one ready chunk after another, until none is ready (flushAged takes the rest)
        }
      })
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        state.flushing = false;
      });
  }

  /**
   * Starts every partition's ready chunks, each partition on its own (flushInBackground): a lone
   * payment is not queued behind the telemetry chunks of the partitions iterated before it.
   */
  private flushAged(): void {
    if (this.abort.signal.aborted || this.reloadNeeded || this.hold) return;
    for (const state of this.partitions.values()) {
      if (state.records.length > 0) this.flushInBackground(state);
    }
  }

  /** Applies the next chunk of a partition if one is ready; true when it applied one. */
  private async flushReady(state: PartitionState): Promise<boolean> {
    while (this.hold && !this.abort.signal.aborted) await this.hold.promise;
    if (this.abort.signal.aborted || this.reloadNeeded || state.fenced) return false;
    const size = nextChunkSize(state.records, {
      maxRecords: this.deps.config.chunkMaxRecords,
      quietMs: this.deps.config.chunkQuietMs,
      maxWaitMs: this.deps.config.chunkMaxWaitMs,
      now: Date.now(),
      forcedLast: state.forcedLast,
    });
    if (size === 0) return false;
    const chunk = state.records.slice(0, size);
    // The chunk is exactly an open intent's range when one is being redone (nextChunkSize).
    const redoOf = state.forcedLast !== undefined ? state.intentClaim : undefined;
    // Registered before the first await: holdWrites sees every chunk past the hold check.
    const applying = this.applyChunk(state, chunk, redoOf);
    this.applying.add(applying);
    const applied = await applying.finally(() => this.applying.delete(applying));
    if (!applied) {
      // Another member claimed this partition since this member's claim: it owns it now (this member
      // is about to be told of the rebalance). Drop what is buffered and leave the partition alone
      // until the next join.
      state.fenced = true;
      state.fencedAt = Date.now();
      state.records = [];
      this.deps.log(
        `${state.topic}:${state.partition} was claimed by another member; dropped the chunk ` +
          `${chunk[0]?.offset}-${chunk[chunk.length - 1]?.offset} unapplied (its new owner applies it)`,
        "warn",
      );
      return false;
    }
    state.records = state.records.slice(size);
    const last = (chunk[chunk.length - 1] as BufferedRecord).offset;
    state.nextOffset = last + 1n;
    state.forcedLast = undefined;
    state.intentClaim = undefined;
    await this.commit(state, last + 1n);
    return true;
  }

  private writer(state: PartitionState): ClickHouseClient {
    const writers = this.deps.writers;
    if (!writers?.length) return this.deps.clickhouse;
    const key = partitionKey(state.topic, state.partition);
    let writer = this.writerOf.get(key);
    if (!writer) {
      writer = writers[this.writerOf.size % writers.length] as ClickHouseClient;
      this.writerOf.set(key, writer);
    }
    return writer;
  }

  /** Commits a Kafka offset; ClickHouse's progress stays the truth, so a failed commit is only logged. */
  private async commit(state: PartitionState, offset: bigint): Promise<void> {
    await this.consumer
      .commitOffsets([{ topic: state.topic, partition: state.partition, offset: offset.toString() }])
      .catch((error: unknown) =>
        this.deps.log(
          `offset commit skipped (${(error as Error).message}); ClickHouse keeps the position`,
          "warn",
        ),
      );
  }

  /**
   * True when the open intent recorded under `claimEpoch` was left by a process that died: with the
   * embedded engine, any member not alive in this process. A ClickHouse server outlives its clients,
   * so there a redo with the chunk's tokens is enough (docs/consumers.md "Crash repair").
   */
  private async writerDied(state: PartitionState, claimEpoch: bigint): Promise<boolean> {
    const { clickhouse, config } = this.deps;
    if (config.clickhouse.url) return false;
    const writer = await this.retry("reading the intent's claim", () =>
      claimMember(clickhouse, config.clickhouse.database, config.group, state, claimEpoch),
    );
    return writer === undefined || !liveMembers.has(writer);
  }

  /**
   * A chunk's records decoded, checked against the re-emission guard and mapped to rows, with the
   * dead letters among them: everything before ClickHouse. Runs exactly once per chunk, in offset
   * order (the guard remembers what it checked).
   */
  private async prepareChunk(
    state: PartitionState,
    chunk: readonly BufferedRecord[],
  ): Promise<PreparedChunk> {
    const { decoder } = this.deps;
    const collector = new ChunkCollector();
    const letters: DeadLetter[] = [];
    let reemitted = 0;
    const turnEvery = this.deps.config.yieldRecords;
    const read = await this.retry("decoding", () => decoder.openChunk(chunk.map((r) => r.value)));
    for (let i = 0; i < chunk.length; i += 1) {
      if (turnEvery > 0 && i > 0 && i % turnEvery === 0) await eventLoopTurn();
      const record = chunk[i] as BufferedRecord;
      const position = { topic: state.topic, partition: state.partition, offset: record.offset };
      try {
        const envelope = read(record.value);
        if (envelope instanceof ConsumerError) throw envelope;
        if (state.guard.check(record.offset, changeIdentity(envelope, record.key))) {
          reemitted += 1;
          continue;
        }
        collector.add(mapChange(state.topic, envelope, position));
      } catch (error) {
        state.guard.check(record.offset, null);
        // A decoding failure comes as the decoder's own error; anything else may be wrapped.
        const cause =
          error instanceof MappingError || error instanceof ConsumerError
            ? error
            : ((error as { cause?: unknown }).cause ?? error);
        const permanent =
          cause instanceof MappingError || (cause instanceof ConsumerError && !cause.canRetry);
        if (!permanent) throw error;
        letters.push({
          code: (cause as { code: string }).code,
          reason: (cause as Error).message,
          topic: state.topic,
          partition: state.partition,
          offset: record.offset.toString(),
          key: record.key,
          value: record.value,
          headers: record.headers ?? {},
        });
      }
    }
    return { collected: collector.result(), letters, reemitted };
  }

  /**
   * Applies a chunk; false (and nothing inserted) when this member no longer holds the partition's
   * claim. `redoOf`: the claim of the open intent this chunk redoes, if it is one.
   */
  private async applyChunk(
    state: PartitionState,
    chunk: BufferedRecord[],
    redoOf: bigint | undefined,
  ): Promise<boolean> {
    const { config } = this.deps;
    const clickhouse = this.writer(state);
    const started = performance.now();
    const waitSeconds = Math.max(0, Date.now() - (chunk[0] as BufferedRecord).receivedAt) / 1000;
    // The partitions' chunks flushed together would otherwise be prepared in one run of JavaScript.
    if (config.yieldRecords > 0) await eventLoopTurn();
    const { collected, letters, reemitted } = await this.prepareChunk(state, chunk);
    const first = (chunk[0] as BufferedRecord).offset;
    const lastRecord = chunk[chunk.length - 1] as BufferedRecord;
    const last = lastRecord.offset;
    const claim = this.claims.get(partitionKey(state.topic, state.partition));
    if (!claim) {
      throw new ConsumerError(
        "PARTITION_NOT_CLAIMED",
        `${state.topic}:${state.partition} is not in this member's assignment`,
        false,
      );
    }
    const range = {
      group: config.group,
      topic: state.topic,
      partition: state.partition,
      claimEpoch: claim.epoch,
      firstOffset: first,
      lastOffset: last,
    };
    const resets = [...collected.truncates, ...collected.snapshots.filter((s) => this.isNewSnapshot(s))];
    const db = config.clickhouse.database;
    // A chunk without rows or resets (heartbeats, tombstones, dead letters only) writes nothing to the
    // marts, so it needs no intent: redone as another range after a crash, it changes nothing either.
    // Skipping it saves one of its two one-row inserts (each a part) — heartbeat chunks come twice a
    // second.
    const hasWork = Object.keys(collected.rows).length > 0 || resets.length > 0;
    if (hasWork) {
      await this.retry("recording intent", () =>
        recordIntent(clickhouse, db, range, { commitTs: state.completeTo }),
      );
    }
    // The fence: checked after the intent is recorded. A member that claimed the partition before
    // this check makes it fail; one that claims it later reads this intent and redoes exactly this
    // chunk (the same dedup token). The embedded engine's members all live in this process: their
    // claims are known here without a query (ClaimMirror).
    const holds = config.clickhouse.url
      ? await this.retry("checking the claim", () => holdsClaim(clickhouse, db, config.group, claim))
      : claimsMadeHere.holds(db, config.group, claim);
    if (!holds) return false;
    const touched = this.applied.size > 0 ? touchedBy(collected.rows, resets.length) : null;
    if (touched) {
      const heard = this.applied.emitApplying({
        topic: state.topic,
        partition: state.partition,
        firstOffset: first,
        lastOffset: last,
        touched,
      });
      if (heard) await heard;
    }
    // A chunk without rows or resets has nothing to repair.
    const repaired = redoOf !== undefined && hasWork && (await this.writerDied(state, redoOf));
    if (repaired) {
      const summary = await this.retry("repairing chunk", () =>
        repairChunk(clickhouse, db, collected.rows, `p${state.partition}`, resets),
      );
      this.deps.log(`${state.topic}:${state.partition}: ${formatRepair(first, last, summary)}`);
    } else {
      const token = chunkToken(config.group, state.topic, state.partition, first.toString(), last.toString());
      // The rows' serialisation below is one more synchronous stretch.
      if (config.yieldRecords > 0) await eventLoopTurn();
      await this.retry("inserting chunk", () => insertMapped(clickhouse, db, collected.rows, token));
    }
    // After the rows: a reset retracts only what was committed before it, wherever it was inserted.
    for (const reset of resets) {
      const applied = await this.retry("applying a reset", () => applyReset(clickhouse, db, reset));
      if (reset.kind === "snapshot") this.snapshotResets.set(reset.sourceTable, reset.lsn);
      this.stats.resets += 1;
      this.deps.log(`${state.topic}:${state.partition}: ${formatReset(applied)}`);
    }
    if (letters.length) {
      await this.retry("publishing dead letters", () =>
        publishDeadLetters(this.producer, config.dlqTopic, letters),
      );
      for (const letter of letters) {
        this.deps.log(
          `dead letter ${letter.topic}:${letter.partition}:${letter.offset} [${letter.code}] ${letter.reason}`,
          "warn",
        );
      }
    }
    // Data chunks record their newest commit, heartbeat chunks the heartbeat's: the horizon idle
    // partitions of the source are marked complete to (markIdlePartitions).
    const commitTs = (collected.dataCommit ?? collected.heartbeat)?.commitTs ?? null;
    const completeTo =
      commitTs !== null && (state.completeTo === null || commitTs > state.completeTo)
        ? commitTs
        : state.completeTo;
    await this.retry("recording applied", () =>
      recordApplied(clickhouse, db, range, { commitTs: completeTo }),
    );
    state.completeTo = completeTo;
    if (reemitted > 0) {
      this.deps.log(
        `${state.topic}:${state.partition}: dropped ${reemitted} change(s) Debezium emitted again (chunk ${first}-${last})`,
      );
    }
    const changes = Object.values(collected.rows).reduce((n, rows) => n + (rows?.length ?? 0), 0);
    this.stats.chunks += 1;
    this.stats.records += chunk.length;
    this.stats.changes += changes;
    this.stats.deadLetters += letters.length;
    this.stats.reemitted += reemitted;
    if (repaired) this.stats.crashRepairs += 1;
    this.stats.lastFlushAt = Date.now();
    this.deps.observer?.chunkApplied({
      topic: state.topic,
      partition: state.partition,
      records: chunk.length,
      changes,
      deadLetters: letters.length,
      reemitted,
      resets: resets.length,
      repaired,
      seconds: (performance.now() - started) / 1000,
      waitSeconds,
    });
    if (touched) {
      this.applied.emit({
        topic: state.topic,
        partition: state.partition,
        firstOffset: first,
        lastOffset: last,
        records: chunk.length,
        commitTs,
        touched,
        appliedAt: this.stats.lastFlushAt,
      });
    }
    return true;
  }

  /** One marking round at a time; a failure is logged and the next round tries again. */
  private async markIdle(): Promise<void> {
    if (this.marking) return;
    this.marking = true;
    try {
      await this.markIdlePartitions();
    } catch (error) {
      this.deps.log(
        `marking idle partitions failed (retried in ${FRESHNESS_INTERVAL_MS} ms): ${(error as Error).message}`,
        "warn",
      );
    } finally {
      this.marking = false;
    }
  }

  /** A snapshot read of a table is a reset only for a snapshot newer than the last one applied. */
  private isNewSnapshot(snapshot: Reset): boolean {
    return (this.snapshotResets.get(snapshot.sourceTable) ?? -1n) < snapshot.lsn;
  }

  /**
   * Every data partition this member owns that has nothing pending — nothing buffered, its position
   * at the topic's end offset read now — holds every change committed up to the newest heartbeat of
   * its source applied so far by any member (Debezium emits in commit order, and that heartbeat was
   * in Kafka before these end offsets were read). Recorded in partition_freshness when it advances;
   * data_as_of is the minimum over the partitions (clickhouse/freshness.ts).
   */
  private async markIdlePartitions(): Promise<void> {
    if (this.abort.signal.aborted || this.reloadNeeded) return;
    const { clickhouse, config } = this.deps;
    const db = config.clickhouse.database;
    const owned = [...this.claims.values()].filter((c) => !isHeartbeatTopic(c.topic));
    if (owned.length === 0) return;
    const horizons = await readHeartbeatHorizons(clickhouse, db, config.group);
    const ends = new Map<string, bigint>();
    for (const topic of new Set(owned.map((c) => c.topic))) {
      for (const p of await this.admin.fetchTopicOffsets(topic))
        ends.set(partitionKey(topic, p.partition), BigInt(p.high));
    }
    const rows: PartitionCompleteness[] = [];
    for (const { topic, partition } of owned) {
      const key = partitionKey(topic, partition);
      const horizon = horizons.get(parseTopicTable(topic).source);
      if (horizon === undefined || (this.markedTo.get(key) ?? "") >= horizon) continue;
      const state = this.partitions.get(key);
      if (state?.fenced || state?.rereadUntil !== undefined) continue;
      const position = state?.nextOffset ?? this.progress.get(key)?.nextOffset ?? 0n;
      const pending = (state?.records.length ?? 0) > 0 || position < (ends.get(key) ?? 0n);
      if (pending) continue;
      rows.push({ group: config.group, topic, partition, completeTo: horizon });
    }
    if (rows.length === 0) return;
    await recordCompleteness(clickhouse, db, rows);
    for (const row of rows) this.markedTo.set(partitionKey(row.topic, row.partition), row.completeTo);
  }

  /** Retries transient failures with backoff until CONSUMER_RETRY_MAX_MS or stop(), logging some attempts. */
  private retry<T>(what: string, work: () => Promise<T>): Promise<T> {
    const step = { what, since: Date.now() };
    this.steps.add(step);
    return retryTransient(what, work, {
      maxMs: this.deps.config.retryMaxMs,
      signal: this.abort.signal,
      onRetry: (attempt, error) => {
        this.stats.retries += 1;
        this.deps.observer?.retried(what);
        if (attempt === 1 || attempt % 10 === 0)
          this.deps.log(
            `${what}: transient failure #${attempt}, retrying: ${(error as Error).message}`,
            "warn",
          );
      },
    }).finally(() => {
      this.steps.delete(step);
      this.deps.observer?.stepDone(what, (Date.now() - step.since) / 1000);
    });
  }

  /**
   * The steps (decoding, inserting, claiming, ...) under way now and how long each has run: what a
   * pipeline that stopped moving is waiting for.
   */
  activity(now = Date.now()): { what: string; forMs: number }[] {
    return [...this.steps].map((s) => ({ what: s.what, forMs: now - s.since }));
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.deps.log(
      `pipeline failed${isTransient(error) ? " (transient errors exhausted)" : ""}: ${this.failure.message}`,
      "error",
    );
    this.abort.abort();
    this.onFailure(this.failure);
  }
}
