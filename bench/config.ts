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

/**
 * Kafka table engine settings a bench run puts over its defaults (bench/pipeline.bench.ts), from
 * BENCH_KAFKA_ENGINE_SETTINGS="kafka_max_block_size=1048576,kafka_flush_interval_ms=7500"; numbers
 * stay numbers. The results file names the settings used.
 */
export function kafkaEngineOverrides(): Record<string, string | number> {
  const raw = process.env.BENCH_KAFKA_ENGINE_SETTINGS ?? "";
  const settings: Record<string, string | number> = {};
  for (const pair of raw.split(",").filter((p) => p.trim())) {
    const [name, value] = pair.split("=").map((p) => p.trim());
    if (!name || !/^kafka_\w+$/.test(name) || value === undefined || value === "") {
      throw new Error(`BENCH_KAFKA_ENGINE_SETTINGS: expected kafka_<setting>=<value>[,...], got "${pair}"`);
    }
    settings[name] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return settings;
}

/** Names of the API scale benchmark's own data set (databases, topics, group, data dir). */
export const SCALE_NAME = "benchapi";

/** The environment of the all-in-one process and `simulate` of the API scale benchmark (bench/api-scale.ts). */
export function scaleEnv(options: { apiPort: number; cache: boolean }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CRM_DB: `${SCALE_NAME}_crm`,
    TELEMETRY_DB: `${SCALE_NAME}_telemetry`,
    TOPIC_PREFIX: SCALE_NAME,
    CONSUMER_GROUP: `${SCALE_NAME}-consumers`,
    CLICKHOUSE_URL: "",
    CLICKHOUSE_PATH: path.join(repoRoot, ".state", "bench", SCALE_NAME, "chdb"),
    BIONICPRO_API_PORT: String(options.apiPort),
    BIONICPRO_API_LOG_LEVEL: "warn",
    // One token asks for everything: no per-subject limit in the way of the load generator.
    BIONICPRO_API_RATE_LIMIT_MAX: "1000000",
    BIONICPRO_API_REPORT_CACHE: String(options.cache),
  };
}
