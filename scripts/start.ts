import pg from "pg";
import { Kafka, logLevel } from "kafkajs";
import { pipelineStatus } from "../api/consumer-status.js";
import { startApi } from "../api/start.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { loadConsumerConfig } from "../consumers/src/config.js";
import { startPipelineHere, startPipelineThread } from "../consumers/src/runtime/thread.js";
import { loadScriptsConfig } from "./config.js";
import { groupLag } from "../consumers/src/lag.js";
import { consumerLog } from "../consumers/src/logging.js";
import { registerConnectorRestarts } from "../observability/connector-metrics.js";
import { createMetricsRegistry } from "../observability/registry.js";
import { generate } from "./generate/index.js";
import { loadStackConfig } from "./stack/config.js";
import { superviseConnectors } from "../connectors/apply.js";
import { sourceConnectorNames } from "../connectors/render.js";
import { applySourceConnectors, ensureSourceDatabases, stackUp } from "./stack/stack.js";

/**
 * `npm start`: the embedded default in one process. Brings the native stack up (if down), loads
 * demo data when the source databases are empty — before the connectors exist, so their initial
 * snapshot reads it once —, creates the connectors, applies ClickHouse migrations and runs the
 * consumers until Ctrl-C, printing progress. Every name (databases, topic prefix, ClickHouse
 * directory and database, consumer group) comes from the environment, so tests run this very file.
 */
const say = (line: string): void => console.log(`[start] ${line}`);
const stackLog = (line: string): void => console.log(`[stack] ${line}`);

const stack = loadStackConfig();
say("bringing the native stack up (npm run stack -- up)");
await stackUp(stack, { sourceConnectors: false, log: stackLog });
await ensureSourceDatabases(stack);

const crm = new pg.Client({ ...stack.pg, password: stack.pg.password, database: stack.crmDb });
await crm.connect();
const users = Number((await crm.query<{ n: string }>("SELECT count(*) AS n FROM crm_users")).rows[0]?.n);
await crm.end();
if (users === 0) {
  say(`${stack.crmDb} is empty: generating demo data (scale 1, seed 42)`);
  await generate({
    pg: stack.pg,
    crmDb: stack.crmDb,
    telemetryDb: stack.telemetryDb,
    scale: 1,
    seed: 42,
    progress: true,
  });
} else {
  say(`${stack.crmDb} has ${users} users: keeping the data`);
}
await applySourceConnectors(stack, stackLog);
// Kafka Connect leaves a failed Debezium task failed; this process restarts it (connectors/apply.ts).
const connectorNames = sourceConnectorNames(stack.topicPrefix);
const connectors = superviseConnectors(stack.connectUrl, connectorNames, { log: stackLog });

const config = loadConsumerConfig();
// One metrics registry for the process: the consumers' series and the API's, on the API's GET /metrics.
const metrics = createMetricsRegistry();
registerConnectorRestarts(metrics, connectorNames, connectors.restarts);
// The consumers in a worker thread (CONSUMER_THREAD=worker, the default): their chunk work never holds
// the API's event loop. Both threads open the same embedded data directory.
const consumers =
  config.thread === "worker"
    ? await startPipelineThread(config)
    : await startPipelineHere(config, consumerLog(config), metrics);
const kafka = new Kafka({ brokers: config.brokers, logLevel: logLevel.NOTHING });
// One admin for the lag /health and the progress line read (a connection each time cost a
// connect, a metadata round and a disconnect per read).
const admin = kafka.admin();
await admin.connect();
// The API reads on connections of its own to the same data directory (startApi's default,
// reportClient): a report never waits behind the consumers' insert (DESIGN §7).
const api = await startApi({
  consumerStatus: pipelineStatus(consumers, async () => {
    const { end, committed } = await groupLag(admin, config.topicPrefix, config.group);
    return end - committed;
  }),
  // The live stream hears every chunk the consumers apply, in this process (no polling).
  appliedChunks: consumers.applied,
  metrics,
  moreMetrics: consumers.metrics,
});
const owner = DEMO_USERS.owner1;
say(
  `dashboard ${api.dashboardUrl} — log in as ${owner.username} / ${owner.password} (CRM user ${owner.crmUserId}; more in README "Demo logins")`,
);
say(
  `reports API ${api.url} (OpenAPI ${api.openApiUrl}, Swagger UI ${api.docsUrl}, Prometheus ${api.url}/metrics)`,
);
say(
  "running; Ctrl-C stops. Live changes: `npm run simulate -- --rate 100` in another terminal (the dashboard follows them)",
);
const progress = setInterval(() => {
  void groupLag(admin, config.topicPrefix, config.group)
    .then(({ end, committed }) => {
      const { records, chunks, deadLetters } = consumers.stats;
      say(
        `applied ${records} records in ${chunks} chunks, lag ${end - committed}, dead letters ${deadLetters}`,
      );
    })
    .catch(() => undefined);
}, 10_000);

// Replay in this process (the embedded data directory is open here only): `kill -USR2 <pid>`. The
// consumers keep applying and the API keeps answering; docs/replay.md.
let replaying = false;
process.on("SIGUSR2", () => {
  if (replaying) return say("SIGUSR2: a replay is already running");
  replaying = true;
  const scripts = loadScriptsConfig();
  say("SIGUSR2: replaying the marts from Kafka into a shadow database");
  void consumers
    .replay({ pg: scripts.pg, crmDb: scripts.crmDb, telemetryDb: scripts.telemetryDb })
    .then((r) => say(`replay ${r.runId}: ${r.records} record(s) at ${r.changesPerSecond}/s, swapped`))
    .catch((error: unknown) =>
      say(`replay failed (send SIGUSR2 again to resume): ${(error as Error).message}`),
    )
    .finally(() => {
      replaying = false;
    });
});
say(`replay: kill -USR2 ${process.pid}`);

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  clearInterval(progress);
  say(
    `${signal}: stopping the API and the consumers (the stack keeps running; npm run stack -- down stops it)`,
  );
  await connectors.stop();
  await api.close();
  await consumers.close();
  await admin.disconnect();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
const error = await consumers.failed;
say(`consumers failed: ${error.message}`);
clearInterval(progress);
await connectors.stop();
await api.close().catch(() => undefined);
await consumers.close().catch(() => undefined);
await admin.disconnect().catch(() => undefined);
process.exit(1);
