import type { Command } from "commander";
import type { ScriptsConfig } from "../config.js";
import { simulate } from "../simulate/simulate.js";
import { generate } from "./generate.js";
import {
  parseGenerateArgs,
  parseSimulateArgs,
  UsageError,
  type RawGenerateOptions,
  type RawSimulateOptions,
} from "./options.js";
import { SOURCE_TABLES } from "./source-tables.js";

/** Bad option values exit with code 2 (usage error), like commander's own parse errors would. */
function usage<T>(command: Command, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError)
      command.error(`error: ${error.message}`, { exitCode: 2, code: "bionicpro.usage" });
    throw error;
  }
}

export function registerGenerateCommands(program: Command, config: ScriptsConfig): void {
  program
    .command("generate")
    .description(
      "replace the source data (crm_db, telemetry_db) with a deterministic seed data set: " +
        "12 users, 15 prostheses, 2.5 years to 2026-10-31 at scale 1",
    )
    .option(
      "--scale <n>",
      "multiply users, prostheses, payments, tickets and telemetry (833 = ~10k users)",
      "1",
    )
    .option("--seed <s>", "PRNG seed (integer 0..4294967295); the same seed gives identical data", "42")
    .option("--days <d>", "history length in days ending 2026-10-31 (913 = 2.5 years)", "913")
    .option(
      "--telemetry-density <f>",
      "share (0..1] of device-days that get telemetry, to thin huge runs (rows scale linearly)",
      "1",
    )
    .option("--no-progress", "no progress bars")
    .action(async (raw: RawGenerateOptions & { progress: boolean }, command: Command) => {
      const params = usage(command, () => parseGenerateArgs(raw));
      const summary = await generate({
        pg: config.pg,
        crmDb: config.crmDb,
        telemetryDb: config.telemetryDb,
        ...params,
        progress: raw.progress,
        log: (line) => console.log(line),
      });
      const total = SOURCE_TABLES.reduce((sum, t) => sum + summary.rows[t], 0);
      console.log(`generated ${total} rows in ${(summary.elapsedMs / 1000).toFixed(1)} s`);
    });

  program
    .command("simulate")
    .description("stream live changes into the source databases (inserts, updates, deletes) at a steady rate")
    .option("--rate <n>", "changes per second (required)")
    .option("--duration <s>", "stop after this many seconds (default: until Ctrl-C)")
    .option("--max-changes <n>", "stop after this many changed rows")
    .option("--seed <s>", "PRNG seed for the choice of changes", "42")
    .option("--spare-users <ids>", "CRM user ids (comma-separated) whose rows are left unchanged")
    .action(async (raw: RawSimulateOptions, command: Command) => {
      const params = usage(command, () => parseSimulateArgs(raw));
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once("SIGINT", onSigint);
      try {
        // simulate() logs its own summary table at the end.
        await simulate({
          pg: config.pg,
          crmDb: config.crmDb,
          telemetryDb: config.telemetryDb,
          ...params,
          signal: stop.signal,
          log: (line) => console.log(line),
        });
      } finally {
        process.removeListener("SIGINT", onSigint);
      }
    });
}
