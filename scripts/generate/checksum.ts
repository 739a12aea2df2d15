import type { PgEndpoint } from "../config.js";
import { connect } from "./db.js";
import { CRM_TABLES, PRIMARY_KEY, TELEMETRY_TABLES, type SourceTable } from "./source-tables.js";

export interface SourceDatabases {
  pg: PgEndpoint;
  crmDb: string;
  telemetryDb: string;
}

/** Runs `work` on a connection to each source database in turn, with the generated tables it holds. */
async function eachDatabase(
  opts: SourceDatabases,
  applicationName: string,
  work: (client: Awaited<ReturnType<typeof connect>>, tables: readonly SourceTable[]) => Promise<void>,
): Promise<void> {
  const databases: [string, readonly SourceTable[]][] = [
    [opts.crmDb, CRM_TABLES],
    [opts.telemetryDb, TELEMETRY_TABLES],
  ];
  for (const [database, tables] of databases) {
    const client = await connect(opts.pg, database, applicationName);
    try {
      await work(client, tables);
    } finally {
      await client.end();
    }
  }
}

/**
 * Per generated table, an md5 over all rows in primary-key order, computed in SQL. Rows are
 * hashed one by one first so the aggregate stays 32 bytes per row (a plain string_agg of row
 * text would hit PostgreSQL's 1 GB value limit on big tables). The session is pinned to UTC so
 * the text of timestamptz values does not depend on the server's time zone.
 */
export async function checksum(opts: SourceDatabases): Promise<Record<SourceTable, string>> {
  const sums: Partial<Record<SourceTable, string>> = {};
  await eachDatabase(opts, "bionicpro-checksum", async (client, tables) => {
    await client.query("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 1");
    for (const table of tables) {
      const { rows } = await client.query<{ sum: string }>(
        `SELECT coalesce(md5(string_agg(md5(t::text), '' ORDER BY t.${PRIMARY_KEY[table]})), md5('')) AS sum FROM ${table} t`,
      );
      sums[table] = rows[0]?.sum ?? "";
    }
  });
  return sums as Record<SourceTable, string>;
}

/** Rows in every generated table now (both databases). */
export async function rowCount(opts: SourceDatabases): Promise<number> {
  let rows = 0;
  await eachDatabase(opts, "bionicpro-row-count", async (client, tables) => {
    const sum = tables.map((t) => `(SELECT count(*) FROM ${t})`).join(" + ");
    const { rows: result } = await client.query<{ n: string }>(`SELECT ${sum} AS n`);
    rows += Number(result[0]?.n ?? 0);
  });
  return rows;
}
