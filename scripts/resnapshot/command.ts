import { InvalidArgumentError, type Command } from "commander";
import { resnapshot, type ResnapshotConfig, type ResnapshotResult } from "./resnapshot.js";
import { catalogueTableNames, findCatalogueTable, type CatalogueTable } from "./signal.js";

function tableArgument(name: string): CatalogueTable {
  const found = findCatalogueTable(name);
  if (!found) {
    throw new InvalidArgumentError(
      `"${name}" is not a source table of the catalogue (connectors/sources.ts): ${catalogueTableNames().join(", ")}`,
    );
  }
  return found;
}

function secondsArgument(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`expected seconds > 0, got "${text}"`);
  return value;
}

function formatResult(r: ResnapshotResult, waited: boolean): string {
  const reads = waited ? `all ${r.reads} reads are in ${r.topic}` : `the first read is in ${r.topic}`;
  return [
    `${r.source}.${r.table}: blocking snapshot of ${r.rows} rows at LSN ${r.lsn} (signal ${r.signalId}); ${reads}`,
    `writers of the table waited ${r.writersHeldMs} ms; took ${(r.elapsedMs / 1000).toFixed(1)} s`,
    'the consumers reset the table at that LSN and rebuild it from the reads (docs/consumers.md "Resets")',
  ].join("\n");
}

/**
 * `resnapshot <table> [--wait] [--json]`: Debezium reads one source table into its topic again
 * (a blocking snapshot through the signal table), for a table whose history Kafka no longer holds.
 * Exit 0 done, 1 failure, 2 usage (an unknown table).
 */
export function registerResnapshotCommand(program: Command, config: () => ResnapshotConfig): Command {
  return program
    .command("resnapshot")
    .description(
      "re-read one source table into its topic (Debezium blocking snapshot via the signal table); the consumers reset the table from it",
    )
    .argument("<table>", "a source table: crm_payments, or crm.crm_payments", tableArgument)
    .option("--wait", "return once every row's snapshot read is in the topic (default: once the first is)")
    .option("--timeout <seconds>", "how long to wait for the snapshot's reads", secondsArgument, 300)
    .option(
      "--lock-timeout <seconds>",
      "how long to wait for the table's write lock behind running transactions",
      secondsArgument,
      30,
    )
    .option("--json", "print the result as JSON on stdout")
    .action(
      async (
        target: CatalogueTable,
        opts: { wait?: boolean; timeout: number; lockTimeout: number; json?: boolean },
      ) => {
        const result = await resnapshot(config(), {
          target,
          wait: opts.wait === true,
          timeoutMs: opts.timeout * 1000,
          lockTimeoutMs: opts.lockTimeout * 1000,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(
          `${opts.json ? JSON.stringify({ ...result, waited: opts.wait === true }, null, 2) : formatResult(result, opts.wait === true)}\n`,
        );
      },
    );
}
