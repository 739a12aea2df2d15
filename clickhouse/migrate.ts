import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonRows } from "./insert.js";
import { splitStatements } from "./split-statements.js";
import { assertDatabaseName, withDatabase } from "./sql.js";

export const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  sql: string;
}

export type MigrationErrorCode =
  "MIGRATION_BAD_FILE_NAME" | "MIGRATION_DUPLICATE_VERSION" | "MIGRATION_CHANGED";

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

const fileName = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** The `.sql` files of `dir` in name order, with their text (the migrations, not yet checked). */
export function migrationFiles(dir = migrationsDir): { file: string; sql: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((file) => ({ file, sql: readFileSync(path.join(dir, file), "utf8") }));
}

/** Reads `NNN_name.sql` files in version order. */
export async function loadMigrations(dir = migrationsDir): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const { file, sql } of migrationFiles(dir)) {
    const match = fileName.exec(file);
    if (!match) throw new MigrationError("MIGRATION_BAD_FILE_NAME", `${file}: expected NNN_name.sql`);
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) {
      throw new MigrationError("MIGRATION_DUPLICATE_VERSION", `${file}: version ${version} appears twice`);
    }
    const checksum = createHash("sha256").update(sql).digest("hex");
    migrations.push({ version, name: match[2] ?? file, checksum, sql });
  }
  return migrations;
}

async function appliedMigrations(client: ClickHouseClient, db: string): Promise<Map<number, string>> {
  const result = await client.query({
    query: `SELECT version, argMax(checksum, applied_at) AS checksum FROM ${db}.schema_migrations GROUP BY version`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ version: number | string; checksum: string }>();
  return new Map(rows.map((r) => [Number(r.version), r.checksum]));
}

/**
 * Creates `database` if needed and applies every migration not yet recorded in its
 * `schema_migrations` table, in order, one statement at a time (a server's HTTP interface takes
 * one statement per request). Statements are idempotent (`IF NOT EXISTS`), so a run interrupted
 * inside a file is completed by the next run. An applied file whose content changed is an error:
 * add a new migration instead.
 */
export async function migrate(
  client: ClickHouseClient,
  database: string,
  options: { dir?: string; onApplied?: (m: Migration) => void } = {},
): Promise<Migration[]> {
  const db = assertDatabaseName(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'))
      ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  });
  const applied = await appliedMigrations(client, db);
  const done: Migration[] = [];
  for (const migration of await loadMigrations(options.dir)) {
    const recorded = applied.get(migration.version);
    if (recorded !== undefined) {
      if (recorded !== migration.checksum) {
        throw new MigrationError(
          "MIGRATION_CHANGED",
          `migration ${migration.version}_${migration.name} changed after it was applied to ${db}; add a new migration instead`,
        );
      }
      continue;
    }
    for (const statement of splitStatements(withDatabase(migration.sql, db))) {
      await client.command({ query: statement });
    }
    await insertJsonRows(
      client,
      `${db}.schema_migrations`,
      [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      "",
    );
    done.push(migration);
    options.onApplied?.(migration);
  }
  return done;
}
