import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { waitUntilHealthy } from "../health.js";
import type { StackLayout } from "../layout.js";
import { isAlive, runningPid, startDaemon, stopDaemon } from "../processes.js";
import { findJdk } from "../tools.js";
import { assertPortFree, daemonOf, log4jConfig } from "./java-daemon.js";
import type { ComponentStatus } from "./status.js";

/** Single-node Kafka in KRaft mode (broker + controller in one JVM). */
const COMPONENT = "kafka";

interface KafkaPorts {
  kafka: number;
  kafkaController: number;
}

const kafkaHome = (layout: StackLayout): string => path.join(layout.installDir, "kafka");
const dataDir = (layout: StackLayout): string => path.join(layout.dataDir, "kafka");

function serverProperties(layout: StackLayout, ports: KafkaPorts): string {
  const file = path.join(dataDir(layout), "server.properties");
  mkdirSync(dataDir(layout), { recursive: true });
  writeFileSync(
    file,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${ports.kafkaController}`,
      `listeners=PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.kafkaController}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${ports.kafka}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      "inter.broker.listener.name=PLAINTEXT",
      `log.dirs=${path.join(dataDir(layout), "log")}`,
      "num.partitions=3",
      "offsets.topic.replication.factor=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=false",
      "log.retention.hours=-1",
      "",
    ].join("\n"),
  );
  return file;
}

export function kafkaBrokers(ports: KafkaPorts): string[] {
  return [`127.0.0.1:${ports.kafka}`];
}

async function brokerAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(
  layout: StackLayout,
  ports: KafkaPorts,
  options: { timeoutS: number; log: (line: string) => void },
): Promise<void> {
  const daemon = daemonOf(layout, COMPONENT);
  if (runningPid(daemon) !== undefined && (await brokerAnswers(kafkaBrokers(ports)))) return;
  await assertPortFree(daemon, ports.kafka);
  const jdk = findJdk(17);
  const classpath = `${path.join(kafkaHome(layout), "libs")}/*`;
  const properties = serverProperties(layout, ports);
  const log4j = `-Dlog4j2.configurationFile=${log4jConfig(layout)}`;
  if (!existsSync(path.join(dataDir(layout), "log", "meta.properties"))) {
    options.log("formatting Kafka KRaft storage");
    const clusterId =
      execFileSync(jdk.java, [log4j, "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"], {
        encoding: "utf8",
      })
        .trim()
        .split("\n")
        .pop() ?? "";
    execFileSync(
      jdk.java,
      [log4j, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", properties],
      {
        stdio: "ignore",
      },
    );
  }
  const pid = startDaemon(daemon, jdk.java, [
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    log4j,
    "-cp",
    classpath,
    "kafka.Kafka",
    properties,
  ]);
  await waitUntilHealthy(COMPONENT, () => brokerAnswers(kafkaBrokers(ports)), {
    timeoutS: options.timeoutS,
    logFile: daemon.logFile,
    alive: () => isAlive(pid),
  });
}

export const stopKafka = (layout: StackLayout): Promise<boolean> =>
  stopDaemon(daemonOf(layout, COMPONENT), 60_000);

export async function kafkaStatus(
  layout: StackLayout,
  ports: KafkaPorts,
  version: string,
): Promise<ComponentStatus> {
  const daemon = daemonOf(layout, COMPONENT);
  return {
    component: COMPONENT,
    version,
    endpoint: kafkaBrokers(ports).join(","),
    healthy: await brokerAnswers(kafkaBrokers(ports)),
    pid: runningPid(daemon),
    logFile: daemon.logFile,
  };
}
