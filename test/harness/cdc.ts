import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Admin } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import pg from "pg";
import {
  connectorOffsets,
  deleteConnector,
  rewriteOffsets,
  superviseConnectors,
  type ConnectorSupervisor,
} from "../../connectors/apply.js";
import { connectorName, sourceConnectorNames } from "../../connectors/render.js";
import { SOURCES, tableTopic, type SourceName } from "../../connectors/sources.js";
import { registryClient } from "../../consumers/src/runtime/decode.js";
import type { ChangeEnvelope } from "../../consumers/src/envelope.js";
import { loadStackConfig, type StackConfig } from "../../scripts/stack/config.js";
import { applySourceConnector, slotNameFor } from "../../scripts/stack/stack.js";
import { createSourceDatabases, dropSourceDatabases, type SourceDatabases } from "./pg.js";

/** One isolated CDC pipeline per test file: own databases, topic prefix, slots and connectors. */
export interface CdcRun {
  config: StackConfig;
  runId: string;
  topicPrefix: string;
  dbs: SourceDatabases;
  kafka: Kafka;
  registry: SchemaRegistry;
  topic(source: SourceName, table: string): string;
  /** Restarts the run's FAILED connector tasks, as `npm start` does; from `startConnectors` on. */
  supervisor?: ConnectorSupervisor;
}

export interface DecodedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Record<string, unknown> | null;
  value: ChangeEnvelope | null;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

export async function openCdcRun(): Promise<CdcRun> {
  const config = loadStackConfig();
  const runId = newRunId();
  const topicPrefix = `t${runId}`;
  const dbs = await createSourceDatabases(runId);
  return {
    config,
    runId,
    topicPrefix,
    dbs,
    kafka: new Kafka({ clientId: `test-${runId}`, brokers: config.kafkaBrokers, logLevel: logLevel.ERROR }),
    registry: registryClient(config.registryUrl),
    topic: (source, table) => tableTopic(topicPrefix, source, table),
  };
}

/** Creates both connectors of the run; `overrides` go on top of the template (e.g. snapshot.delay.ms). */
export async function startConnectors(run: CdcRun, overrides: Record<string, string> = {}): Promise<void> {
  for (const [source, dbName] of [
    ["crm", run.dbs.crmDb],
    ["telemetry", run.dbs.telemetryDb],
  ] as const) {
    await applySourceConnector(run.config, source, {
      dbName,
      topicPrefix: run.topicPrefix,
      slotName: slotNameFor(run.topicPrefix, source),
      heartbeatIntervalMs: 1000,
      overrides,
    });
  }
  run.supervisor ??= superviseConnectors(run.config.connectUrl, sourceConnectorNames(run.topicPrefix), {
    log: (line) => console.warn(`[connectors ${run.topicPrefix}] ${line}`),
  });
}

/** Deletes connectors, slots, topics and databases of the run. */
export async function closeCdcRun(run: CdcRun): Promise<void> {
  await run.supervisor?.stop();
  for (const name of sourceConnectorNames(run.topicPrefix))
    await deleteConnector(run.config.connectUrl, name);
  const client = new pg.Client({ ...run.config.pg, password: run.config.pg.password, database: "postgres" });
  await client.connect();
  try {
    for (const source of ["crm", "telemetry"] as const) {
      const slot = slotNameFor(run.topicPrefix, source);
      // The slot is busy until Connect has stopped the deleted connector's task, which a loaded
      // host may take longer than 5 s to do: then its walsender is terminated.
      for (let attempt = 0; attempt < 150; attempt += 1) {
        const active = await client.query<{ active: boolean; pid: number | null }>(
          "SELECT active, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1",
          [slot],
        );
        const row = active.rows[0];
        if (!row) break;
        if (!row.active) {
          const dropped = await client.query("SELECT pg_drop_replication_slot($1)", [slot]).then(
            () => true,
            () => false, // taken again meanwhile: look again
          );
          if (dropped) break;
        } else if (attempt >= 25 && row.pid !== null) {
          await client.query("SELECT pg_terminate_backend($1)", [row.pid]);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await client.end();
  }
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(run.topicPrefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
  await dropSourceDatabases(run.dbs);
}

export async function withAdmin<T>(run: CdcRun, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Number of records in a topic (sum of high watermarks; topics here are never compacted mid-test). */
export async function topicRecordCount(run: CdcRun, topic: string): Promise<number> {
  return withAdmin(run, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  options: { probeErrors?: "retry" | "throw" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const attempt = options.probeErrors === "throw" ? probe : () => probe().catch(() => undefined);
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Reads topics from the beginning (fresh consumer group) and decodes every record through the
 * registry, until `done(records)` holds or the timeout passes.
 */
export async function collect(
  run: CdcRun,
  topics: string[],
  done: (records: DecodedRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<DecodedRecord[]> {
  const records: DecodedRecord[] = [];
  const consumer = run.kafka.consumer({ groupId: `collect-${newRunId()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let failure: unknown;
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        try {
          records.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key ? ((await run.registry.decode(message.key)) as Record<string, unknown>) : null,
            value: message.value ? ((await run.registry.decode(message.value)) as ChangeEnvelope) : null,
          });
        } catch (error) {
          failure = error;
        }
      },
    });
    await waitFor(
      `records on ${topics.join(", ")} (have ${records.length})`,
      async () => {
        return failure !== undefined || done(records) ? true : undefined;
      },
      timeoutMs,
    );
    if (failure) throw failure;
    return records;
  } finally {
    await consumer.disconnect();
  }
}

export const sourceTables = (source: SourceName): readonly string[] => SOURCES[source].tables;

/**
 * Until Kafka Connect has committed, for both of the run's connectors, a source offset past the
 * initial snapshot (no `snapshot` key: streaming, heartbeats every second): from here a restarted
 * task resumes streaming instead of snapshotting again.
 */
export async function snapshotsCommitted(run: CdcRun, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    "Kafka Connect to commit both connectors' offsets past their snapshots",
    async () => {
      for (const name of sourceConnectorNames(run.topicPrefix)) {
        const offsets = await connectorOffsets(run.config.connectUrl, name).catch(() => []);
        if (offsets.length === 0 || offsets.some((o) => "snapshot" in o.offset)) return undefined;
      }
      return true;
    },
    timeoutMs,
  );
}

/**
 * Kafka Connect rewrites a connector's source offsets (KIP-875) so that its task starts an initial
 * snapshot again while its replication slot exists: with no offset (`"none"`: as if it never ran, or
 * died before Connect committed any), or with the offset of a snapshot in progress
 * (`"snapshot-in-progress"`: the task died mid-snapshot, or after the snapshot's last read but before
 * Connect committed the offset that records its end).
 */
export async function rewindSourceOffsets(
  run: CdcRun,
  source: SourceName,
  to: "none" | "snapshot-in-progress",
): Promise<void> {
  const name = connectorName(run.topicPrefix, source);
  await rewriteOffsets(run.config.connectUrl, name, (current) => {
    if (to === "none") return null;
    const [first] = current;
    if (!first) throw new Error(`${name} has no offset to rewind`);
    // What Debezium stores while its initial snapshot runs: the snapshot's position, no streaming state.
    const { lsn, txId, ts_usec } = first.offset;
    const offset = {
      lsn,
      txId,
      ts_usec,
      snapshot: "INITIAL",
      snapshot_completed: false,
      last_snapshot_record: false,
    };
    return [{ partition: first.partition, offset }];
  });
}
