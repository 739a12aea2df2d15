import { rmSync } from "node:fs";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ensureSourceTopics, sourceTopicSpecs } from "../../connectors/topics.js";
import { connectorName, renderConnectorConfig, slotNameFor } from "../../connectors/render.js";
import { putConnector, waitForConnectorRunning } from "../../connectors/apply.js";
import type { SourceName } from "../../connectors/sources.js";
import { loadRealm } from "../../keycloak/realm.js";
import { connectStatus, startConnect, stopConnect } from "./components/connect.js";
import { kafkaStatus, startKafka, stopKafka } from "./components/kafka.js";
import { keycloakStatus, startKeycloak, stopKeycloak } from "./components/keycloak.js";
import {
  applyDdl,
  DDL_FILES,
  ensureDatabase,
  postgresStatus,
  REGISTRY_DB,
  startPostgres,
  stopPostgres,
} from "./components/postgres.js";
import { registryStatus, startRegistry, stopRegistry } from "./components/registry.js";
import { daemonOf } from "./components/java-daemon.js";
import type { ComponentStatus } from "./components/status.js";
import { killDaemon } from "./processes.js";
import type { StackConfig } from "./config.js";
import { installStack } from "./install.js";
import { ensureHostPackages } from "./tools.js";
import { stackLayout } from "./layout.js";
import { stackVersions } from "./versions.js";

type Log = (line: string) => void;

/** The native stack's components, in start order. */
export const STACK_COMPONENTS = ["postgres", "kafka", "registry", "connect", "keycloak"] as const;
export type StackComponent = (typeof STACK_COMPONENTS)[number];

async function timed<T>(log: Log, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  log(`${what} ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

/** Creates or updates the Debezium connector of one source database and waits until it runs. */
export async function applySourceConnector(
  config: StackConfig,
  source: SourceName,
  options: {
    dbName: string;
    topicPrefix: string;
    slotName: string;
    heartbeatIntervalMs?: number;
    /** Connector settings on top of the template (tests: e.g. snapshot.delay.ms). */
    overrides?: Record<string, string>;
    /** Where a restart of a connector found FAILED is told. */
    log?: Log;
  },
): Promise<string> {
  const name = connectorName(options.topicPrefix, source);
  const connectorConfig = renderConnectorConfig({
    source,
    dbHost: config.connectView.pgHost,
    dbPort: config.connectView.pgPort,
    dbUser: config.pg.user,
    dbName: options.dbName,
    topicPrefix: options.topicPrefix,
    slotName: options.slotName,
    registryUrl: config.connectView.registryUrl,
    topicPartitions: config.topicPartitions,
    factRetentionMs: config.factRetentionMs,
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
  });
  const admin = new Kafka({ brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await ensureSourceTopics(
      admin,
      sourceTopicSpecs(options.topicPrefix, config.topicPartitions, config.factRetentionMs),
    );
  } finally {
    await admin.disconnect();
  }
  const url = config.connectUrl;
  await putConnector(url, name, { ...connectorConfig, ...options.overrides });
  await waitForConnectorRunning(url, name, 120_000, options.log);
  return name;
}

/** The replication slot of a source's connector (connectors/render.ts; the metrics read its lag too). */
export { slotNameFor };

export interface StackUpOptions {
  /**
   * Start only these (each one expects what it depends on to run already: registry needs postgres,
   * connect needs kafka and registry). Source connectors are created only when every component is.
   * @default every component
   */
  components?: readonly StackComponent[];
  /** Create the source databases and their connectors (the product's own pipeline). @default true */
  sourceConnectors?: boolean;
  log: Log;
}

const SOURCE_DATABASES = (config: StackConfig) =>
  [
    ["crm", config.crmDb],
    ["telemetry", config.telemetryDb],
  ] as const;

/** Creates the source databases if missing and applies their DDL (idempotent). */
export async function ensureSourceDatabases(config: StackConfig): Promise<void> {
  for (const [source, dbName] of SOURCE_DATABASES(config)) {
    await ensureDatabase(config.pg, dbName);
    await applyDdl(config.pg, dbName, DDL_FILES[source]);
  }
}

/** Creates or updates both Debezium connectors and waits until they run. */
export async function applySourceConnectors(config: StackConfig, log: Log): Promise<void> {
  for (const [source, dbName] of SOURCE_DATABASES(config)) {
    const name = await applySourceConnector(config, source, {
      dbName,
      topicPrefix: config.topicPrefix,
      slotName: slotNameFor(config.topicPrefix, source),
      log,
    });
    log(`connector ${name}: ${dbName} -> ${config.topicPrefix}.${source}.* (RUNNING)`);
  }
}

/** Idempotent: installs what is missing, starts what is down, leaves running parts alone. */
export async function stackUp(config: StackConfig, options: StackUpOptions): Promise<void> {
  const { log } = options;
  const components = options.components ?? STACK_COMPONENTS;
  const selected = (component: StackComponent): boolean => components.includes(component);
  const layout = stackLayout(config.stateDir);
  const timeoutS = config.healthTimeoutS;
  const started = Date.now();
  ensureHostPackages(log);
  await timed(log, "install", () => installStack(layout, components, log));
  if (selected("postgres")) {
    await timed(log, `postgres on ${config.pg.host}:${config.pg.port}`, async () => {
      await startPostgres(layout, config.pg, { timeoutS, log });
      await ensureDatabase(config.pg, REGISTRY_DB);
    });
  }
  if (selected("kafka")) {
    await timed(log, `kafka on 127.0.0.1:${config.ports.kafka}`, () =>
      startKafka(layout, config.ports, { timeoutS, log }),
    );
  }
  if (selected("registry")) {
    await timed(log, `registry on 127.0.0.1:${config.ports.registry}`, () =>
      startRegistry(layout, config.ports, config.pg, { timeoutS, java21Home: config.java21Home }),
    );
  }
  if (selected("connect")) {
    await timed(log, `connect on 127.0.0.1:${config.ports.connect}`, () =>
      startConnect(layout, config.ports, config.pg, { timeoutS }),
    );
  }
  if (selected("keycloak")) {
    await timed(log, `keycloak on 127.0.0.1:${config.ports.keycloak}`, () =>
      startKeycloak(layout, config.ports, {
        timeoutS,
        log,
        version: stackVersions().keycloak,
        admin: config.keycloakAdmin,
        realm: loadRealm(),
      }),
    );
  }
  if ((options.sourceConnectors ?? true) && STACK_COMPONENTS.every(selected)) {
    await timed(log, "source databases and connectors", async () => {
      await ensureSourceDatabases(config);
      await applySourceConnectors(config, log);
    });
  }
  log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/** Stops what this state dir started (pid files), in reverse start order; never another stack's processes. */
export async function stackDown(
  config: StackConfig,
  options: { components?: readonly StackComponent[]; purge?: boolean; log: Log },
): Promise<void> {
  const layout = stackLayout(config.stateDir);
  const components = options.components ?? STACK_COMPONENTS;
  const stops: Record<StackComponent, () => Promise<boolean>> = {
    keycloak: () => stopKeycloak(layout),
    connect: () => stopConnect(layout),
    registry: () => stopRegistry(layout),
    kafka: () => stopKafka(layout),
    postgres: () => stopPostgres(layout),
  };
  for (const name of [...STACK_COMPONENTS].reverse()) {
    if (!components.includes(name)) continue;
    options.log(`${name}: ${(await stops[name]()) ? "stopped" : "was not running"}`);
  }
  if (options.purge) {
    // Named components lose only their own data dir (the registry's schemas live in PostgreSQL).
    const purged = options.components
      ? components.map((name) => path.join(layout.dataDir, name))
      : [layout.dataDir];
    for (const dir of purged) rmSync(dir, { recursive: true, force: true });
    options.log(`removed data in ${purged.join(", ")} (downloads kept in ${layout.installDir})`);
  }
}

/**
 * Stops one running component — cleanly, or as a crash (`kill`: SIGKILL; PostgreSQL: immediate
 * shutdown, recovered at start) — and starts it again, waiting for its health check. Kafka Connect
 * resumes its connectors from their stored offsets by itself.
 */
export async function restartComponent(
  config: StackConfig,
  component: StackComponent,
  options: { kill: boolean; log: Log },
): Promise<void> {
  if (options.kill) {
    const layout = stackLayout(config.stateDir);
    const killed =
      component === "postgres"
        ? await stopPostgres(layout, "immediate")
        : await killDaemon(daemonOf(layout, component));
    options.log(`${component}: ${killed ? "killed" : "was not running"}`);
  } else {
    await stackDown(config, { components: [component], log: options.log });
  }
  await stackUp(config, { components: [component], sourceConnectors: false, log: options.log });
}

export async function stackStatus(config: StackConfig): Promise<ComponentStatus[]> {
  const layout = stackLayout(config.stateDir);
  const versions = stackVersions();
  return [
    await postgresStatus(layout, config.pg),
    await kafkaStatus(layout, config.ports, versions.kafka),
    await registryStatus(layout, config.ports, `apicurio ${versions.apicurio}`),
    await connectStatus(layout, config.ports),
    await keycloakStatus(layout, config.ports, versions.keycloak),
  ];
}
