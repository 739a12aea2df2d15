import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { StackError } from "../errors.js";
import { portInUse } from "../health.js";
import { logFile, pidFile, type StackLayout } from "../layout.js";
import { runningPid, type Daemon } from "../processes.js";

export function daemonOf(layout: StackLayout, name: string): Daemon {
  return { name, pidFile: pidFile(layout, name), logFile: logFile(layout, name) };
}

/** Refuses to start over a port someone else holds (a stale process, another stack). */
export async function assertPortFree(daemon: Daemon, port: number): Promise<void> {
  if (runningPid(daemon) === undefined && (await portInUse(port))) {
    throw new StackError(
      "STACK_PORT_IN_USE",
      `port ${port} is taken by another process; stop it or choose another port (see README, "Ports")`,
      { component: daemon.name },
    );
  }
}

/** Log4j2 configuration shared by Kafka and Connect: INFO to stdout (the component's log file). */
export function log4jConfig(layout: StackLayout): string {
  const file = path.join(layout.dataDir, "log4j2.properties");
  mkdirSync(layout.dataDir, { recursive: true });
  writeFileSync(
    file,
    [
      "status = warn",
      "appender.out.type = Console",
      "appender.out.name = STDOUT",
      "appender.out.layout.type = PatternLayout",
      "appender.out.layout.pattern = [%d{ISO8601}] %p %m (%c)%n",
      "rootLogger.level = INFO",
      "rootLogger.appenderRef.out.ref = STDOUT",
      "logger.reflections.name = org.reflections",
      "logger.reflections.level = ERROR",
      "",
    ].join("\n"),
  );
  return file;
}
