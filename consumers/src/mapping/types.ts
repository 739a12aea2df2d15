import type { ChRow } from "../../../clickhouse/insert.js";

export type { ChRow, ChValue } from "../../../clickhouse/insert.js";

/** ClickHouse tables the mapping writes, in the order a chunk inserts them (deterministic blocks). */
export const targetTables = [
  "dim_users",
  "dim_prosthetics",
  "dim_subscriptions",
  "dim_support_tickets",
  "subscription_changes",
  "payment_changes",
  "telemetry_event_changes",
  "battery_metric_changes",
  "raw_telemetry_changes",
] as const;

export type TargetTable = (typeof targetTables)[number];

export type RowsByTable = Partial<Record<TargetTable, ChRow[]>>;

export type SourceName = "crm" | "telemetry";

/** Where a record was read from; Kafka offsets arrive as strings from kafkajs. */
export interface Position {
  topic: string;
  partition: number;
  offset: string | bigint | number;
}

/** How far a source database is reflected: its commit time and LSN. */
export interface Watermark {
  source: SourceName;
  /** Commit time as ClickHouse DateTime64(3, 'UTC') text. */
  commitTs: string;
  commitTsMs: bigint;
  lsn: bigint | null;
}

/**
 * A point in a source table's history after which its state is replaced: a TRUNCATE, or the start of
 * a (new) Debezium snapshot. Everything of the table committed before `lsn` leaves the marts; the
 * rows that follow (the snapshot's reads, the inserts after the TRUNCATE) rebuild it.
 */
export interface Reset {
  kind: "truncate" | "snapshot";
  source: SourceName;
  sourceTable: string;
  lsn: bigint;
  /** ClickHouse DateTime64(3, 'UTC') text of the source commit. */
  commitTs: string;
}

export type MappedChange =
  | {
      kind: "rows";
      sourceTable: string;
      rows: RowsByTable;
      watermark: Watermark;
      /** The snapshot a read (op r) belongs to, by its LSN; null for streamed changes. */
      snapshot: Reset | null;
    }
  | { kind: "skip"; reason: "tombstone" | "heartbeat" | "logical_message"; watermark: Watermark | null }
  /** A TRUNCATE: the table's state before it leaves the marts (sink/resets.ts). */
  | { kind: "reset"; reset: Reset; watermark: Watermark };
