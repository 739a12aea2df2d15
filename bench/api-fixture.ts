import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadApiConfig } from "../api/config.js";
import { startApi } from "../api/start.js";
import { createClickHouseClient } from "../clickhouse/client.js";
import { migrate } from "../clickhouse/migrate.js";
import { TestIssuer } from "../test/harness/jwt-issuer.js";
import { fixtureClock, loadReportFixture } from "../test/harness/report-fixture.js";

/**
 * `npm run bench:api:fixture`: the API over the small hand-made report fixture (test/harness/
 * report-fixture.ts) in a temporary embedded ClickHouse, with a local JWKS server standing in for
 * Keycloak. Prints one JSON line — url, an owner token for user 1 (valid one hour), month, date —
 * for bench/api.bench.ts, then serves until SIGINT/SIGTERM.
 */
const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
const dir = mkdtempSync(path.join(os.tmpdir(), "bionicpro-api-bench-"));
const database = "api_bench";
const issuer = await new TestIssuer().start();
const writer = createClickHouseClient({ path: dir, database });
const api = await (async () => {
  try {
    await migrate(writer, database);
    await loadReportFixture(writer, database);
    const config = loadApiConfig({
      CLICKHOUSE_PATH: dir,
      CLICKHOUSE_DATABASE: database,
      BIONICPRO_API_ISSUER: issuer.issuer,
      BIONICPRO_API_PORT: values.port,
      BIONICPRO_API_LOG_LEVEL: "warn",
      BIONICPRO_API_RATE_LIMIT_MAX: "1000000",
    });
    return await startApi({ config, clock: () => fixtureClock });
  } catch (error) {
    await writer.close();
    await issuer.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
})();
const exp = Math.floor(Date.now() / 1000) + 3600;
const token = issuer.mint(issuer.claims("owner-1", ["prosthesis_owner"], { crm_user_id: 1, exp }));
console.log(JSON.stringify({ url: api.url, token, user: 1, month: "2024-02", date: "2024-02-02" }));

const stop = async () => {
  await api.close();
  await writer.close();
  await issuer.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
