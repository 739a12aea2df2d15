import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonRows } from "../../../clickhouse/insert.js";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { targetTables, type RowsByTable, type TargetTable } from "../mapping/types.js";

export interface InsertSummary {
  table: TargetTable;
  rows: number;
}

/**
 * Inserts the blocks of one chunk, one insert per target table in a fixed order. With a token,
 * every block carries `insert_deduplication_token = <token>:<table>` (and dedup in dependent
 * materialized views), so re-inserting the same chunk after a crash changes nothing. The chunk's
 * content and split must therefore be deterministic; `mapChange` is pure for that reason.
 * An empty token disables deduplication.
 */
export async function insertMapped(
  client: ClickHouseClient,
  database: string,
  rows: RowsByTable,
  dedupToken: string,
): Promise<InsertSummary[]> {
  const db = assertDatabaseName(database);
  const summary: InsertSummary[] = [];
  for (const table of targetTables) {
    const block = rows[table];
    if (!block?.length) continue;
    await insertJsonRows(client, `${db}.${table}`, block, dedupToken === "" ? "" : `${dedupToken}:${table}`);
    summary.push({ table, rows: block.length });
  }
  return summary;
}

/** The token DESIGN §6 prescribes for a chunk of consecutive offsets of one partition. */
export function chunkToken(
  group: string,
  topic: string,
  partition: number,
  first: string,
  last: string,
): string {
  return `${group}:${topic}:${partition}:${first}-${last}`;
}
