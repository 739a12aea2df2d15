import path from "node:path";
import { repoRoot } from "../scripts/config.js";

/**
 * Consumer settings a bench run may override from the environment (the `CONSUMER_*` variables of
 * consumers/src/config.ts, e.g. `CONSUMER_CHUNK_MAX_WAIT_MS=200 npm run bench`); the results file
 * names them.
 */
export function consumerOverrides(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith("CONSUMER_") && entry[1] !== undefined,
    ),
  );
}

/** Names of the API scale benchmark's own data set (databases, topics, group, data dir). */
export const SCALE_NAME = "benchapi";

/** Names of the freshness benchmark's own data set (bench/freshness.bench.ts). */
export const FRESHNESS_NAME = "benchfresh";

/**
 * The environment of an all-in-one process (`npm start`) and `simulate` on the data set called
 * `name`: its own databases, topic prefix, consumer group and embedded ClickHouse directory.
 */
export function allInOneEnv(name: string, options: { apiPort: number; cache: boolean }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CRM_DB: `${name}_crm`,
    TELEMETRY_DB: `${name}_telemetry`,
    TOPIC_PREFIX: name,
    CONSUMER_GROUP: `${name}-consumers`,
    CLICKHOUSE_URL: "",
    CLICKHOUSE_PATH: path.join(repoRoot, ".state", "bench", name, "chdb"),
    BIONICPRO_API_PORT: String(options.apiPort),
    BIONICPRO_API_LOG_LEVEL: "warn",
    // One token asks for everything: no per-subject limit in the way of the load generator.
    BIONICPRO_API_RATE_LIMIT_MAX: "1000000",
    BIONICPRO_API_REPORT_CACHE: String(options.cache),
  };
}

/** The environment of the all-in-one process and `simulate` of the API scale benchmark (bench/api-scale.ts). */
export function scaleEnv(options: { apiPort: number; cache: boolean }): NodeJS.ProcessEnv {
  return allInOneEnv(SCALE_NAME, options);
}
