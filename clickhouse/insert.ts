import type { ClickHouseClient } from "@clickhouse/client";
import { stringLiteral } from "./sql.js";

export type ChValue = string | number | null;
export type ChRow = Record<string, ChValue>;

/**
 * Every deduplication setting of an insert, written out (see insertJsonRows): deduplicated by
 * `token`, also in dependent materialized views; no deduplication at all when it is empty.
 */
export const dedupSettings = (token: string) =>
  ({
    insert_deduplicate: token === "" ? 0 : 1,
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: token === "" ? 0 : 1,
  }) as const;

const qualifiedName = /^[A-Za-z_][A-Za-z0-9_]{0,62}\.[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The INSERT statement of a block: every deduplication setting written into its own SETTINGS
 * clause (a query-level setting, so nothing sticks to the session: the embedded connection would
 * turn `clickhouse_settings` into session `SET`s that later statements inherit) and the rows as one
 * JSON array (JSONEachRow accepts an array body), serialised by one `JSON.stringify`.
 */
export function insertStatement(qualifiedTable: string, rows: readonly ChRow[], token: string): string {
  if (!qualifiedName.test(qualifiedTable)) throw new Error(`invalid table name "${qualifiedTable}"`);
  const settings = Object.entries(dedupSettings(token))
    .map(([name, value]) => `${name} = ${typeof value === "string" ? stringLiteral(value) : value}`)
    .join(", ");
  return `INSERT INTO ${qualifiedTable} SETTINGS ${settings} FORMAT JSONEachRow\n${JSON.stringify(rows)}`;
}

/**
 * Inserts one block of JSON rows with every deduplication setting written out (insertStatement).
 * - token non-empty: the block is deduplicated by it, also in dependent materialized views.
 * - token empty: no deduplication at all (two identical blocks both land).
 */
export async function insertJsonRows(
  client: ClickHouseClient,
  qualifiedTable: string,
  rows: readonly ChRow[],
  token: string,
): Promise<void> {
  if (rows.length === 0) return;
  await client.command({ query: insertStatement(qualifiedTable, rows, token) });
}
