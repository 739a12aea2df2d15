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

async function partitionIds(client: ClickHouseClient, database: string, table: string): Promise<string[]> {
  const result = await client.query({
    query: `SELECT DISTINCT partition_id FROM system.parts
            WHERE database = {db:String} AND table = {table:String} AND active ORDER BY partition_id`,
    query_params: { db: database, table },
    format: "JSONEachRow",
  });
  return (await result.json<{ partition_id: string }>()).map((r) => {
    // Partition ids are digits, `all` or hex hashes; anything else is not inlined into DDL.
    if (!/^\w+$/.test(r.partition_id))
      throw new Error(`unexpected partition id ${r.partition_id} of ${table}`);
    return r.partition_id;
  });
}

/**
 * Makes `to.t` hold what `from.t` holds now, for each table, by copying its parts (`REPLACE
 * PARTITION ... FROM`: hard links, and no materialized view fires, so nothing downstream counts the
 * rows again). A partial replay's inputs: tables its marts read that it does not rebuild.
 */
export async function copyTables(
  client: ClickHouseClient,
  from: string,
  to: string,
  tables: readonly string[],
): Promise<void> {
  const [f, t] = [assertDatabaseName(from), assertDatabaseName(to)];
  for (const table of tables) {
    const name = assertDatabaseName(table);
    const source = await partitionIds(client, f, name);
    for (const id of await partitionIds(client, t, name)) {
      if (!source.includes(id)) {
        await client.command({ query: `ALTER TABLE ${t}.${name} DROP PARTITION ID '${id}'` });
      }
    }
    for (const id of source) {
      await client.command({
        query: `ALTER TABLE ${t}.${name} REPLACE PARTITION ID '${id}' FROM ${f}.${name}`,
      });
    }
  }
}
