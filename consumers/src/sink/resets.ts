import type { ClickHouseClient } from "@clickhouse/client";
import { dedupSettings, insertJsonRows } from "../../../clickhouse/insert.js";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { tableMappings } from "../mapping/map-change.js";
import type { Reset, TargetTable } from "../mapping/types.js";

/**
 * Resets (docs/consumers.md "Resets"): a TRUNCATE of a source table, or a new Debezium snapshot of
 * it, replaces the table's state. Applying one at source position P retracts, from every ClickHouse
 * table the source table feeds, everything committed before P:
 * - a signed change table gets, per distinct row (every column but sign, lsn, commit_ts), the
 *   negation of its net sign over the rows with `lsn < P`, stamped `lsn = P - 1` (no WAL record
 *   starts there: records are 8-byte aligned) — the materialized views carry the retraction into
 *   every mart;
 * - a dimension gets a deleted version of every live key whose version is older than P
 *   (`version = (P << 64) - 1`, below every version of a change at or after P).
 * Rows at or after P (the snapshot's reads, the inserts after the TRUNCATE, even when they were
 * applied first) are untouched, so the order of rows and resets within a chunk does not matter.
 * Both steps recompute from the current state: once applied, a reset finds nothing to retract, so a
 * redo (crash, re-emitted TRUNCATE) changes nothing. Exact because every change of the table with
 * `lsn < P` committed before P: a TRUNCATE holds an ACCESS EXCLUSIVE lock, so no transaction writing
 * the table spans it, and streaming starts after a snapshot's position (an ad-hoc blocking snapshot
 * carries its signal's LSN; `resnapshot` keeps the table's writers out from the signal to the read).
 */

/** No deduplication: a reset is idempotent by content, not by token. */
const NO_DEDUP = dedupSettings("");

const SIGNED_META = new Set(["sign", "lsn", "commit_ts"]);
const DIMENSION_META = new Set(["version", "is_deleted", "commit_ts"]);

export interface ResetTarget {
  table: TargetTable;
  kind: "changes" | "dimension";
}

/** The ClickHouse tables a source table feeds (its TableMapping): what a reset of it touches. */
export function resetTargets(sourceTable: string): ResetTarget[] {
  const mapping = tableMappings.find((m) => m.table === sourceTable);
  if (!mapping) throw new Error(`no mapping for source table ${sourceTable}`);
  return [
    ...(mapping.dimension ? [{ table: mapping.dimension.target, kind: "dimension" as const }] : []),
    ...(mapping.facts ?? []).map((f) => ({ table: f.target, kind: "changes" as const })),
  ];
}

const quoted = (name: string): string => `\`${name.replaceAll("`", "``")}\``;

async function columnsOf(client: ClickHouseClient, db: string, table: string): Promise<string[]> {
  const result = await client.query({
    query: `SELECT name FROM system.columns WHERE database = {db:String} AND table = {table:String} ORDER BY position`,
    query_params: { db, table },
    format: "JSONEachRow",
  });
  return (await result.json<{ name: string }>()).map((r) => r.name);
}

/** A query answering one number as `n`. */
async function scalar(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown>,
): Promise<number> {
  const result = await client.query({ query, query_params: params, format: "JSONEachRow" });
  return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
}

/** Retracts the net state of a signed change table before `lsn`; returns the signed rows inserted. */
async function retractChanges(
  client: ClickHouseClient,
  db: string,
  table: string,
  reset: Reset,
): Promise<number> {
  const columns = (await columnsOf(client, db, table)).filter((c) => !SIGNED_META.has(c)).map(quoted);
  const list = columns.join(", ");
  const net = `SELECT ${list}, sum(toInt64(sign)) AS n FROM ${db}.${table}
               WHERE lsn < {lsn:UInt64} GROUP BY ${list} HAVING n != 0`;
  const params = { lsn: reset.lsn.toString(), stamp: (reset.lsn - 1n).toString(), commit_ts: reset.commitTs };
  const rows = await scalar(client, `SELECT toString(sum(abs(n))) AS n FROM (${net})`, params);
  if (rows === 0) return 0;
  await client.command({
    query: `INSERT INTO ${db}.${table} (${list}, sign, lsn, commit_ts)
            SELECT ${list}, toInt8(if(n > 0, -1, 1)), {stamp:UInt64}, {commit_ts:DateTime64(3, 'UTC')}
            FROM (${net}) ARRAY JOIN range(toUInt64(abs(n))) AS copy`,
    query_params: params,
    clickhouse_settings: NO_DEDUP,
  });
  return rows;
}

/** Marks every live key of a dimension older than the reset deleted; returns the keys marked. */
async function retractDimension(
  client: ClickHouseClient,
  db: string,
  table: string,
  reset: Reset,
): Promise<number> {
  const columns = (await columnsOf(client, db, table)).filter((c) => !DIMENSION_META.has(c)).map(quoted);
  const list = columns.join(", ");
  const params = {
    limit: (reset.lsn << 64n).toString(),
    version: ((reset.lsn << 64n) - 1n).toString(),
    commit_ts: reset.commitTs,
  };
  const live = `FROM ${db}.${table} FINAL WHERE version < {limit:UInt128}`;
  const keys = await scalar(client, `SELECT toString(count()) AS n ${live}`, params);
  if (keys === 0) return 0;
  await client.command({
    query: `INSERT INTO ${db}.${table} (${list}, version, is_deleted, commit_ts)
            SELECT ${list}, {version:UInt128}, 1, {commit_ts:DateTime64(3, 'UTC')} ${live}`,
    query_params: params,
    clickhouse_settings: NO_DEDUP,
  });
  return keys;
}

export interface AppliedReset {
  reset: Reset;
  /** Per ClickHouse table: signed rows (change tables) or keys (dimensions) retracted. */
  retracted: { table: TargetTable; rows: number }[];
}

/** Applies one reset (idempotent) and records it in source_resets. */
export async function applyReset(
  client: ClickHouseClient,
  database: string,
  reset: Reset,
): Promise<AppliedReset> {
  const db = assertDatabaseName(database);
  const retracted: AppliedReset["retracted"] = [];
  for (const target of resetTargets(reset.sourceTable)) {
    const rows =
      target.kind === "changes"
        ? await retractChanges(client, db, target.table, reset)
        : await retractDimension(client, db, target.table, reset);
    retracted.push({ table: target.table, rows });
  }
  await insertJsonRows(
    client,
    `${db}.source_resets`,
    [
      {
        source_table: reset.sourceTable,
        kind: reset.kind,
        lsn: reset.lsn.toString(),
        commit_ts: reset.commitTs,
      },
    ],
    "",
  );
  return { reset, retracted };
}

/** The newest snapshot already applied per source table (its LSN). */
export async function readSnapshotResets(
  client: ClickHouseClient,
  database: string,
): Promise<Map<string, bigint>> {
  const result = await client.query({
    query: `SELECT source_table, toString(max(lsn)) AS lsn FROM ${assertDatabaseName(database)}.source_resets
            WHERE kind = 'snapshot' GROUP BY source_table`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ source_table: string; lsn: string }>();
  return new Map(rows.map((r) => [r.source_table, BigInt(r.lsn)]));
}

/** One log line: what a reset retracted. */
export function formatReset(applied: AppliedReset): string {
  const { reset } = applied;
  const what = reset.kind === "truncate" ? "TRUNCATE" : "new snapshot";
  const parts = applied.retracted.map((r) => `${r.table} ${r.rows}`);
  return `${what} of ${reset.sourceTable} at LSN ${reset.lsn}: retracted the state before it (${parts.join(", ")})`;
}
