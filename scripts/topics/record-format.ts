import type { KeyFilter } from "./arguments.js";

/**
 * Decoded Kafka records as `topics tail` prints them. Values become JSON exactly: Avro longs
 * (bigint) and decimals print as decimal strings, bytes as base64, nothing passes through a double.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function toJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return String(value);
}

/** What one record decoded to: a value, or why it could not be decoded. */
export type Decoded = { ok: true; value: unknown } | { ok: false; error: string };

export interface RawTailRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  decodedKey: Decoded | null;
  decodedValue: Decoded | null;
}

/** One line of `topics tail --json`. */
export interface TailRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Debezium's op (c, u, d, r, t, m); null for a tombstone or a value that is not a change event. */
  op: string | null;
  key: JsonValue;
  before: JsonValue;
  after: JsonValue;
  /** source.lsn of the change. */
  lsn: string | null;
  /** source.ts_ms (commit time of the source transaction), ISO 8601 UTC. */
  commitTime: string | null;
  /** A null value: the tombstone Debezium writes after a delete. */
  tombstone?: true;
  /** A decoded value that is not a Debezium change event (e.g. a heartbeat). */
  value?: JsonValue;
  /** Why the key or value could not be decoded; the raw bytes follow as base64. */
  error?: string;
  keyBase64?: string | null;
  valueBase64?: string | null;
}

function isChangeEvent(value: unknown): value is {
  op: string;
  before: unknown;
  after: unknown;
  source: { lsn?: unknown; ts_ms?: unknown };
} {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { op?: unknown }).op === "string" &&
    typeof (value as { source?: unknown }).source === "object" &&
    (value as { source?: unknown }).source !== null
  );
}

function commitTimeOf(tsMs: unknown): string | null {
  if (typeof tsMs !== "bigint" && typeof tsMs !== "number") return null;
  const date = new Date(Number(tsMs));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function tailRecord(raw: RawTailRecord): TailRecord {
  const base = { topic: raw.topic, partition: raw.partition, offset: raw.offset };
  const failed = [raw.decodedKey, raw.decodedValue].find((d): d is { ok: false; error: string } =>
    Boolean(d && !d.ok),
  );
  const key = raw.decodedKey?.ok ? toJsonValue(raw.decodedKey.value) : null;
  const empty = { op: null, key, before: null, after: null, lsn: null, commitTime: null };
  if (failed) {
    return {
      ...base,
      ...empty,
      error: failed.error,
      keyBase64: raw.key?.toString("base64") ?? null,
      valueBase64: raw.value?.toString("base64") ?? null,
    };
  }
  const decoded = raw.decodedValue;
  if (decoded === null) return { ...base, ...empty, tombstone: true };
  const value = decoded.ok ? decoded.value : null;
  if (!isChangeEvent(value)) return { ...base, ...empty, value: toJsonValue(value) };
  return {
    ...base,
    op: value.op,
    key,
    before: toJsonValue(value.before),
    after: toJsonValue(value.after),
    lsn: value.source.lsn === null || value.source.lsn === undefined ? null : String(value.source.lsn),
    commitTime: commitTimeOf(value.source.ts_ms),
  };
}

const asText = (value: JsonValue): string => (typeof value === "string" ? value : JSON.stringify(value));

/** Whether a record's decoded key passes `--key`. */
export function keyMatches(filter: KeyFilter, key: JsonValue): boolean {
  if (filter.kind === "value") {
    if (key !== null && typeof key === "object" && !Array.isArray(key)) {
      return Object.values(key).some((v) => asText(v) === filter.value);
    }
    return key !== null && asText(key) === filter.value;
  }
  if (key === null || typeof key !== "object" || Array.isArray(key)) return false;
  return Object.entries(filter.fields).every(([name, expected]) => {
    const actual = key[name];
    return actual !== undefined && asText(actual) === expected;
  });
}

/** The human-readable form: a header line, then the row images, indented. */
export function formatTailText(record: TailRecord): string {
  const op = record.tombstone ? "tombstone" : (record.op ?? (record.error ? "undecodable" : "-"));
  const head = [
    `${record.topic}[${record.partition}]@${record.offset}`,
    op,
    `key=${JSON.stringify(record.key)}`,
    ...(record.commitTime ? [`committed ${record.commitTime}`] : []),
    ...(record.lsn ? [`lsn ${record.lsn}`] : []),
  ].join("  ");
  const lines = [head];
  if (record.before !== null) lines.push(`  before ${JSON.stringify(record.before)}`);
  if (record.after !== null) lines.push(`  after  ${JSON.stringify(record.after)}`);
  if (record.value !== undefined) lines.push(`  value  ${JSON.stringify(record.value)}`);
  if (record.error) {
    lines.push(`  error  ${record.error}`);
    lines.push(`  value (base64) ${record.valueBase64 ?? "null"}`);
  }
  return lines.join("\n");
}
