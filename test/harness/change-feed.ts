import type { ClickHouseClient } from "@clickhouse/client";
import type { ChangeEnvelope, ColumnValue, SourceRow } from "../../consumers/src/envelope.js";
import { buildEnvelope } from "../../consumers/src/mapping/debezium-envelope.js";
import { collectChunk, mapChange } from "../../consumers/src/mapping/index.js";
import { chunkToken, insertMapped } from "../../consumers/src/sink/clickhouse-sink.js";
import { claimPartitions, recordApplied } from "../../consumers/src/sink/pipeline-state.js";

/**
 * Source changes as the Debezium events the consumers would read (c/u/d with full before/after
 * images), applied to ClickHouse through the real write path: `mapChange` per record, chunks per
 * topic merged by `collectChunk`, inserted by `insertMapped` with the chunk's dedup token, then the
 * chunk recorded as applied under a claim of its partition, as the consumer records it (what
 * `data_as_of` is read from). No PostgreSQL, no Kafka: for tests and fixtures that need exact marts.
 */

type Db = "crm_db" | "telemetry_db";

interface Pending {
  topic: string;
  offset: number;
  envelope: ChangeEnvelope;
}

const keyColumns: Record<string, string> = {
  crm_users: "user_id",
  crm_prosthetics: "prosthetic_id",
  crm_subscriptions: "subscription_id",
  crm_payments: "payment_id",
  crm_support_tickets: "ticket_id",
  telemetry_events: "event_id",
  battery_metrics: "metric_id",
  raw_telemetry: "sample_id",
};

const dbOf = (table: string): Db => (table.startsWith("crm_") ? "crm_db" : "telemetry_db");

/** "2024-02-01T08:00:00Z" -> Debezium's timestamptz text with 6 fraction digits. */
export const ts = (iso: string): string => `${new Date(iso).toISOString().slice(0, 19)}.000000Z`;

/** "2024-02-01" -> Debezium's date (days since 1970-01-01). */
export const day = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

export class ChangeFeed {
  private lsn = 10_000n;
  private readonly offsets = new Map<string, number>();
  private readonly rows = new Map<string, SourceRow>();
  private readonly claimed = new Set<string>();
  private pending: Pending[] = [];
  /** Commit time of the changes made from now on. */
  commitAt = new Date("2024-01-01T00:00:00Z");

  constructor(private readonly group = "fixture") {}

  private emit(table: string, op: "c" | "u" | "d", before: SourceRow | null, after: SourceRow | null) {
    this.lsn += 8n;
    const db = dbOf(table);
    const topic = `bionicpro.${db === "crm_db" ? "crm" : "telemetry"}.${table}`;
    const envelope = buildEnvelope({
      db,
      table,
      op,
      before,
      after,
      lsn: this.lsn,
      tsMs: BigInt(this.commitAt.getTime()),
    });
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    this.pending.push({ topic, offset, envelope });
  }

  private key(table: string, row: SourceRow): string {
    const column = keyColumns[table];
    if (!column) throw new Error(`no key column for ${table}`);
    return `${table}:${String(row[column])}`;
  }

  insert(table: string, row: SourceRow): this {
    this.rows.set(this.key(table, row), row);
    this.emit(table, "c", null, row);
    return this;
  }

  update(table: string, key: ColumnValue, changes: SourceRow): this {
    const id = `${table}:${String(key)}`;
    const before = this.rows.get(id);
    if (!before) throw new Error(`update of unknown row ${id}`);
    const after = { ...before, ...changes };
    this.rows.set(id, after);
    this.emit(table, "u", before, after);
    return this;
  }

  delete(table: string, key: ColumnValue): this {
    const id = `${table}:${String(key)}`;
    const before = this.rows.get(id);
    if (!before) throw new Error(`delete of unknown row ${id}`);
    this.rows.delete(id);
    this.emit(table, "d", before, null);
    return this;
  }

  /** Applies every change made since the last call: one chunk per topic, as a consumer would. */
  async apply(client: ClickHouseClient, database: string): Promise<number> {
    const byTopic = new Map<string, Pending[]>();
    for (const record of this.pending)
      byTopic.set(record.topic, [...(byTopic.get(record.topic) ?? []), record]);
    for (const [topic, chunk] of byTopic) {
      const mapped = chunk.map((r) =>
        mapChange(topic, r.envelope, { topic, partition: 0, offset: r.offset }),
      );
      const collected = collectChunk(mapped);
      const first = chunk[0] as Pending;
      const last = chunk.at(-1) as Pending;
      await insertMapped(
        client,
        database,
        collected.rows,
        chunkToken(this.group, topic, 0, String(first.offset), String(last.offset)),
      );
      if (!this.claimed.has(topic)) {
        await claimPartitions(client, database, this.group, "change-feed", [{ topic, partition: 0 }]);
        this.claimed.add(topic);
      }
      const range = {
        group: this.group,
        topic,
        partition: 0,
        claimEpoch: 1n,
        firstOffset: BigInt(first.offset),
        lastOffset: BigInt(last.offset),
      };
      const commitTs = collected.dataCommit?.commitTs ?? null;
      await recordApplied(client, database, range, { commitTs });
    }
    const applied = this.pending.length;
    this.pending = [];
    return applied;
  }
}
