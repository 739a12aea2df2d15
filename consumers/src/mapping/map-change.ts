import type { ChangeEnvelope } from "../envelope.js";
import { MappingError } from "./errors.js";
import { mapRowChange, type TableMapping } from "./table-mapping.js";
import { batteryMetrics } from "./tables/battery-metrics.js";
import { crmPayments } from "./tables/crm-payments.js";
import { crmProsthetics } from "./tables/crm-prosthetics.js";
import { crmSubscriptions } from "./tables/crm-subscriptions.js";
import { crmSupportTickets } from "./tables/crm-support-tickets.js";
import { crmUsers } from "./tables/crm-users.js";
import { rawTelemetry } from "./tables/raw-telemetry.js";
import { telemetryEvents } from "./tables/telemetry-events.js";
import type { MappedChange, Position, Reset, SourceName, Watermark } from "./types.js";
import { msToDateTime64 } from "./values.js";

export const tableMappings: readonly TableMapping[] = [
  crmUsers,
  crmProsthetics,
  crmSubscriptions,
  crmPayments,
  crmSupportTickets,
  telemetryEvents,
  batteryMetrics,
  rawTelemetry,
];

const byName = new Map(tableMappings.map((m) => [`${m.source}.${m.table}`, m]));
const heartbeatTable = "debezium_heartbeat";
/** parseTopicTable's answers: it runs once per change (3.2 % of the main thread, split per call). */
const parsedTopics = new Map<string, Readonly<{ source: SourceName; table: string }>>();

/**
 * `<prefix>.<source>.<table>` (a topic) or `<source>.<table>` -> source and table. The prefix may
 * itself contain dots; only the last two segments matter.
 */
export function parseTopicTable(topicTable: string): { source: SourceName; table: string } {
  const known = parsedTopics.get(topicTable);
  if (known) return known;
  const parts = topicTable.split(".");
  const table = parts.at(-1) ?? "";
  const source = parts.at(-2);
  if (
    (source === "crm" || source === "telemetry") &&
    (byName.has(`${source}.${table}`) || table === heartbeatTable)
  ) {
    const parsed = Object.freeze({ source, table });
    // Only mapped tables are kept: as many entries as the topics a consumer reads.
    parsedTopics.set(topicTable, parsed);
    return parsed;
  }
  throw new MappingError("MAPPING_UNKNOWN_TABLE", `no mapping for topic table "${topicTable}"`, table);
}

function parseOffset(offset: Position["offset"]): bigint {
  try {
    const value = BigInt(offset);
    if (value >= 0n && value < 1n << 64n) return value;
  } catch {
    // reported below
  }
  throw new MappingError(
    "MAPPING_BAD_OFFSET",
    `Kafka offset ${String(offset)} is not a non-negative 64-bit integer`,
  );
}

function watermarkOf(source: SourceName, envelope: ChangeEnvelope): Watermark {
  return {
    source,
    commitTs: msToDateTime64(envelope.source.ts_ms),
    commitTsMs: envelope.source.ts_ms,
    lsn: envelope.source.lsn ?? null,
  };
}

/**
 * A read of a blocking snapshot (initial, a re-run after a failure, or an ad-hoc blocking snapshot
 * from the signal table, `resnapshot`): `source.snapshot` is one of
 * true/first/first_in_data_collection/last_in_data_collection/last. Incremental snapshot reads
 * (`incremental`) interleave with streaming and are not a reset point.
 */
export function isInitialSnapshotRead(envelope: ChangeEnvelope): boolean {
  const marker = envelope.source.snapshot;
  return envelope.op === "r" && marker !== null && marker !== "false" && marker !== "incremental";
}

function resetAt(kind: Reset["kind"], source: SourceName, table: string, envelope: ChangeEnvelope): Reset {
  const lsn = envelope.source.lsn;
  if (lsn === null || lsn === undefined) {
    throw new MappingError("MAPPING_MISSING_LSN", `${table} ${kind} event without source.lsn`, table);
  }
  return { kind, source, sourceTable: table, lsn, commitTs: msToDateTime64(envelope.source.ts_ms) };
}

/**
 * Maps one decoded Debezium change to ClickHouse rows. Pure: the result depends only on the
 * arguments, so a chunk re-read after a crash maps to the very same blocks (required by
 * token-based deduplication). Throws MappingError for events that can never be applied.
 */
export function mapChange(
  topicTable: string,
  envelope: ChangeEnvelope | null,
  position: Position,
): MappedChange {
  const { source, table } = parseTopicTable(topicTable);
  if (envelope === null) return { kind: "skip", reason: "tombstone", watermark: null };
  if (envelope.source.table !== table) {
    throw new MappingError(
      "MAPPING_TABLE_MISMATCH",
      `event of table "${envelope.source.table}" read from topic table "${topicTable}"`,
      table,
    );
  }
  const watermark = watermarkOf(source, envelope);
  if (table === heartbeatTable) return { kind: "skip", reason: "heartbeat", watermark };
  const mapping = byName.get(`${source}.${table}`) as TableMapping;
  switch (envelope.op) {
    case "c":
    case "r":
    case "u":
    case "d":
      return {
        kind: "rows",
        sourceTable: table,
        rows: mapRowChange(mapping, envelope, parseOffset(position.offset)),
        watermark,
        snapshot: isInitialSnapshotRead(envelope) ? resetAt("snapshot", source, table, envelope) : null,
      };
    case "t":
      return { kind: "reset", reset: resetAt("truncate", source, table, envelope), watermark };
    case "m":
      return { kind: "skip", reason: "logical_message", watermark };
    default:
      throw new MappingError("MAPPING_UNKNOWN_OP", `unknown op ${JSON.stringify(envelope.op)}`, table);
  }
}
