import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { createClickHouseClient } from "../clickhouse/client.js";
import { oracleDataRange, oracleProstheticMonthly, oracleUserMonthly } from "../clickhouse/oracle/index.js";
import type { MonthRange } from "../clickhouse/marts/range.js";
import { martChecks } from "../consumers/src/reconcile/index.js";
import { repoRoot } from "../scripts/config.js";
import { generate } from "../scripts/generate/index.js";
import { CRM_TABLES, TELEMETRY_TABLES } from "../scripts/generate/source-tables.js";
import { loadStackConfig } from "../scripts/stack/config.js";
import { ensureSourceDatabases } from "../scripts/stack/stack.js";
import {
  compareWithOracle,
  latestPipelineFreshness,
  type MartComparison,
  type PipelineFreshness,
} from "./batch-compare.js";
import {
  batchWays,
  extract,
  load,
  readSeedMart,
  SEED_ADAPTATIONS,
  SEED_DIFFERENCES,
  SEED_MARTS,
  SEED_NOT_COMPUTED,
  SEED_SCHEDULES,
  seedMartDdl,
  seedMartNames,
  transform,
  ETL_BATCH_SIZE,
  type BatchWay,
  type QueryTimes,
  type SeedMartName,
} from "./batch-dag.js";
import { BATCH_NAME, batchEnv } from "./config.js";
import { appendResults, machineLine } from "./results-file.js";

/**
 * `npm run bench:batch [-- --scale 833 --telemetry-density 0.003 --rounds 2]`: the seeds' batch way
 * (bench/batch-dag.ts) timed at the ~10k-user data set, step by step, its freshness bound beside
 * ours (the latest bench/results/pipeline-*.md), and its marts checked against the oracle.
 * Data: its own `benchbatch_*` databases, generated on the first run by the same call as bench:api's
 * scale data set (bench/api-scale.ts); ClickHouse: embedded, in a temporary data dir.
 * Results: bench/results/batch-<date>.md.
 */
const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "833" },
    "telemetry-density": { type: "string", default: "0.003" },
    rounds: { type: "string", default: "2" },
  },
});
const scale = Number(values.scale);
const telemetryDensity = Number(values["telemetry-density"]);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);
const log = (line: string): void => console.log(`[bench:batch] ${line}`);
const stack = loadStackConfig(batchEnv());
const SEED = 42;

async function connect(database: string): Promise<pg.Client> {
  const { host, port, user, password } = stack.pg;
  const client = new pg.Client({ host, port, user, password, database });
  await client.connect();
  return client;
}

async function withSources<T>(
  run: (dbs: { crm: pg.Client; telemetry: pg.Client }) => Promise<T>,
): Promise<T> {
  const crm = await connect(stack.crmDb);
  try {
    const telemetry = await connect(stack.telemetryDb);
    try {
      return await run({ crm, telemetry });
    } finally {
      await telemetry.end();
    }
  } finally {
    await crm.end();
  }
}

async function tableCounts(dbs: { crm: pg.Client; telemetry: pg.Client }): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [db, tables] of [
    [dbs.crm, CRM_TABLES],
    [dbs.telemetry, TELEMETRY_TABLES],
  ] as const) {
    for (const table of tables) {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      counts[table] = Number(rows[0]?.n ?? 0);
    }
  }
  return counts;
}

/** The data set, generated unless the databases already hold one (then kept, as bench:api does). */
async function ensureData(): Promise<{ counts: Record<string, number>; generatedNow: boolean }> {
  await ensureSourceDatabases(stack);
  const before = await withSources(tableCounts);
  if ((before.crm_users ?? 0) > 0) {
    log(`${stack.crmDb} has ${before.crm_users} users: keeping the data set`);
    return { counts: before, generatedNow: false };
  }
  log(
    `generating scale ${scale}, telemetry density ${telemetryDensity} into ${stack.crmDb}, ${stack.telemetryDb}`,
  );
  await generate({
    pg: stack.pg,
    crmDb: stack.crmDb,
    telemetryDb: stack.telemetryDb,
    scale,
    seed: SEED,
    telemetryDensity,
    progress: false,
    log,
  });
  return { counts: await withSources(tableCounts), generatedNow: true };
}

interface RunResult {
  round: number;
  way: BatchWay;
  queries: QueryTimes;
  extractMs: number;
  transformMs: number;
  loadMs: number;
  totalMs: number;
  /** CPU time per step: PostgreSQL backends + this process (embedded ClickHouse included); extract null when the backends' /proc is not readable. */
  cpuMs: { extract: number | null; transform: number; load: number };
  loaded: Record<SeedMartName, number>;
}

/** CPU time of this process since `since`, ms (the embedded ClickHouse runs in it). */
function nodeCpuMs(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return Number(rows[0]?.pid);
}

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/**
 * User + system CPU of PostgreSQL backends, ms, from /proc/<pid>/stat (fields 14, 15): CPU time,
 * unlike wall time, does not grow with the other work on a shared host. Null when the server runs
 * elsewhere (no such process here).
 */
function backendsCpuMs(pids: readonly number[]): number | null {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return null;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / clockTicks;
}

const { counts, generatedNow } = await ensureData();
const range: MonthRange = await withSources(async (dbs) => {
  const found = await oracleDataRange(dbs);
  if (!found) throw new Error(`${stack.crmDb} / ${stack.telemetryDb} hold no data: drop them and run again`);
  return { from: found.first, to: found.last };
});
log(`months ${range.from}..${range.to}`);

const database = "reports_db";
const dir = mkdtempSync(path.join(os.tmpdir(), "bionicpro-batch-bench-"));
const ch = createClickHouseClient({ path: dir, database });
const runs: RunResult[] = [];
const comparisons: Partial<Record<BatchWay, MartComparison[]>> = {};
try {
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  for (const name of seedMartNames) await ch.command({ query: seedMartDdl(database, SEED_MARTS[name]) });

  for (let round = 1; round <= rounds; round += 1) {
    for (const way of batchWays) {
      log(`round ${round}, ${way}: extract`);
      const queries: QueryTimes = {};
      const started = performance.now();
      let extractCpuMs: number | null = null;
      const extracted = await withSources(async (dbs) => {
        const backends = await Promise.all([dbs.crm, dbs.telemetry].map(backendPid));
        const before = { node: process.cpuUsage(), pg: backendsCpuMs(backends) };
        const result = await extract(way, dbs, range, queries);
        const pgAfter = backendsCpuMs(backends);
        extractCpuMs =
          before.pg === null || pgAfter === null ? null : pgAfter - before.pg + nodeCpuMs(before.node);
        return result;
      });
      const extracted_at = performance.now();
      const transformCpu = process.cpuUsage();
      const rows = transform(extracted);
      const transformed_at = performance.now();
      const transformCpuMs = nodeCpuMs(transformCpu);
      log(`round ${round}, ${way}: load ${rows.user.length} + ${rows.prosthetic.length} rows`);
      const loadCpu = process.cpuUsage();
      const loaded = await load(ch, database, rows, new Date());
      const done = performance.now();
      const run: RunResult = {
        round,
        way,
        queries,
        extractMs: extracted_at - started,
        transformMs: transformed_at - extracted_at,
        loadMs: done - transformed_at,
        totalMs: done - started,
        cpuMs: { extract: extractCpuMs, transform: transformCpuMs, load: nodeCpuMs(loadCpu) },
        loaded,
      };
      runs.push(run);
      log(
        `round ${round}, ${way}: extract ${ms(run.extractMs)}, transform ${ms(run.transformMs)}, load ${ms(run.loadMs)}, total ${ms(run.totalMs)} ms (${cpu(totalCpu(run))} ms)`,
      );
      if (!comparisons[way]) {
        log(`${way}: comparing the loaded marts with the oracle`);
        comparisons[way] = await withSources(async (dbs) =>
          compareWithOracle(way, {
            user: {
              oracle: await oracleUserMonthly(dbs, range),
              batch: await readSeedMart(ch, database, SEED_MARTS.user),
              check: martChecks.report_user_monthly_metrics,
            },
            prosthetic: {
              oracle: await oracleProstheticMonthly(dbs, range),
              batch: await readSeedMart(ch, database, SEED_MARTS.prosthetic),
              check: martChecks.report_prosthetic_monthly_metrics,
            },
          }),
        );
      }
    }
  }
} finally {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}

function ms(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function cpu(value: number | null): string {
  return value === null ? "CPU -" : `CPU ${ms(value)}`;
}

function totalCpu(run: RunResult): number | null {
  return run.cpuMs.extract === null ? null : run.cpuMs.extract + run.cpuMs.transform + run.cpuMs.load;
}

function runRow(r: RunResult): string {
  const queries = Object.entries(r.queries)
    .map(([q, t]) => `${q} ${ms(t)}`)
    .join("; ");
  const steps = [
    `${ms(r.extractMs)} [${cpu(r.cpuMs.extract)}] (${queries})`,
    `${ms(r.transformMs)} [${cpu(r.cpuMs.transform)}]`,
    `${ms(r.loadMs)} [${cpu(r.cpuMs.load)}]`,
    `**${ms(r.totalMs)}** [${cpu(totalCpu(r))}]`,
  ];
  return `| ${r.round} | ${r.way} | ${steps.join(" | ")} | ${r.loaded.user} / ${r.loaded.prosthetic} |`;
}

function duration(msValue: number): string {
  if (msValue < 60_000) return `${(msValue / 1000).toFixed(1)} s`;
  if (msValue < 3600_000) return `${(msValue / 60_000).toFixed(1)} min`;
  return `${(msValue / 3600_000).toFixed(2)} h`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const runTime = (way: BatchWay) => median(runs.filter((r) => r.way === way).map((r) => r.totalMs));
const ours: PipelineFreshness | null = latestPipelineFreshness();

const freshnessRows = batchWays.flatMap((way) =>
  SEED_SCHEDULES.map((s) => {
    const worst = s.intervalMs + runTime(way);
    const versus = ours ? `${Math.round(worst / ours.p95Ms).toLocaleString("en-US")}x` : "-";
    return `| ${s.dag} (${s.where}), ${s.schedule} | ${way} | ${duration(runTime(way))} | **${duration(worst)}** | ${duration(s.intervalMs / 2 + runTime(way))} | ${versus} |`;
  }),
);

const comparisonRows = batchWays.flatMap((way) =>
  (comparisons[way] ?? []).map(
    (c) =>
      `| ${SEED_MARTS[c.mart].table} | ${way} | ${c.oracleRows} | ${c.batchRows} | ${c.commonRows} | ${c.missingInBatch} | ${c.extraInBatch} | ${c.exact.join(", ") || "-"} | ${c.differing.map((d) => `${d.column} (${d.cells})`).join(", ") || "-"} | ${c.notComputed.join(", ") || "-"} |`,
  ),
);

const now = new Date();
const args = process.argv.slice(2).join(" ");
const file = appendResults("batch", "Batch (the seeds' Airflow way) benchmarks", `Run ${now.toISOString()}`, [
  `- command: \`npm run bench:batch${args ? ` -- ${args}` : ""}\` (bench/batch.bench.ts)`,
  `- machine: ${machineLine()} (shared with other work: timings are from a loaded host)`,
  `- data: generate --scale ${scale} --telemetry-density ${telemetryDensity} --seed ${SEED} into ${BATCH_NAME}_crm / ${BATCH_NAME}_telemetry (${generatedNow ? "generated by this run" : "kept from an earlier run"}): ${Object.entries(
    counts,
  )
    .map(([t, n]) => `${t} ${n.toLocaleString("en-US")}`)
    .join(", ")}; months ${range.from}..${range.to}`,
  `- target: ClickHouse embedded (chdb) in a temporary data dir, database ${database}, the seed's DDL (seed 01 §6.3); INSERTs of ${ETL_BATCH_SIZE.toLocaleString("en-US")} rows (seed 02 ETL_BATCH_SIZE); full refresh (TRUNCATE + INSERT)`,
  "- ways: **seed** = the seed's extraction SQL (seed 01 §4.3) adapted as listed below; **oracle** = this project's reference SQL of the same marts (clickhouse/oracle), every column: the work our streaming marts do, as one batch",
  "- not included: Airflow's scheduler, task start-up and XCom writes (a DAG run costs at least this)",
  "",
  "Wall time, CPU time in brackets (PostgreSQL backends + this process with its embedded ClickHouse: CPU time does not grow with the host's other work):",
  "",
  "| round | way | extract, ms (per query) | transform, ms | load, ms | total, ms | rows loaded (user / prosthetic) |",
  "|---|---|---|---|---|---|---|",
  ...runs.map(runRow),
  "",
  `Freshness bound of the batch: a change committed just after a run's extract read its table shows in the next run's marts, worst case = interval + run time; on average interval / 2 + run time. Ours (the streaming pipeline, not rerun here): ${
    ours
      ? `p50 ${ms(ours.p50Ms)} ms, p95 ${ms(ours.p95Ms)} ms (${ours.measure}; ${path.relative(repoRoot, ours.file)}, ${ours.run})`
      : "no freshness line found in bench/results/pipeline-*.md"
  }. The seed's daily DAG reads yesterday's rows at 02:00 UTC, so with its own day filter a change waits up to 26 h.`,
  "",
  "| DAG, schedule | way | run time (median of the rounds) | worst case | average | worst case / our p95 |",
  "|---|---|---|---|---|---|",
  ...freshnessRows,
  "",
  "Equal work: the loaded marts read back and compared with the oracle (consumers/src/reconcile's checks, the same column rules: exact, or floats within 1e-9 relative), rows keyed as reconcile keys them:",
  "",
  "| mart | way | oracle rows | batch rows | rows on both | missing in batch | extra in batch | columns equal in every common row | columns differing (cells) | not computed by the way |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...comparisonRows,
  "",
  "Why the seed's figures differ (from its SQL; the counts above are measured):",
  ...SEED_DIFFERENCES.map((d) => `- ${d}`),
  "",
  `Adaptations of the seed's SQL (bench/batch-dag.ts SEED_ADAPTATIONS):`,
  ...SEED_ADAPTATIONS.map((a, i) => `${i + 1}. ${a}`),
  `Not computed by the seed's SQL (loaded as 0): ${SEED_NOT_COMPUTED.join(", ")}.`,
]);
log(`results appended to ${path.relative(repoRoot, file)}`);
