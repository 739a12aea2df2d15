import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { loadScriptsConfig, repoRoot, type PgEndpoint } from "../../scripts/config.js";
import type { SourceDatabases } from "../../scripts/generate/checksum.js";

/**
 * Throwaway source databases for integration tests. The endpoint comes from the scripts config
 * (PGHOST/PGPORT/PGUSER/PGPASSWORD; default the project's cluster on 127.0.0.1:55432).
 */

export type { SourceDatabases };

const DDL = {
  crm: path.join(repoRoot, "postgres", "001_crm_db.sql"),
  telemetry: path.join(repoRoot, "postgres", "002_telemetry_db.sql"),
};

export function testPg(): PgEndpoint {
  return loadScriptsConfig().pg;
}

async function withDatabase<T>(
  endpoint: PgEndpoint,
  database: string,
  work: (client: pg.Client) => Promise<T>,
) {
  const client = new pg.Client({ ...endpoint, password: endpoint.password, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates crm_db_<runId> and telemetry_db_<runId> and applies the project's DDL to them. */
export async function createSourceDatabases(runId: string): Promise<SourceDatabases> {
  if (!/^[a-z0-9_]+$/.test(runId)) throw new Error(`runId must match [a-z0-9_]+, got "${runId}"`);
  const endpoint = testPg();
  const dbs: SourceDatabases = {
    pg: endpoint,
    crmDb: `crm_db_${runId}`,
    telemetryDb: `telemetry_db_${runId}`,
  };
  await withDatabase(endpoint, "postgres", async (admin) => {
    for (const name of [dbs.crmDb, dbs.telemetryDb]) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
    }
  });
  // The DDL files are plain multi-statement scripts; the simple query protocol runs them whole.
  await withDatabase(endpoint, dbs.crmDb, async (c) => c.query(await readFile(DDL.crm, "utf8")));
  await withDatabase(endpoint, dbs.telemetryDb, async (c) => c.query(await readFile(DDL.telemetry, "utf8")));
  return dbs;
}

export async function dropSourceDatabases(dbs: SourceDatabases): Promise<void> {
  await withDatabase(dbs.pg, "postgres", async (admin) => {
    for (const name of [dbs.crmDb, dbs.telemetryDb])
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}
