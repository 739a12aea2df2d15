import pg from "pg";
import { connectorStatus } from "../../connectors/apply.js";
import { connectorName } from "../../connectors/render.js";
import { SIGNAL_TABLE, tableTopic } from "../../connectors/sources.js";
import { isInitialSnapshotRead } from "../../consumers/src/mapping/map-change.js";
import { RecordDecoder } from "../../consumers/src/runtime/decode.js";
import type { PgEndpoint } from "../config.js";
import { pgClient } from "../stack/components/postgres.js";
import { topicsDeps, withAdmin } from "../topics/clients.js";
import { readRange } from "../topics/range-reader.js";
import { ResnapshotError } from "./errors.js";
import { blockingSnapshotSignal, type CatalogueTable } from "./signal.js";

export interface ResnapshotConfig {
  pg: PgEndpoint;
  crmDb: string;
  telemetryDb: string;
  kafkaBrokers: readonly string[];
  registryUrl: string;
  connectUrl: string;
  topicPrefix: string;
}

export interface ResnapshotOptions {
  target: CatalogueTable;
  /** Wait until every row's snapshot read is in the topic, not only the first. */
  wait: boolean;
  /** How long to wait for the snapshot's reads. */
  timeoutMs: number;
  /** How long to wait for the table lock behind running writers. */
  lockTimeoutMs: number;
  log: (line: string) => void;
}

export interface ResnapshotResult {
  source: string;
  table: string;
  topic: string;
  connector: string;
  signalId: string;
  /** Rows of the table when the snapshot read it: the reads the topic gets. */
  rows: number;
  /** source.lsn of the snapshot's reads: the position P the consumers reset the table at. */
  lsn: string;
  /** Snapshot reads found in the topic (all of them with --wait, else the first). */
  reads: number;
  /** How long writers of the table waited (the lock, from before the signal to the first read). */
  writersHeldMs: number;
  elapsedMs: number;
}

/** PostgreSQL's lock_not_available: LOCK waited longer than lock_timeout. */
const LOCK_NOT_AVAILABLE = "55P03";

/**
 * Makes Debezium read one table again into its topic: an `execute-snapshot` signal of type
 * `blocking` in the source's signal table (docs/operators.md "resnapshot").
 *
 * Exactness: a blocking snapshot's reads carry the LSN of the signal, not of the moment the table is
 * read, and Debezium streams again, after the snapshot, every change committed between the two
 * (measured with Debezium 3.6.3: rows inserted right after the signal came as reads *and* as
 * creates after them). The consumers reset the table at the reads' LSN, so such a change would count
 * twice. Hence the table is locked against writers (SHARE: reads, including the snapshot's, go on)
 * from before the signal until its first read is in Kafka: then nothing of the table commits
 * between the signal and the snapshot, every change before it has an LSN below the reads', every
 * change after it one above, and the row count under the lock is exactly the number of reads.
 */
export async function resnapshot(
  config: ResnapshotConfig,
  options: ResnapshotOptions,
): Promise<ResnapshotResult> {
  const started = performance.now();
  const { source, table } = options.target;
  const connector = connectorName(config.topicPrefix, source);
  const topic = tableTopic(config.topicPrefix, source, table);
  const database = source === "crm" ? config.crmDb : config.telemetryDb;

  const status = await connectorStatus(config.connectUrl, connector);
  const running =
    status?.connector.state === "RUNNING" &&
    status.tasks.length > 0 &&
    status.tasks.every((t) => t.state === "RUNNING");
  if (!running) {
    throw new ResnapshotError(
      "CONNECTOR_NOT_RUNNING",
      `connector ${connector} is ${status ? `not RUNNING (${JSON.stringify(status.connector.state)}, tasks ${status.tasks.map((t) => t.state).join(",") || "none"})` : "not found"} at ${config.connectUrl}: ` +
        "a signal would wait in the WAL until it runs; start it with npm run stack -- up (status: npm run stack -- status)",
    );
  }

  const deps = topicsDeps(config.kafkaBrokers, config.registryUrl);
  const starts = await withAdmin(deps, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new ResnapshotError("TOPIC_NOT_FOUND", `topic ${topic} does not exist: is TOPIC_PREFIX right?`);
    }
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  });

  const lock = pgClient(config.pg, database);
  const signaller = pgClient(config.pg, database);
  let holding = false;
  let heldAt = 0;
  let writersHeldMs = 0;
  const release = async (): Promise<void> => {
    if (!holding) return;
    holding = false;
    writersHeldMs = Math.round(performance.now() - heldAt);
    await lock.query("ROLLBACK");
  };
  try {
    await lock.connect();
    await signaller.connect();
    await lock.query("BEGIN");
    holding = true;
    await lock.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs))}`);
    const qualified = `public.${pg.escapeIdentifier(table)}`;
    try {
      await lock.query(`LOCK TABLE ${qualified} IN SHARE MODE`);
    } catch (error) {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) {
        throw new ResnapshotError(
          "LOCK_TIMEOUT",
          `${table} stayed locked by other transactions for ${options.lockTimeoutMs / 1000} s ` +
            "(a long write?): retry, or raise --lock-timeout",
          { cause: error },
        );
      }
      throw error;
    }
    heldAt = performance.now();
    options.log(`${database}.${table}: writers held (SHARE lock) until the snapshot has read it`);
    const [counted] = (
      await lock.query<{ rows: string; lsn: string }>(
        `SELECT count(*)::text AS rows, (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS lsn FROM ${qualified}`,
      )
    ).rows;
    const rows = Number(counted?.rows ?? 0);
    // Reads of this snapshot carry the signal's LSN, after this one; an initial snapshot still
    // running would carry an older one.
    const floor = BigInt((counted?.lsn ?? "0").split(".")[0] ?? "0");
    if (rows === 0) {
      throw new ResnapshotError(
        "TABLE_EMPTY",
        `${database}.${table} is empty: a snapshot would send no reads, so the consumers would not reset it; ` +
          `if the marts still hold rows of it, TRUNCATE ${table} resets them exactly (docs/consumers.md "Resets")`,
      );
    }
    const signal = blockingSnapshotSignal(table);
    await signaller.query(`INSERT INTO public.${SIGNAL_TABLE} (id, type, data) VALUES ($1, $2, $3)`, [
      signal.id,
      signal.type,
      signal.data,
    ]);
    options.log(
      `signal ${signal.id} sent (${rows} rows to read); waiting for the first snapshot read in ${topic}`,
    );

    const decoder = new RecordDecoder(config.registryUrl);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), options.timeoutMs);
    let lsn: bigint | undefined;
    let reads = 0;
    try {
      await readRange(deps, {
        topic,
        starts,
        ends: null,
        signal: abort.signal,
        onMessage: async (_partition, message) => {
          const envelope = await decoder.decodeValue(message.value);
          if (!envelope || !isInitialSnapshotRead(envelope) || envelope.source.table !== table) return;
          const at = envelope.source.lsn ?? -1n;
          if (at < floor || (lsn !== undefined && at !== lsn)) return;
          if (lsn === undefined) {
            lsn = at;
            await release();
            options.log(`first read at LSN ${at}: writers released after ${writersHeldMs} ms`);
          }
          reads += 1;
          if (options.wait && reads % 10_000 === 0) options.log(`${reads}/${rows} reads`);
          return !options.wait || reads >= rows;
        },
      });
    } finally {
      clearTimeout(timer);
    }
    if (lsn === undefined || (options.wait && reads < rows)) {
      throw new ResnapshotError(
        "SNAPSHOT_TIMEOUT",
        `${lsn === undefined ? "no snapshot read" : `${reads} of ${rows} snapshot reads`} of ${table} in ${topic} ` +
          `after ${options.timeoutMs / 1000} s: the signal ${signal.id} stays; see the connector's log ` +
          "(npm run stack -- logs connect), then npm run reconcile",
      );
    }
    return {
      source,
      table,
      topic,
      connector,
      signalId: signal.id,
      rows,
      lsn: lsn.toString(),
      reads,
      writersHeldMs,
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    await release().catch(() => undefined);
    await lock.end().catch(() => undefined);
    await signaller.end().catch(() => undefined);
  }
}
