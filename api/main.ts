import { loadApiConfig } from "./config.js";
import { startApi } from "./start.js";

/**
 * `npm run api`: the API alone. Meant for server mode (CLICKHOUSE_URL); embedded it opens the data
 * directory itself, so no other process (consumers, npm start) may have it open.
 */
const config = loadApiConfig();
const mode = config.clickhouse.url
  ? `ClickHouse server ${new URL(config.clickhouse.url).host}`
  : `embedded ClickHouse at ${config.clickhouse.path} (no other process may use it)`;
const api = await startApi({ config });
console.log(`[api] ${mode}, database ${config.clickhouse.database}`);
console.log(`[api] listening on ${api.url} — OpenAPI ${api.openApiUrl}, docs ${api.docsUrl}`);
console.log(
  `[api] tokens: issuer ${config.auth.issuer}, audience ${config.auth.audience}, keys ${config.auth.jwksUrl}`,
);

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(`[api] ${signal}: closing`);
  await api.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
