import path from "node:path";
import type { PgEndpoint } from "../../config.js";
import { httpOk, waitUntilHealthy } from "../health.js";
import type { StackLayout } from "../layout.js";
import { isAlive, runningPid, startDaemon, stopDaemon } from "../processes.js";
import { findJdk } from "../tools.js";
import { assertPortFree, daemonOf } from "./java-daemon.js";
import { REGISTRY_DB } from "./postgres.js";
import type { ComponentStatus } from "./status.js";

/**
 * Apicurio Registry 3 (Quarkus fast-jar) with SQL storage in the project's PostgreSQL: schema ids
 * written into Kafka records must resolve after any restart. Confluent-compatible API at
 * /apis/ccompat/v7 (consumers), Apicurio v2 API at /apis/registry/v2 (the Connect Avro converter).
 */
const COMPONENT = "registry";

/**
 * Seconds a registry connection may stay without a byte either way before the registry closes it
 * (Quarkus' default is 30 minutes). The Connect converter's HTTP client (JDK HttpClient, no request
 * timeout and no option for one) was seen parked for good in a schema registration the registry had
 * logged as answered; the task woke with an error only when the connection closed. Closed early, the
 * task fails (the converter's serde retries only rate limits, whatever `retry-count` says) and the
 * connector supervisor restarts it (connectors/apply.ts). Every registry call takes milliseconds, so
 * a short limit costs nothing but a reconnect.
 */
const REGISTRY_IDLE_TIMEOUT_S = 15;

interface RegistryPorts {
  registry: number;
  registryManagement: number;
}

export const registryUrls = (ports: RegistryPorts) => ({
  ccompat: `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`,
  apicurioV2: `http://127.0.0.1:${ports.registry}/apis/registry/v2`,
  health: `http://127.0.0.1:${ports.registryManagement}/health/ready`,
});

async function registryAnswers(ports: RegistryPorts): Promise<boolean> {
  const urls = registryUrls(ports);
  return (await httpOk(urls.health)) && (await httpOk(`${urls.ccompat}/subjects`));
}

export async function startRegistry(
  layout: StackLayout,
  ports: RegistryPorts,
  pg: PgEndpoint,
  options: { timeoutS: number; java21Home: string | undefined },
): Promise<void> {
  const daemon = daemonOf(layout, COMPONENT);
  if (runningPid(daemon) !== undefined && (await registryAnswers(ports).catch(() => false))) return;
  await assertPortFree(daemon, ports.registry);
  const jdk = findJdk(21, options.java21Home);
  const extraEnv: Record<string, string> =
    pg.password === undefined ? {} : { APICURIO_DATASOURCE_PASSWORD: pg.password };
  const pid = startDaemon(
    daemon,
    jdk.java,
    [
      "-Xms128m",
      "-Xmx512m",
      `-Dquarkus.http.host=127.0.0.1`,
      `-Dquarkus.http.port=${ports.registry}`,
      `-Dquarkus.management.host=127.0.0.1`,
      `-Dquarkus.management.port=${ports.registryManagement}`,
      `-Dquarkus.http.idle-timeout=${REGISTRY_IDLE_TIMEOUT_S}S`,
      "-Dapicurio.storage.kind=sql",
      "-Dapicurio.storage.sql.kind=postgresql",
      `-Dapicurio.datasource.url=jdbc:postgresql://${pg.host}:${pg.port}/${REGISTRY_DB}`,
      `-Dapicurio.datasource.username=${pg.user}`,
      // A PostgreSQL restart leaves the pool's connections dead: check each one as it is borrowed
      // (and idle ones every 5 s), or the converters' next registry call fails and Connect kills
      // the connector task. Four connections are plenty for two connectors.
      "-Dquarkus.datasource.postgresql.jdbc.validate-on-borrow=true",
      "-Dquarkus.datasource.postgresql.jdbc.background-validation-interval=5S",
      "-Dapicurio.datasource.jdbc.initial-size=4",
      "-Dapicurio.datasource.jdbc.min-size=4",
      "-jar",
      path.join(layout.installDir, "apicurio", "quarkus-run.jar"),
    ],
    { extraEnv },
  );
  await waitUntilHealthy(COMPONENT, () => registryAnswers(ports), {
    timeoutS: options.timeoutS,
    logFile: daemon.logFile,
    alive: () => isAlive(pid),
  });
}

export const stopRegistry = (layout: StackLayout): Promise<boolean> =>
  stopDaemon(daemonOf(layout, COMPONENT));

export async function registryStatus(
  layout: StackLayout,
  ports: RegistryPorts,
  version: string,
): Promise<ComponentStatus> {
  const daemon = daemonOf(layout, COMPONENT);
  return {
    component: COMPONENT,
    version,
    endpoint: registryUrls(ports).ccompat.replace("http://", ""),
    healthy: await registryAnswers(ports).catch(() => false),
    pid: runningPid(daemon),
    logFile: daemon.logFile,
  };
}
