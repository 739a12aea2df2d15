import { InvalidArgumentError, Option, type Command } from "commander";
import { createClickHouseClient, type ClickHouseOptions } from "../../../clickhouse/client.js";
import { migrate } from "../../../clickhouse/migrate.js";
import { assertMonth } from "../../../clickhouse/marts/index.js";
import { formatReconcileResult } from "./format.js";
import { martNames, type MartName } from "./marts.js";
import { reconcile, type PgConnection } from "./reconcile.js";

export interface ReconcileCommandConfig {
  clickhouse: ClickHouseOptions;
  pg: PgConnection;
  crmDb: string;
  telemetryDb: string;
}

type Lazy<T> = () => T | Promise<T>;

function monthOption(value: string): string {
  try {
    return assertMonth(value);
  } catch {
    throw new InvalidArgumentError("expected a month as YYYY-MM, e.g. 2024-01");
  }
}

/**
 * `reconcile [--from YYYY-MM] [--to YYYY-MM] [--mart name ...] [--json]`: marts vs oracle; exits
 * non-zero with the differences when any cell differs. In embedded mode it opens the ClickHouse
 * data directory itself, so the consumers must not be running on it (use server mode for a live check).
 */
export function registerReconcileCommand(program: Command, config: Lazy<ReconcileCommandConfig>): Command {
  return program
    .command("reconcile")
    .description("compare every ClickHouse mart with the same figures computed from PostgreSQL, cell by cell")
    .option("--from <month>", "first month, YYYY-MM (default: first month with source data)", monthOption)
    .option(
      "--to <month>",
      "last month, YYYY-MM (default: the current UTC month or the last month with data)",
      monthOption,
    )
    .addOption(new Option("--mart <name...>", "only these marts").choices([...martNames]))
    .option("--json", "print the structured result as JSON")
    .action(async (opts: { from?: string; to?: string; mart?: MartName[]; json?: boolean }) => {
      const cfg = await config();
      const client = createClickHouseClient(cfg.clickhouse);
      try {
        const result = await reconcile({
          ch: { client, database: cfg.clickhouse.database },
          pg: cfg.pg,
          crmDb: cfg.crmDb,
          telemetryDb: cfg.telemetryDb,
          from: opts.from,
          to: opts.to,
          marts: opts.mart,
          onMart: (mart, index, total) => process.stderr.write(`[${index + 1}/${total}] ${mart}\n`),
        });
        process.stdout.write(
          `${opts.json ? JSON.stringify(result, null, 2) : formatReconcileResult(result)}\n`,
        );
        if (!result.ok) process.exitCode = 1;
      } finally {
        await client.close();
      }
    });
}

/** `migrate [--database name]`: applies pending ClickHouse migrations (idempotent). */
export function registerMigrateCommand(
  program: Command,
  config: Lazy<{ clickhouse: ClickHouseOptions }>,
): Command {
  return program
    .command("migrate")
    .description("create the ClickHouse database and apply pending migrations (clickhouse/migrations)")
    .option("--database <name>", "database to migrate (default: CLICKHOUSE_DATABASE); e.g. a shadow database")
    .action(async (opts: { database?: string }) => {
      const { clickhouse } = await config();
      const database = opts.database ?? clickhouse.database;
      const client = createClickHouseClient({ ...clickhouse, database });
      try {
        const applied = await migrate(client, database, {
          onApplied: (m) => process.stderr.write(`applied ${String(m.version).padStart(3, "0")}_${m.name}\n`),
        });
        process.stdout.write(
          applied.length === 0
            ? `${database}: up to date\n`
            : `${database}: applied ${applied.length} migration(s)\n`,
        );
      } finally {
        await client.close();
      }
    });
}
