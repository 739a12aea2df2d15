import type { ClickHouseClient } from "@clickhouse/client";
import { martTables } from "./marts/tables.js";
import { loadMigrations } from "./migrate.js";
import { assertDatabaseName } from "./sql.js";

export interface MartsReadiness {
  ready: boolean;
  migrationsApplied: number;
  migrationsExpected: number;
  /** Why the marts do not answer, when they do not. */
  reason: string | null;
}

/**
 * Ready = every migration of this build is recorded in the database and each mart table answers a
 * read. A missing database or table is "not ready", not an error.
 */
export async function martsReadiness(client: ClickHouseClient, database: string): Promise<MartsReadiness> {
  const db = assertDatabaseName(database);
  const expected = (await loadMigrations()).map((m) => m.version);
  const found = await client.query({
    query: `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'schema_migrations'`,
    query_params: { db },
    format: "JSONEachRow",
  });
  const [{ n } = { n: 0 }] = await found.json<{ n: number | string }>();
  if (Number(n) === 0)
    return {
      ready: false,
      migrationsApplied: 0,
      migrationsExpected: expected.length,
      reason: "no migrations applied",
    };
  const applied = await client.query({
    query: `SELECT DISTINCT version FROM ${db}.schema_migrations`,
    format: "JSONEachRow",
  });
  const versions = new Set(
    (await applied.json<{ version: number | string }>()).map((r) => Number(r.version)),
  );
  const done = expected.filter((v) => versions.has(v)).length;
  if (done < expected.length)
    return {
      ready: false,
      migrationsApplied: done,
      migrationsExpected: expected.length,
      reason: `${expected.length - done} migration(s) not applied`,
    };
  await client.query({
    query: martTables.map((t) => `SELECT 1 FROM ${db}.${t} LIMIT 1`).join(" UNION ALL "),
    format: "JSONEachRow",
  });
  return { ready: true, migrationsApplied: done, migrationsExpected: expected.length, reason: null };
}
