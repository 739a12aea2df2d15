import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { formatStatus } from "./components/status.js";
import { loadStackConfig } from "./config.js";
import { StackError } from "./errors.js";
import { logFile, stackLayout } from "./layout.js";
import {
  restartComponent,
  RESTARTABLE,
  stackDown,
  stackStatus,
  stackUp,
  type RestartableComponent,
} from "./stack.js";

const COMPONENTS = ["postgres", "kafka", "registry", "connect"] as const;

const say = (line: string): void => console.log(`[stack] ${line}`);

export function registerStackCommands(program: Command): void {
  const stack = program
    .command("stack")
    .description("the native infrastructure: PostgreSQL, Kafka, Apicurio Registry, Kafka Connect + Debezium");

  stack
    .command("up")
    .description("install (Maven Central, cached) and start every component, then create the CDC connectors")
    .option("--no-connectors", "start the infrastructure only, without source databases and connectors")
    .action(async (options: { connectors: boolean }) => {
      const config = loadStackConfig();
      await stackUp(config, { sourceConnectors: options.connectors, log: say });
      console.log(formatStatus(await stackStatus(config)));
    });

  stack
    .command("down")
    .description("stop every component (data kept; replication slots resume on the next up)")
    .option("--purge", "also delete all data (databases, topics, schemas)")
    .action(async (options: { purge?: boolean }) => {
      await stackDown(loadStackConfig(), { purge: options.purge ?? false, log: say });
    });

  stack
    .command("restart")
    .description("stop one component (cleanly, or as a crash with --kill) and start it again")
    .argument("<component>", `one of ${RESTARTABLE.join(", ")}`)
    .option("--kill", "SIGKILL it (PostgreSQL: immediate shutdown), as a crash would")
    .action(async (component: string, options: { kill?: boolean }) => {
      if (!(RESTARTABLE as readonly string[]).includes(component)) {
        throw new StackError(
          "STACK_BAD_INPUT",
          `unknown component "${component}"; choose one of ${RESTARTABLE.join(", ")}`,
        );
      }
      await restartComponent(loadStackConfig(), component as RestartableComponent, {
        kill: options.kill ?? false,
        log: say,
      });
    });

  stack
    .command("status")
    .description("each component with version, endpoint, health, pid, memory and log file")
    .action(async () => {
      const rows = await stackStatus(loadStackConfig());
      console.log(formatStatus(rows));
      if (rows.some((row) => !row.healthy)) process.exitCode = 1;
    });

  stack
    .command("logs")
    .description("print the last lines of a component's log (all components when none is named)")
    .argument("[component]", `one of ${COMPONENTS.join(", ")}`)
    .option("-n, --lines <n>", "lines per log", "40")
    .action((component: string | undefined, options: { lines: string }) => {
      if (component !== undefined && !(COMPONENTS as readonly string[]).includes(component)) {
        throw new StackError(
          "STACK_BAD_INPUT",
          `unknown component "${component}"; choose one of ${COMPONENTS.join(", ")}`,
        );
      }
      const lines = Number(options.lines);
      if (!Number.isInteger(lines) || lines <= 0)
        throw new StackError("STACK_BAD_INPUT", "--lines must be a positive integer");
      const layout = stackLayout(loadStackConfig().stateDir);
      for (const name of component ? [component] : COMPONENTS) {
        const file = logFile(layout, name);
        console.log(`==> ${file} <==`);
        if (existsSync(file))
          console.log(
            readFileSync(file, "utf8")
              .split("\n")
              .slice(-lines - 1)
              .join("\n"),
          );
      }
    });
}
