import type { ChangeEnvelope, ChangeOp, SourceRow } from "../envelope.js";

export interface EnvelopeSpec {
  db: "crm_db" | "telemetry_db";
  table: string;
  op: ChangeOp;
  before?: SourceRow | null;
  after?: SourceRow | null;
  lsn: bigint;
  /** Commit time of the source transaction. */
  tsMs: bigint;
  txId?: bigint;
  snapshot?: string | null;
}

/**
 * A decoded change event shaped exactly like the Debezium PostgreSQL connector's (see
 * consumers/src/envelope.ts), for tests and simulators that need events without a connector.
 */
export function buildEnvelope(spec: EnvelopeSpec): ChangeEnvelope {
  const prefix = spec.db === "crm_db" ? "bionicpro.crm" : "bionicpro.telemetry";
  return {
    before: spec.before ?? null,
    after: spec.after ?? null,
    source: {
      connector: "postgresql",
      name: prefix,
      db: spec.db,
      schema: "public",
      table: spec.table,
      ts_ms: spec.tsMs,
      snapshot: spec.snapshot ?? (spec.op === "r" ? "true" : "false"),
      txId: spec.txId ?? null,
      lsn: spec.lsn,
      sequence: `[null,"${spec.lsn}"]`,
    },
    op: spec.op,
    ts_ms: spec.tsMs + 100n,
  };
}
