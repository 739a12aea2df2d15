/**
 * A Debezium PostgreSQL change event as the consumers see it after Avro decoding with
 * `exactAvroOptions` (consumers/src/avro/types.ts). Connector settings (connectors/*.json) fix the
 * value shapes:
 * - integer/smallint -> number; bigint and every Avro long -> bigint
 * - numeric(p,s) -> decimal string with exactly s fraction digits ("2999.00")
 * - timestamptz -> ISO-8601 UTC string, always 6 fraction digits ("2024-01-15T10:30:01.000000Z")
 * - date -> number of days since 1970-01-01
 * - double precision -> number; boolean -> boolean; text/varchar -> string; NULL -> null
 */
export type ChangeOp = "c" | "u" | "d" | "r" | "t" | "m";

export type ColumnValue = string | number | bigint | boolean | null;
export type SourceRow = Record<string, ColumnValue>;

export interface ChangeSource {
  connector: string;
  /** Topic prefix given to the connector, e.g. "bionicpro.crm". */
  name: string;
  db: string;
  schema: string;
  table: string;
  /** Commit time of the source transaction (ms since epoch). */
  ts_ms: bigint;
  snapshot: string | null;
  txId: bigint | null;
  lsn: bigint | null;
  /** JSON array text: [last committed LSN, current LSN]. */
  sequence: string | null;
}

export interface ChangeEnvelope {
  before: SourceRow | null;
  after: SourceRow | null;
  source: ChangeSource;
  op: ChangeOp;
  /** Time Debezium processed the event (ms since epoch). */
  ts_ms: bigint | null;
}

/** Kafka record key: the table's primary key columns. */
export type ChangeKey = SourceRow;
