import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../../../clickhouse/sql.js";

/**
 * Tables that record the live consumer group's own state, not the marts: they stay where they are
 * at a swap. The live group's progress remains authoritative for the live group (the replay makes the
 * swapped marts hold exactly what that progress says); the claims fence the live members; freshness
 * rows are the live group's; schema_migrations describes the database. `source_resets` is not here:
 * it says which snapshot the marts' content reflects, so it moves with the marts.
 */
export const STATE_TABLES: ReadonlySet<string> = new Set([
  "schema_migrations",
  "pipeline_progress",
  "source_watermarks",
  "partition_claims",
  "partition_progress",
  "partition_freshness",
]);

/** Tables the replay keeps in the shadow database only (its run state). */
export const REPLAY_RUN_TABLE = "replay_run";

/**
 * The tables a swap exchanges: every table of the live database that holds data (dimensions, change
 * tables, marts, source_resets), never a view. Materialized views stay: they name their source and
 * target tables, and those names resolve to the exchanged tables (exchanging the views too would
 * leave each one bound to the other database's table, measured in chdb 3.4.0).
 */
export function swappedTables(liveTables: readonly { name: string; engine: string }[]): string[] {
  return liveTables
    .filter((t) => !t.engine.endsWith("View") && !STATE_TABLES.has(t.name) && t.name !== REPLAY_RUN_TABLE)
    .map((t) => t.name)
    .sort();
}

/** One statement that exchanges every table pair: `EXCHANGE TABLES live.a AND shadow.a, ...`. */
export function exchangeStatement(live: string, shadow: string, tables: readonly string[]): string {
  if (tables.length === 0) throw new Error("nothing to exchange");
  const [l, s] = [assertDatabaseName(live), assertDatabaseName(shadow)];
  return `EXCHANGE TABLES ${tables.map((t) => `${l}.${assertDatabaseName(t)} AND ${s}.${t}`).join(", ")}`;
}

export async function tablesOf(
  client: ClickHouseClient,
  database: string,
): Promise<{ name: string; engine: string }[]> {
  const result = await client.query({
    query: "SELECT name, engine FROM system.tables WHERE database = {db:String} ORDER BY name",
    query_params: { db: database },
    format: "JSONEachRow",
  });
  return result.json<{ name: string; engine: string }>();
}
