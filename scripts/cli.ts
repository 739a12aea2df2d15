#!/usr/bin/env -S npx tsx
import { Command, CommanderError } from "commander";
import { registerMlAccessCommand } from "../clickhouse/access/command.js";
import { loadMlAccessConfig } from "../clickhouse/access/config.js";
import { loadClickHouseConfig } from "../clickhouse/config.js";
import { loadConsumerConfig } from "../consumers/src/config.js";
import { registerMigrateCommand, registerReconcileCommand } from "../consumers/src/reconcile/command.js";
import { registerReplayCommand } from "../consumers/src/replay/command.js";
import { loadScriptsConfig } from "./config.js";
import { registerChaosCommand } from "./chaos/command.js";
import { registerGenerateCommands } from "./generate/command.js";
import { registerResnapshotCommand } from "./resnapshot/command.js";
import { registerStackCommands } from "./stack/command.js";
import { registerTopicsCommands } from "./topics/command.js";

/** One operator CLI: `npm run cli -- <command>`; npm scripts alias the common ones. */
const program = new Command("bionicpro")
  .description("BionicPRO live reports: operator and developer commands")
  .showHelpAfterError()
  .exitOverride();

const config = loadScriptsConfig();
registerStackCommands(program);
registerGenerateCommands(program, config);
registerMigrateCommand(program, () => ({ clickhouse: loadClickHouseConfig() }));
registerChaosCommand(program);
registerMlAccessCommand(program, () => ({
  clickhouse: loadClickHouseConfig(),
  mlAccess: loadMlAccessConfig(),
}));
registerTopicsCommands(program, () => config);
registerResnapshotCommand(program, () => config);
registerReconcileCommand(program, () => ({
  clickhouse: loadClickHouseConfig(),
  pg: config.pg,
  crmDb: config.crmDb,
  telemetryDb: config.telemetryDb,
}));
registerReplayCommand(program, () => ({
  clickhouse: loadClickHouseConfig(),
  consumer: loadConsumerConfig(),
  pg: config.pg,
  crmDb: config.crmDb,
  telemetryDb: config.telemetryDb,
}));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    const coded = error as { code?: string; message?: string };
    console.error(`error${coded.code ? ` [${coded.code}]` : ""}: ${coded.message ?? String(error)}`);
    process.exitCode = 1;
  }
}
