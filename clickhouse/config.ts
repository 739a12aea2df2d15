import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClickHouseOptions } from "./client.js";

/**
 * ClickHouse settings of a process (consumers, API, operator CLI): read from the environment once,
 * here and nowhere else.
 *
 * - `CLICKHOUSE_URL`: a server over HTTP (`http://user:password@host:8123`). When set, `path` is ignored.
 *   @default unset (embedded chdb)
 * - `CLICKHOUSE_PATH`: data directory of the embedded engine. One process at a time may open it.
 *   @default <repo>/.state/clickhouse
 * - `CLICKHOUSE_DATABASE`: database holding the marts. @default reports
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const defaultClickHouseDatabase = "reports";

export function loadClickHouseConfig(env: NodeJS.ProcessEnv = process.env): ClickHouseOptions {
  const url = env.CLICKHOUSE_URL?.trim();
  const database = env.CLICKHOUSE_DATABASE?.trim() || defaultClickHouseDatabase;
  if (url) return { url, database };
  return {
    path: path.resolve(env.CLICKHOUSE_PATH?.trim() || path.join(repoRoot, ".state", "clickhouse")),
    database,
  };
}
