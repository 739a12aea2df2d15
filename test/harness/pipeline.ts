import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClickHouseClient } from "@clickhouse/client";
import { AssignerProtocol, Kafka, logLevel, type PartitionAssigner } from "kafkajs";
import pg from "pg";
import type { Registry } from "prom-client";
import { createClickHouseClient } from "../../clickhouse/client.js";
import { migrate } from "../../clickhouse/migrate.js";
import { loadConsumerConfig, type ConsumerConfig } from "../../consumers/src/config.js";
import { reconcile, type ReconcileResult } from "../../consumers/src/reconcile/index.js";
import { RecordDecoder } from "../../consumers/src/runtime/decode.js";
import { MartsPipeline, sourceTopics } from "../../consumers/src/runtime/pipeline.js";
import { instrument } from "../../consumers/src/runtime/run.js";
import { connectorStatus } from "../../connectors/apply.js";
import { connectorName } from "../../connectors/render.js";
import { slotNameFor, stackDown, stackUp } from "../../scripts/stack/stack.js";
import { generate } from "../../scripts/generate/index.js";
import { closeCdcRun, openCdcRun, startConnectors, waitFor, withAdmin, type CdcRun } from "./cdc.js";

/**
 * Running the marts consumer in the test process against one CDC run: a temporary embedded
 * ClickHouse directory, a config pointing at the run's topics, pipelines sharing one ClickHouse
 * client (the embedded engine binds one data directory per process), lag and drain probes.
 */

/** Set PIPELINE_TEST_LOG=1 to see the consumers' log lines while a test runs. */
const echo = process.env.PIPELINE_TEST_LOG === "1";

export interface PipelineLog {
  lines: string[];
  log: (line: string) => void;
}

export function pipelineLog(name: string): PipelineLog {
  const lines: string[] = [];
  return {
    lines,
    log: (line) => {
      const stamped = `${new Date().toISOString()} ${line}`;
      lines.push(stamped);
      if (echo) console.log(`[${name}] ${stamped}`);
    },
  };
}

/** A fresh temporary directory for the embedded engine; removed by `removeDir`. */
export function tempClickHouseDir(): string {
  return mkdtempSync(path.join(tmpdir(), "bionicpro-pipeline-"));
}

export function removeDir(dir: string | undefined): void {
  // Retried: the engine may still be flushing a part into the directory as it closes.
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/** The consumer config of a run: its topic prefix, a group and database of its own, embedded ClickHouse at `dataDir`. */
export function testConsumerConfig(
  run: CdcRun,
  dataDir: string,
  overrides: Partial<ConsumerConfig> = {},
): ConsumerConfig {
  const config = loadConsumerConfig({
    KAFKA_BROKERS: run.config.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: run.config.registryUrl,
    TOPIC_PREFIX: run.topicPrefix,
    CONSUMER_GROUP: `marts-${run.runId}`,
    CLICKHOUSE_PATH: dataDir,
    CLICKHOUSE_DATABASE: `marts_${run.runId}`,
    CONSUMER_TOPIC_WAIT_MS: "120000",
  });
  // The run's PostgreSQL (replication slot lag), whatever PG* says.
  config.metrics.sourcePg = run.config.pg;
  return { ...config, ...overrides };
}

/** One client on the config's embedded directory, migrated. */
export async function openClickHouse(config: ConsumerConfig): Promise<ClickHouseClient> {
  const client = createClickHouseClient(config.clickhouse);
  await migrate(client, config.clickhouse.database);
  return client;
}

export interface TestPipeline {
  name: string;
  pipeline: MartsPipeline;
  kafka: Kafka;
  log: PipelineLog;
  /** Stops consuming and waits for in-flight chunks; the shared ClickHouse client stays open. */
  stop(): Promise<void>;
}

/**
 * A MartsPipeline with a Kafka client of its own on a ClickHouse client the caller owns (and may
 * share between instances), started.
 */
export async function startTestPipeline(
  run: CdcRun,
  options: {
    config: ConsumerConfig;
    clickhouse: ClickHouseClient;
    name?: string;
    decoder?: RecordDecoder;
    partitionAssigners?: PartitionAssigner[];
    /** Registers the consumers' metrics on it (consumers/src/runtime/run.ts instrument). */
    metrics?: Registry;
  },
): Promise<TestPipeline> {
  const name = options.name ?? "marts";
  const log = pipelineLog(name);
  const kafka = new Kafka({
    clientId: `${name}-${run.runId}`,
    brokers: options.config.brokers,
    logLevel: logLevel.NOTHING,
  });
  const metrics = options.metrics
    ? instrument(options.metrics, options.config, kafka, (): MartsPipeline => pipeline)
    : undefined;
  const pipeline: MartsPipeline = new MartsPipeline({
    config: options.config,
    kafka,
    clickhouse: options.clickhouse,
    decoder: options.decoder ?? new RecordDecoder(options.config.registryUrl),
    log: log.log,
    observer: metrics?.observer,
    ...(options.partitionAssigners ? { partitionAssigners: options.partitionAssigners } : {}),
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= pipeline.stop().finally(() => metrics?.close()));
  try {
    await pipeline.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, pipeline, kafka, log, stop };
}

/** A pipeline's last 20 log lines, for a failure message. */
const lastLines = (log: PipelineLog | undefined): string => (log?.lines ?? []).slice(-20).join("\n");

/** Throws the fatal error of the first failed pipeline, with its last log lines. */

export function assertHealthy(
  pipelines: readonly { name: string; pipeline: MartsPipeline; log?: PipelineLog }[],
) {
  for (const { name, pipeline, log } of pipelines) {
    if (pipeline.error) {
      throw new Error(`pipeline ${name} failed: ${pipeline.error.message}\n${lastLines(log)}`, {
        cause: pipeline.error,
      });
    }
  }
}

async function pgQuery<T extends pg.QueryResultRow>(run: CdcRun, sql: string, params: unknown[] = []) {
  const { host, port, user, password } = run.config.pg;
  const client = new pg.Client({ host, port, user, password, database: "postgres" });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Waits until Debezium has written to Kafka every change committed in either source database so
 * far: both replication slots confirm an LSN at or past the current WAL position. Kafka Connect
 * commits a source offset (and Debezium then confirms the LSN) only once every record before it is
 * acknowledged by Kafka; the connectors' heartbeat action query moves the slots past idle ends.
 */
export async function waitForSourcesDelivered(run: CdcRun, timeoutMs = 180_000): Promise<void> {
  const [{ lsn } = { lsn: "" }] = await pgQuery<{ lsn: string }>(
    run,
    "SELECT pg_current_wal_lsn()::text AS lsn",
  );
  const slots = (["crm", "telemetry"] as const).map((source) => slotNameFor(run.topicPrefix, source));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await pgQuery<{ slot_name: string; done: boolean | null }>(
      run,
      "SELECT slot_name, confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = ANY($2)",
      [lsn, slots],
    );
    const behind = slots.filter((slot) => !rows.some((r) => r.slot_name === slot && r.done === true));
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for replication slot(s) ${behind.join(", ")} to confirm LSN ${lsn}`,
      );
    }
    await sleep(250);
  }
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** High watermark: the offset the next record will get. */
  end: bigint;
  /** Committed offset of the group (next offset to read); 0 when nothing was committed. */
  committed: bigint;
  lag: bigint;
}

/** End offsets of the run's source topics. */
export async function endOffsets(run: CdcRun, topics = sourceTopics(run.topicPrefix)) {
  return withAdmin(run, async (admin) => {
    const ends = new Map<string, bigint>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        ends.set(`${topic}:${p.partition}`, BigInt(p.high));
    }
    return ends;
  });
}

/** Per-partition lag of a group on the run's source topics (end offset - committed offset). */
export async function consumerLag(
  run: CdcRun,
  group: string,
  topics = sourceTopics(run.topicPrefix),
): Promise<PartitionLag[]> {
  const ends = await endOffsets(run, topics);
  const committed = await withAdmin(run, (admin) => admin.fetchOffsets({ groupId: group, topics }));
  const rows: PartitionLag[] = [];
  for (const { topic, partitions } of committed) {
    for (const { partition, offset } of partitions) {
      const end = ends.get(`${topic}:${partition}`) ?? 0n;
      const done = BigInt(offset) < 0n ? 0n : BigInt(offset);
      rows.push({ topic, partition, end, committed: done, lag: end > done ? end - done : 0n });
    }
  }
  return rows;
}

export const totalLag = (rows: readonly PartitionLag[]): number =>
  rows.reduce((n, r) => n + Number(r.lag), 0);

/**
 * Waits until the group has consumed everything the sources committed so far: first until Debezium
 * has delivered every change to Kafka, then until the group's committed offsets reach the end
 * offsets of that moment on every source partition (heartbeat topics keep growing; later beats do
 * not count). Fails early when one of `pipelines` stopped with a fatal error.
 */
export async function waitForDrain(
  run: CdcRun,
  group: string,
  options: {
    timeoutMs?: number;
    pipelines?: readonly { name: string; pipeline: MartsPipeline; log?: PipelineLog }[];
  } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 240_000;
  const deadline = Date.now() + timeoutMs;
  await waitForSourcesDelivered(run, timeoutMs);
  const topics = sourceTopics(run.topicPrefix);
  const target = await endOffsets(run, topics);
  for (;;) {
    assertHealthy(options.pipelines ?? []);
    const committed = await withAdmin(run, (admin) => admin.fetchOffsets({ groupId: group, topics }));
    const lagging: string[] = [];
    for (const { topic, partitions } of committed) {
      for (const { partition, offset } of partitions) {
        const end = target.get(`${topic}:${partition}`) ?? 0n;
        // -1: nothing committed, which is complete for a partition that never had a record.
        const next = BigInt(offset) < 0n ? 0n : BigInt(offset);
        if (next < end) lagging.push(`${topic}:${partition} at ${offset} of ${end}`);
      }
    }
    if (lagging.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for group ${group} to commit the end offsets; ` +
          `lagging: ${lagging.join(", ")}` +
          (options.pipelines ?? [])
            .map(({ name, pipeline, log }) => {
              const steps = pipeline.activity().map((a) => `${a.what} for ${a.forMs} ms`);
              return `\npipeline ${name} is busy with: ${steps.join("; ") || "nothing"}; its last log lines:\n${lastLines(log)}`;
            })
            .join(""),
      );
    }
    await sleep(250);
  }
}

/** Reconciles the run's source databases against the marts, over the default month range. */
export function reconcileRun(
  run: CdcRun,
  clickhouse: ClickHouseClient,
  database: string,
): Promise<ReconcileResult> {
  return reconcile({
    ch: { client: clickhouse, database },
    pg: run.dbs.pg,
    crmDb: run.dbs.crmDb,
    telemetryDb: run.dbs.telemetryDb,
  });
}

/** Row count of one ClickHouse table (FINAL not needed: tests compare counts of append-only change tables). */
export async function tableRows(clickhouse: ClickHouseClient, qualifiedTable: string): Promise<number> {
  const result = await clickhouse.query({
    query: `SELECT count() AS n FROM ${qualifiedTable}`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ n: string | number }>();
  return Number(row?.n ?? 0);
}

/** Milliseconds since `started`, as seconds text for the test log. */
export const seconds = (started: number): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;

/** Rows of a query on one of the run's source databases. */
/** Inserts a payment of the first subscription of crm_db (a change a test can follow through the marts). */
export async function insertTestPayment(
  run: CdcRun,
  payment: {
    id: number;
    status: string;
    amount: string;
    description: string;
    paidAt: string;
    createdAt: string;
  },
): Promise<void> {
  const [sub] = await sourceQuery<{ user_id: number; subscription_id: number }>(
    run,
    "crm",
    "SELECT user_id, subscription_id FROM crm_subscriptions ORDER BY subscription_id LIMIT 1",
  );
  await sourceQuery(
    run,
    "crm",
    `INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status, description, created_at)
     VALUES ($1, $2, $3, $4, $5, 'card', $6, $7, $8)`,
    [
      payment.id,
      sub?.user_id,
      sub?.subscription_id,
      payment.paidAt,
      payment.amount,
      payment.status,
      payment.description,
      payment.createdAt,
    ],
  );
}

export async function sourceQuery<T extends pg.QueryResultRow>(
  run: CdcRun,
  source: "crm" | "telemetry",
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const { host, port, user, password } = run.config.pg;
  const database = source === "crm" ? run.dbs.crmDb : run.dbs.telemetryDb;
  const client = new pg.Client({ host, port, user, password, database });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads a topic from the beginning, undecoded, until `count` records arrived (fresh group). */
export async function readRaw(
  run: CdcRun,
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  const consumer = run.kafka.consumer({ groupId: `raw-${run.runId}-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value.toString();
        }
        records.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers,
        });
      },
    });
    await waitFor(
      `${count} record(s) on ${topic} (have ${records.length})`,
      async () => (records.length >= count ? true : undefined),
      timeoutMs,
    );
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** Everything a pipeline test file owns, closed in reverse by `close`, whatever part of it was opened. */
export interface PipelineRun {
  run: CdcRun;
  dataDir: string;
  config: ConsumerConfig;
  clickhouse: ClickHouseClient;
  database: string;
  pipelines: TestPipeline[];
  /** Starts another instance of the group on the shared ClickHouse client. */
  startPipeline(
    name?: string,
    options?: { decoder?: RecordDecoder; partitionAssigners?: PartitionAssigner[]; metrics?: Registry },
  ): Promise<TestPipeline>;
  close(): Promise<void>;
}

/**
 * A CDC run with scale-1 CRM seed data (and `telemetryDensity` of the telemetry), its connectors
 * started, a migrated temporary ClickHouse and a consumer config; no pipeline started yet.
 * `empty`: no seed data and no connectors (the test makes both).
 */
export async function openPipelineRun(
  options: {
    telemetryDensity?: number;
    seed?: number;
    config?: Partial<ConsumerConfig>;
    empty?: boolean;
    /** On top of the connectors' template (connectors/postgres-source.json). */
    connectorOverrides?: Record<string, string>;
  } = {},
): Promise<PipelineRun> {
  const opened: Partial<PipelineRun> & { pipelines: TestPipeline[] } = { pipelines: [] };
  const close = async (): Promise<void> => {
    for (const p of opened.pipelines) await p.stop().catch(() => undefined);
    await opened.clickhouse?.close().catch(() => undefined);
    if (opened.run) await closeCdcRun(opened.run);
    removeDir(opened.dataDir);
  };
  try {
    const run = await openCdcRun();
    opened.run = run;
    opened.dataDir = tempClickHouseDir();
    const config = testConsumerConfig(run, opened.dataDir, options.config);
    opened.config = config;
    if (!options.empty) {
      await generate({
        ...run.dbs,
        scale: 1,
        seed: options.seed ?? 42,
        telemetryDensity: options.telemetryDensity ?? 0.05,
        progress: false,
      });
      await startConnectors(run, options.connectorOverrides);
    }
    const clickhouse = await openClickHouse(config);
    opened.clickhouse = clickhouse;
    return {
      run,
      dataDir: opened.dataDir,
      config,
      clickhouse,
      database: config.clickhouse.database,
      pipelines: opened.pipelines,
      startPipeline: async (name = `marts${opened.pipelines.length + 1}`, more = {}) => {
        const started = await startTestPipeline(run, { config, clickhouse, name, ...more });
        opened.pipelines.push(started);
        return started;
      },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  /** `topic:partition` of every assigned partition. */
  partitions: string[];
}

/** The group's state and each member's current assignment, as the coordinator reports them. */
export async function groupAssignments(
  run: CdcRun,
  group: string,
): Promise<{ state: string; members: GroupMember[] }> {
  const { groups } = await withAdmin(run, (admin) => admin.describeGroups([group]));
  const description = groups[0];
  return {
    state: description?.state ?? "Unknown",
    members: (description?.members ?? []).map((m) => {
      const decoded = m.memberAssignment.length
        ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
        : null;
      return {
        memberId: m.memberId,
        clientId: m.clientId,
        partitions: Object.entries(decoded?.assignment ?? {}).flatMap(([topic, ps]) =>
          ps.map((p) => `${topic}:${p}`),
        ),
      };
    }),
  };
}

/** Polls `probe` until it returns a value; unlike `waitFor`, an error thrown by the probe fails at once. */
export function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return waitFor(what, probe, timeoutMs, { probeErrors: "throw" });
}

/**
 * A partition assigner that gives every partition to the member with the highest `priority` (each
 * member announces its own in the group protocol's user data): a test can move all partitions to a
 * member that joins, without stopping the others.
 */
export function priorityAssigner(priority: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: "PriorityAssigner",
    version: 1,
    protocol: ({ topics }) => ({
      name: "PriorityAssigner",
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.from(String(priority)),
      }),
    }),
    assign: async ({ members, topics }) => {
      const ranked = members
        .map((m) => ({
          memberId: m.memberId,
          priority: Number(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData.toString()),
        }))
        .sort((x, y) => y.priority - x.priority || x.memberId.localeCompare(y.memberId));
      const assignment: Record<string, number[]> = {};
      for (const topic of topics) {
        assignment[topic] = cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId);
      }
      return ranked.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

/**
 * A partition assigner that gives the partitions of the tables a member names (its user data: a
 * JSON list of table names) to that member, and every other partition to the member that names
 * none: a test can pin one partition to an instance it controls.
 */
export function tableAssigner(tables: readonly string[]): PartitionAssigner {
  return ({ cluster }) => ({
    name: "TableAssigner",
    version: 1,
    protocol: ({ topics }) => ({
      name: "TableAssigner",
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.from(JSON.stringify(tables)),
      }),
    }),
    assign: async ({ members, topics }) => {
      const wants = members.map((m) => ({
        memberId: m.memberId,
        tables: JSON.parse(
          AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData.toString() || "[]",
        ) as string[],
      }));
      const rest = wants.find((w) => w.tables.length === 0) ?? wants[0];
      const assignment = new Map(wants.map((w) => [w.memberId, {} as Record<string, number[]>]));
      for (const topic of topics) {
        const table = topic.split(".").at(-1) ?? "";
        const owner = wants.find((w) => w.tables.includes(table)) ?? rest;
        if (!owner) continue;
        (assignment.get(owner.memberId) as Record<string, number[]>)[topic] = cluster
          .findTopicPartitionMetadata(topic)
          .map((m) => m.partitionId);
      }
      return wants.map((w) => ({
        memberId: w.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: assignment.get(w.memberId) ?? {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

/** A decoder whose records of one topic wait while its gate is closed: that partition is held back. */
export class GatedDecoder extends RecordDecoder {
  private opened: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  close(): void {
    this.opened = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open();
  }

  override async openChunk(buffers: Iterable<Buffer | null>) {
    await this.opened;
    return super.openChunk(buffers);
  }
}

/**
 * Fails the run's CRM task as a registry outage does: with the schema registry stopped,
 * `crm_payments` gains `column` and the rows `where` selects get `value` in it (a new schema the
 * converter must register), until Kafka Connect marks the task FAILED. The registry is started
 * again in any case; whatever supervises the connector (or nothing) does the rest.
 */
export async function failCrmTaskOnSchemaRegistration(
  run: CdcRun,
  change: { column: string; value: string; where: string },
  log: (line: string) => void,
): Promise<void> {
  const name = connectorName(run.topicPrefix, "crm");
  await stackDown(run.config, { components: ["registry"], log });
  try {
    await sourceQuery(run, "crm", `ALTER TABLE crm_payments ADD COLUMN IF NOT EXISTS ${change.column} text`);
    await sourceQuery(run, "crm", `UPDATE crm_payments SET ${change.column} = $1 WHERE ${change.where}`, [
      change.value,
    ]);
    await until(
      "the CRM task to fail on its schema registration",
      async () =>
        (await connectorStatus(run.config.connectUrl, name))?.tasks.some((t) => t.state === "FAILED")
          ? true
          : undefined,
      180_000,
    );
  } finally {
    await stackUp(run.config, { components: ["registry"], sourceConnectors: false, log });
  }
}

/** Resets recorded in ClickHouse, per kind. */
export async function resetCounts(run: PipelineRun): Promise<Record<string, number>> {
  const result = await run.clickhouse.query({
    query: `SELECT toString(kind) AS kind, count() AS n FROM ${run.database}.source_resets FINAL GROUP BY kind ORDER BY kind`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ kind: string; n: number | string }>();
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
}
