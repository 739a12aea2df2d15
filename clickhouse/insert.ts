import type { ClickHouseClient } from "@clickhouse/client";

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

/**
 * Inserts one block of JSON rows with every deduplication setting written out. The embedded
 * connection turns `clickhouse_settings` into session `SET`s that stick to later statements, so a
 * setting left out here would silently inherit the previous insert's token.
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
  await client.insert({
    table: qualifiedTable,
    values: rows as ChRow[],
    format: "JSONEachRow",
    clickhouse_settings: dedupSettings(token),
  });
}
