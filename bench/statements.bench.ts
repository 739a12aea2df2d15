import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createClickHouseClient } from "../clickhouse/client.js";
import { loadClickHouseConfig } from "../clickhouse/config.js";
import { readFreshness } from "../clickhouse/freshness.js";
import { insertStatement, type ChRow } from "../clickhouse/insert.js";
import { detectEngineFeatures } from "../clickhouse/marts/device-history.js";
import { onlyUsers } from "../clickhouse/marts/filters.js";
import { queryProstheticMonthlyMetrics } from "../clickhouse/marts/prosthetic-monthly.js";
import { queryUserDailyReports } from "../clickhouse/marts/user-daily.js";
import { queryUserMonthlyMetrics } from "../clickhouse/marts/user-monthly.js";
import { assertDatabaseName } from "../clickhouse/sql.js";
import { repoRoot } from "../scripts/config.js";
import { distribution } from "./freshness-probes.js";
import { appendResults, machineLine, packageVersion, writeResultsJson } from "./results-file.js";

/**
 * `npm run bench:statements -- [--user 1] [--rows 100] [--rounds 30]`: what one statement of each
 * kind the running system issues costs the embedded engine by itself, idle, on a copy of the
 * embedded data directory (CLICKHOUSE_PATH, default .state/clickhouse; stop `npm start` first: one
 * process opens a directory at a time, and a copy of a directory in use may catch a part half
 * written). Per kind, `--rounds` statements one after another after two warm-up ones: wall time
 * p50 / p95 and the process's CPU per statement (utime + stime over the loop, so the background
 * merges the inserts cause are in it). The kinds: `SELECT 1`; the freshness read every report
 * carries; a user's month report uncached (the billing read and the devices read, separately) and
 * the month's days; one insert of `--rows` change rows into telemetry_event_changes through its
 * materialized views (into the copy). Under ingest each of these shares 2 cores with the others (bench:freshness); this is
 * the floor. Results: bench/results/statements-<date>.md + JSON.
 */
const { values } = parseArgs({
  options: {
    user: { type: "string", default: "1" },
    rows: { type: "string", default: "100" },
    rounds: { type: "string", default: "30" },
  },
});
const log = (line: string): void => console.log(`[bench:statements] ${line}`);
const userId = Number(values.user);
const rowCount = Number(values.rows);
const rounds = Number(values.rounds);
for (const [name, n] of [
  ["user", userId],
  ["rows", rowCount],
  ["rounds", rounds],
] as const) {
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got ${String(n)}`);
}

const config = loadClickHouseConfig();
if (!config.path) throw new Error("bench:statements measures the embedded engine: unset CLICKHOUSE_URL");
if (!existsSync(path.join(config.path, "metadata"))) {
  throw new Error(`no embedded data in ${config.path}: run \`npm start\` once (and stop it) first`);
}
const database = assertDatabaseName(config.database);
const copy = mkdtempSync(path.join(tmpdir(), "bionicpro-statements-"));
cpSync(config.path, copy, { recursive: true });
const client = createClickHouseClient({ path: copy, database, bindParamsInProcess: true });

interface Kind {
  name: string;
  what: string;
  run: (round: number) => Promise<unknown>;
}
interface Measured {
  name: string;
  what: string;
  p50Ms: number;
  p95Ms: number;
  cpuMsPerStatement: number;
}

async function rowsOf<T>(query: string): Promise<T[]> {
  const result = await client.query({ query, format: "JSONEachRow" });
  return result.json<T>();
}

try {
  const [latest] = await rowsOf<{ month: string }>(
    `SELECT toString(max(month)) AS month FROM ${database}.prosthetic_event_monthly
     WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${database}.dim_prosthetics FINAL WHERE user_id = ${userId})`,
  );
  const month = (latest?.month ?? "").slice(0, 7);
  if (!/^\d{4}-\d{2}$/.test(month) || month === "1970-01") {
    throw new Error(`user ${userId} has no device events in ${config.path}: pick another --user`);
  }
  const [history] = await rowsOf<{ events: string }>(
    `SELECT toString(count()) AS events FROM ${database}.telemetry_event_changes
     WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${database}.dim_prosthetics FINAL WHERE user_id = ${userId})`,
  );
  const changeRows = await rowsOf<ChRow>(
    `SELECT * FROM ${database}.telemetry_event_changes WHERE sign = 1 LIMIT ${rowCount}`,
  );
  const features = await detectEngineFeatures(client);
  const range = { from: month, to: month };
  const users = onlyUsers([userId]);
  const table = `${database}.telemetry_event_changes`;
  const kinds: Kind[] = [
    { name: "select 1", what: "`SELECT 1`: the floor of any statement", run: () => rowsOf("SELECT 1") },
    {
      name: "freshness",
      what: "readFreshness: data_as_of of every report (re-read after each applied chunk while reports are read)",
      run: () => readFreshness(client, database),
    },
    {
      name: "month billing",
      what: `queryUserMonthlyMetrics: user ${userId}, ${month} (re-read after a chunk touching the user's payments or subscriptions)`,
      run: () => queryUserMonthlyMetrics(client, database, range, users),
    },
    {
      name: "month devices",
      what: `queryProstheticMonthlyMetrics: user ${userId}, ${month}, over the devices' whole history of ${history?.events ?? "?"} event rows (re-read after a chunk touching the user's devices)`,
      run: () => queryProstheticMonthlyMetrics(client, database, range, users, features),
    },
    {
      name: "month days",
      what: `queryUserDailyReports: user ${userId}, the days of ${month} (re-read after a chunk touching the user's devices)`,
      run: () => queryUserDailyReports(client, database, range, users, features),
    },
    {
      name: `insert ${changeRows.length} rows`,
      what: `one insert of ${changeRows.length} telemetry_event_changes rows with a dedup token, through its materialized views (a chunk's data insert)`,
      run: (round) =>
        client.command({
          query: insertStatement(table, changeRows, `bench-statements-${process.pid}-${round}`),
        }),
    },
  ];

  const measured: Measured[] = [];
  for (const kind of kinds) {
    await kind.run(-2);
    await kind.run(-1);
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let round = 0; round < rounds; round += 1) {
      const started = performance.now();
      await kind.run(round);
      times.push(performance.now() - started);
    }
    const cpu = process.cpuUsage(cpu0);
    const { p50, p95 } = distribution(times);
    const row: Measured = {
      name: kind.name,
      what: kind.what,
      p50Ms: Number(p50.toFixed(1)),
      p95Ms: Number(p95.toFixed(1)),
      cpuMsPerStatement: Number(((cpu.user + cpu.system) / 1000 / rounds).toFixed(1)),
    };
    measured.push(row);
    log(`${row.name}: p50 ${row.p50Ms} ms, p95 ${row.p95Ms} ms, CPU ${row.cpuMsPerStatement} ms a statement`);
  }

  const args = process.argv.slice(2).join(" ");
  const command = `npm run bench:statements${args ? ` -- ${args}` : ""}`;
  const file = appendResults(
    "statements",
    "Statement costs of the embedded engine",
    `Run ${new Date().toISOString()}`,
    [
      `- command: \`${command}\``,
      `- machine: ${machineLine()}; chdb ${packageVersion("chdb")}`,
      `- data: a copy of ${path.relative(repoRoot, config.path) || config.path}, idle (nothing else in the process); ${rounds} statements of each kind one after another after 2 warm-up ones`,
      "",
      "| statement | p50 ms | p95 ms | CPU ms a statement | what |",
      "|---|---|---|---|---|",
      ...measured.map((m) => `| ${m.name} | ${m.p50Ms} | ${m.p95Ms} | ${m.cpuMsPerStatement} | ${m.what} |`),
    ],
  );
  const json = writeResultsJson("statements", { command, user: userId, month, rounds, statements: measured });
  log(`results appended to ${path.relative(repoRoot, file)} (${path.relative(repoRoot, json)})`);
} finally {
  await client.close();
  rmSync(copy, { recursive: true, force: true });
}
