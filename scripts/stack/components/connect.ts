import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { PgEndpoint } from "../../config.js";
import { waitUntilHealthy } from "../health.js";
import type { StackLayout } from "../layout.js";
import { isAlive, runningPid, startDaemon, stopDaemon } from "../processes.js";
import { findJdk } from "../tools.js";
import { assertPortFree, daemonOf, log4jConfig } from "./java-daemon.js";
import type { ComponentStatus } from "./status.js";

/** Kafka Connect distributed worker with the Debezium PostgreSQL plugin and the Apicurio Avro converter. */
const COMPONENT = "connect";
const DEBEZIUM_CLASS = "io.debezium.connector.postgresql.PostgresConnector";

interface ConnectPorts {
  kafka: number;
  connect: number;
}

function workerProperties(layout: StackLayout, ports: ConnectPorts): string {
  const dir = path.join(layout.dataDir, "connect");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "worker.properties");
  writeFileSync(
    file,
    [
      `bootstrap.servers=127.0.0.1:${ports.kafka}`,
      "group.id=bionicpro-connect",
      "config.storage.topic=_connect-configs",
      "offset.storage.topic=_connect-offsets",
      "status.storage.topic=_connect-status",
      "config.storage.replication.factor=1",
      "offset.storage.replication.factor=1",
      "status.storage.replication.factor=1",
      "key.converter=org.apache.kafka.connect.json.JsonConverter",
      "value.converter=org.apache.kafka.connect.json.JsonConverter",
      `listeners=http://127.0.0.1:${ports.connect}`,
      `rest.advertised.host.name=127.0.0.1`,
      `plugin.path=${path.join(layout.installDir, "connect", "plugins")}`,
      // Plugins found by their ServiceLoader manifests, not a reflective scan of every jar (the install
      // writes the manifests the Apicurio converter lacks: scripts/stack/install.ts, connect-manifests).
      "plugin.discovery=service_load",
      "offset.flush.interval.ms=1000",
      // No duplicates from the worker's own produce retries (Debezium's re-emissions after a task
      // restart are the consumers' to drop: consumers/src/runtime/reemission.ts).
      "producer.enable.idempotence=true",
      // One worker: when it dies, its restart takes the tasks back at once instead of waiting up to
      // five minutes for the dead member to return (incremental cooperative rebalancing).
      "scheduled.rebalance.max.delay.ms=0",
      "topic.creation.enable=true",
      // Secrets (the database password) are resolved from the worker's environment at runtime.
      "config.providers=env",
      "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
      "",
    ].join("\n"),
  );
  return file;
}

export const connectUrl = (ports: ConnectPorts): string => `http://127.0.0.1:${ports.connect}`;

async function workerVersion(ports: ConnectPorts): Promise<string | undefined> {
  try {
    const root = await fetch(connectUrl(ports), { signal: AbortSignal.timeout(3000) });
    if (!root.ok) return undefined;
    const { version } = (await root.json()) as { version: string };
    const plugins = await fetch(`${connectUrl(ports)}/connector-plugins`, {
      signal: AbortSignal.timeout(3000),
    });
    const list = (await plugins.json()) as { class: string; version: string }[];
    const debezium = list.find((p) => p.class === DEBEZIUM_CLASS);
    return debezium ? `${version}/dbz ${debezium.version}` : undefined;
  } catch {
    return undefined;
  }
}

export async function startConnect(
  layout: StackLayout,
  ports: ConnectPorts,
  pg: PgEndpoint,
  options: { timeoutS: number },
): Promise<void> {
  const daemon = daemonOf(layout, COMPONENT);
  if (runningPid(daemon) !== undefined && (await workerVersion(ports)) !== undefined) return;
  await assertPortFree(daemon, ports.connect);
  const jdk = findJdk(17);
  const extraEnv = { BIONICPRO_PG_PASSWORD: pg.password ?? "" };
  const pid = startDaemon(
    daemon,
    jdk.java,
    [
      "-Xms256m",
      "-Xmx1g",
      "-XX:+UseG1GC",
      "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${log4jConfig(layout)}`,
      "-cp",
      `${path.join(layout.installDir, "connect", "libs")}/*`,
      "org.apache.kafka.connect.cli.ConnectDistributed",
      workerProperties(layout, ports),
    ],
    { extraEnv },
  );
  await waitUntilHealthy(COMPONENT, async () => (await workerVersion(ports)) !== undefined, {
    timeoutS: options.timeoutS,
    logFile: daemon.logFile,
    alive: () => isAlive(pid),
  });
}

export const stopConnect = (layout: StackLayout): Promise<boolean> =>
  stopDaemon(daemonOf(layout, COMPONENT), 60_000);

export async function connectStatus(layout: StackLayout, ports: ConnectPorts): Promise<ComponentStatus> {
  const daemon = daemonOf(layout, COMPONENT);
  const version = await workerVersion(ports);
  return {
    component: COMPONENT,
    version: version ?? "-",
    endpoint: connectUrl(ports).replace("http://", ""),
    healthy: version !== undefined,
    pid: runningPid(daemon),
    logFile: daemon.logFile,
  };
}
