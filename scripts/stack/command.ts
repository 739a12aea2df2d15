import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { formatStatus } from "./components/status.js";
import { loadStackConfig } from "./config.js";
import { StackError } from "./errors.js";
import { logFile, stackLayout } from "./layout.js";
import {
  restartComponent,
  STACK_COMPONENTS,
  stackDown,
  stackStatus,
  stackUp,
  type StackComponent,
} from "./stack.js";

const say = (line: string): void => console.log(`[stack] ${line}`);

/** Component names from the command line; undefined for none (= all). */
function componentsFrom(names: string[]): StackComponent[] | undefined {
  if (names.length === 0) return undefined;
  for (const name of names) {
    if (!(STACK_COMPONENTS as readonly string[]).includes(name)) {
      throw new StackError(
        "STACK_BAD_INPUT",
        `unknown component "${name}"; choose from ${STACK_COMPONENTS.join(", ")}`,
      );
    }
  }
  return names as StackComponent[];
}

export function registerStackCommands(program: Command): void {
  const stack = program
    .command("stack")
    .description(
      "the native infrastructure: PostgreSQL, Kafka, Apicurio Registry, Kafka Connect + Debezium, Keycloak",
    );

  stack
    .command("up")
    .description(
      "install (Maven Central, cached) and start every component (or the named ones), then create the CDC connectors",
    )
    .argument("[components...]", `some of ${STACK_COMPONENTS.join(", ")} (default: all, then the connectors)`)
    .option("--no-connectors", "start the infrastructure only, without source databases and connectors")
    .action(async (names: string[], options: { connectors: boolean }) => {
      const config = loadStackConfig();
      const components = componentsFrom(names);
      await stackUp(config, {
        ...(components ? { components } : {}),
        sourceConnectors: options.connectors,
        log: say,
      });
      console.log(formatStatus(await stackStatus(config)));
    });

  stack
    .command("down")
    .description(
      "stop every component this state dir started (or the named ones); data kept, replication slots resume on the next up",
    )
    .argument("[components...]", `some of ${STACK_COMPONENTS.join(", ")} (default: all)`)
    .option("--purge", "also delete their data (databases, topics, schemas, the Keycloak realm and keys)")
    .action(async (names: string[], options: { purge?: boolean }) => {
      const components = componentsFrom(names);
      await stackDown(loadStackConfig(), {
        ...(components ? { components } : {}),
        purge: options.purge ?? false,
        log: say,
      });
    });

  stack
    .command("restart")
    .description("stop one component (cleanly, or as a crash with --kill) and start it again")
    .argument("<component>", `one of ${STACK_COMPONENTS.join(", ")}`)
    .option("--kill", "SIGKILL it (PostgreSQL: immediate shutdown), as a crash would")
    .action(async (component: string, options: { kill?: boolean }) => {
      const [name] = componentsFrom([component]) ?? [];
      if (!name) throw new StackError("STACK_BAD_INPUT", "name one component to restart");
      await restartComponent(loadStackConfig(), name, {
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
    .argument("[component]", `one of ${STACK_COMPONENTS.join(", ")}`)
    .option("-n, --lines <n>", "lines per log", "40")
    .action((component: string | undefined, options: { lines: string }) => {
      if (component !== undefined) componentsFrom([component]);
      const lines = Number(options.lines);
      if (!Number.isInteger(lines) || lines <= 0)
        throw new StackError("STACK_BAD_INPUT", "--lines must be a positive integer");
      const layout = stackLayout(loadStackConfig().stateDir);
      for (const name of component ? [component] : STACK_COMPONENTS) {
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
