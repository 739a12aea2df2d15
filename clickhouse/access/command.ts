import type { Command } from "commander";
import { createClickHouseClient, type ClickHouseOptions } from "../client.js";
import type { MlAccessConfig } from "./config.js";
import {
  formatMlAccessScript,
  hashMlPassword,
  loadMlAccessTemplate,
  ML_PROFILE,
  ML_ROLE,
  ML_USER,
  mlAccessStatements,
} from "./ml-access.js";
import { mlViews } from "./ml-views.js";

type Lazy<T> = () => T | Promise<T>;

export interface MlAccessCommandConfig {
  clickhouse: ClickHouseOptions;
  mlAccess: MlAccessConfig;
}

const passwordVariable = "BIONICPRO_ML_CLICKHOUSE_PASSWORD";

/**
 * `ml-access apply [--print] [--database name]`: creates or resets the server-mode profile, role and
 * user of ML engineers (clickhouse/access/ml_readonly.sql). The embedded engine has no access
 * control: there the command says so and points at POST /api/sql.
 */
export function registerMlAccessCommand(program: Command, config: Lazy<MlAccessCommandConfig>): Command {
  const group = program
    .command("ml-access")
    .description("read-only ClickHouse access for ML engineers (server mode; docs/ml.md)");
  group
    .command("apply")
    .description(
      `create or reset profile ${ML_PROFILE}, role ${ML_ROLE} (SELECT on the ml_* views only) and user ${ML_USER}`,
    )
    .option("--print", "print the SQL instead of running it (no connection needed)")
    .option("--database <name>", "the marts database (default: CLICKHOUSE_DATABASE)")
    .action(async function (this: Command, opts: { print?: boolean; database?: string }) {
      const cfg = await config();
      const database = opts.database ?? cfg.clickhouse.database;
      const password = cfg.mlAccess.password;
      const statements = mlAccessStatements(await loadMlAccessTemplate(), {
        database,
        credentials: password === undefined ? undefined : hashMlPassword(password),
      });
      if (opts.print) {
        if (password === undefined)
          process.stderr.write(
            `${passwordVariable} is not set: the CREATE USER statement keeps its placeholders\n`,
          );
        process.stdout.write(formatMlAccessScript(statements, database));
        return;
      }
      if (!cfg.clickhouse.url) {
        process.stderr.write(
          "nothing applied: ClickHouse access control (users, roles, settings profiles) exists only in " +
            "server mode (CLICKHOUSE_URL); the embedded engine has none. In the embedded default, ML " +
            "engineers query through the API: POST /api/sql with an ml_engineer token (docs/ml.md). " +
            "`ml-access apply --print` shows the server-mode SQL.\n",
        );
        process.exitCode = 2;
        return;
      }
      if (password === undefined)
        this.error(`set ${passwordVariable} to the password ${ML_USER} will log in with`, {
          exitCode: 2,
          code: "ml-access.password-missing",
        });
      const client = createClickHouseClient({ ...cfg.clickhouse, database });
      try {
        for (const statement of statements) await client.command({ query: statement });
      } finally {
        await client.close();
      }
      process.stdout.write(
        `${database}: user ${ML_USER} (role ${ML_ROLE}, profile ${ML_PROFILE}) may read ` +
          `${mlViews.length} views: ${mlViews.join(", ")}\n`,
      );
    });
  return group;
}
