import type { ClickHouseClient } from "@clickhouse/client";
import type pg from "pg";
import { insertJsonRows, type ChRow } from "../clickhouse/insert.js";
import { toDecimal2, toNumber } from "../clickhouse/marts/values.js";
import {
  oracleProsthesisDimension,
  oracleProstheticMonthly,
  oracleUserMonthly,
  type OracleDatabases,
  type ProsthesisDimensionRow,
} from "../clickhouse/oracle/index.js";
import type { MonthRange } from "../clickhouse/marts/range.js";

/**
 * The seeds' batch ETL, run the way their Airflow DAG runs it (seed 01 §4: `bionicpro_etl_daily`):
 * extract = aggregate SQL over PostgreSQL crm_db and telemetry_db (the two extract tasks run in
 * parallel), transform = the rows joined and shaped in memory into the two monthly marts, load =
 * INSERT into ClickHouse tables with the seed's DDL (seed 01 §6.3), in blocks of the seed's
 * ETL_BATCH_SIZE (seed 02). Airflow's own costs (scheduler, task start-up, XCom writes) are not in
 * these timings: they are a lower bound of a DAG run.
 *
 * Two ways of filling the same marts:
 * - `seed`: the seed's own extraction SQL (seed 01 §4.3), adapted minimally (SEED_ADAPTATIONS);
 * - `oracle`: this project's reference SQL of the same marts (clickhouse/oracle, docs/metrics.md),
 *   which computes every column: the same work our streaming marts do, as one batch.
 */

/** The seeds' DAG schedules, whose interval bounds the batch's freshness. */
export const SEED_SCHEDULES = [
  {
    dag: "bionicpro_etl_daily",
    where: "seed 01 §4.1, §4.4",
    schedule: "daily at 02:00 UTC",
    intervalMs: 24 * 3600_000,
  },
  {
    dag: "bionicpro_reports_etl",
    where: "seed 02, the DAG of its hourly mart",
    schedule: "*/15 * * * *",
    intervalMs: 15 * 60_000,
  },
] as const;

/** ETL_BATCH_SIZE of seed 02: rows per INSERT. */
export const ETL_BATCH_SIZE = 10_000;

/** Every change the seed's SQL needed to run on our schema as a monthly full refresh. */
export const SEED_ADAPTATIONS = [
  "every month of the history in one run, grouped by `date_trunc('month', ... AT TIME ZONE 'UTC')`, instead of " +
    "`DATE(x) = DATE(CURRENT_DATE - INTERVAL '1 day')`: a full refresh of the monthly marts, the mode seed 01 §7.3 " +
    "names as the current one (its 'incremental instead of full refresh' is future work); sums are additive, so the " +
    "payment and event figures equal the sum of the nightly runs' rows",
  "timestamps are `timestamptz` here: months and days are taken in UTC (`AT TIME ZONE 'UTC'`), the project's rule",
  "battery: `LAG(charge_level) OVER (...)` inside `COUNT(DISTINCT ...)` is not valid SQL (no window function inside " +
    "an aggregate) and its window is elided: computed in a subquery, `PARTITION BY prosthetic_id ORDER BY " +
    "metric_timestamp, metric_id`",
  "events: `power_off_count` added (same `COUNT(CASE ...)` pattern): a seed mart column the seed's query leaves out",
  "prosthesis columns (user_id, user_uuid, prosthetic_uuid, device_type): the seed gives no SQL; read by the " +
    "project's `prosthetic_dimension` query and joined in memory, as seed 02's transform_and_join does",
  "mart DDL: `Float32` columns as `Float64` (Float32 keeps ~7 digits; every average would differ from the " +
    "oracle in its 8th digit)",
  "load: `TRUNCATE` before the INSERTs (a full refresh into a MergeTree would otherwise double every row)",
  "transform: `total_payments` = successful + failed (seed 01 §2.3: 'успешные + неудачные'); NULL averages " +
    "(no such readings in the month) load as 0",
] as const;

/**
 * Why the seed's figures differ from the oracle's (docs/metrics.md), read from its SQL: the
 * benchmark reports which columns differ and in how many cells, these say why.
 */
export const SEED_DIFFERENCES = [
  "rows: the join keeps payments of subscriptions active today only (`s.is_active = true`), so the months of a " +
    "user's ended subscriptions vanish, and a month with a subscription but no payment has no row",
  "`total_payments`: success + failed, without `pending` (docs/metrics.md counts every status)",
  "`subscription_cost_total`: `SUM(s.monthly_cost)` over the payments join adds the price once per payment " +
    "(a retried charge doubles it) and counts subscriptions active today, not in the month",
  "`active_subscriptions_count`: subscriptions active today, not those active in the month (plan changes)",
  "`avg_discharge_rate_active`: every discharging reading, not only those inside a power session",
  "`charge_cycles`: days with a reading above 95 right after one below 50; ours counts every rise from below 50 " +
    "to above 95, whatever the readings between",
] as const;

/** Columns of the seed marts the seed's SQL does not compute (loaded as 0). */
export const SEED_NOT_COMPUTED = [
  "total_active_hours",
  "avg_discharge_rate_idle",
  "downtime_minutes",
] as const;

type ColumnType = "Date" | "Int32" | "String" | "Decimal(10, 2)" | "Float64";

interface SeedMart {
  table: "report_user_monthly_metrics" | "report_prosthetic_monthly_metrics";
  columns: Readonly<Record<string, ColumnType>>;
  orderBy: string;
}

/** The seed's two marts (seed 01 §6.3), Float32 as Float64; plus last_updated/created_at DateTime. */
export const SEED_MARTS = {
  user: {
    table: "report_user_monthly_metrics",
    columns: {
      report_date: "Date",
      user_id: "Int32",
      user_uuid: "String",
      total_payments: "Decimal(10, 2)",
      successful_payments: "Decimal(10, 2)",
      failed_payments_count: "Int32",
      active_subscriptions_count: "Int32",
      subscription_cost_total: "Decimal(10, 2)",
    },
    orderBy: "(user_id, report_date)",
  },
  prosthetic: {
    table: "report_prosthetic_monthly_metrics",
    columns: {
      report_date: "Date",
      prosthetic_id: "Int32",
      user_id: "Int32",
      user_uuid: "String",
      prosthetic_uuid: "String",
      device_type: "String",
      power_on_count: "Int32",
      power_off_count: "Int32",
      total_active_hours: "Float64",
      avg_discharge_rate_active: "Float64",
      avg_discharge_rate_idle: "Float64",
      avg_charge_rate: "Float64",
      charge_cycles: "Int32",
      warning_count: "Int32",
      error_count: "Int32",
      critical_error_count: "Int32",
      downtime_minutes: "Int32",
    },
    orderBy: "(user_id, prosthetic_id, report_date)",
  },
} as const satisfies Record<string, SeedMart>;

export type SeedMartName = keyof typeof SEED_MARTS;
export const seedMartNames = Object.keys(SEED_MARTS) as SeedMartName[];

export function seedMartDdl(database: string, mart: SeedMart): string {
  const columns = Object.entries(mart.columns).map(([name, type]) => `${name} ${type}`);
  return `CREATE TABLE IF NOT EXISTS ${database}.${mart.table} (
    ${[...columns, "last_updated DateTime", "created_at DateTime"].join(",\n    ")}
  ) ENGINE = MergeTree() PARTITION BY toYYYYMM(report_date) ORDER BY ${mart.orderBy}`;
}

/** The mart read back as it was loaded: dates and decimals as text, the rest as JSON numbers/strings. */
export async function readSeedMart(
  client: ClickHouseClient,
  database: string,
  mart: SeedMart,
): Promise<Record<string, unknown>[]> {
  const select = Object.entries(mart.columns)
    .map(([name, type]) =>
      type === "Date" || type.startsWith("Decimal") ? `toString(${name}) AS ${name}` : name,
    )
    .join(", ");
  const result = await client.query({
    query: `SELECT ${select} FROM ${database}.${mart.table}`,
    format: "JSONEachRow",
  });
  const rows = await result.json<Record<string, unknown>>();
  return rows.map((row) => {
    const out: Record<string, unknown> = { ...row };
    for (const [name, type] of Object.entries(mart.columns)) {
      if (type.startsWith("Decimal")) out[name] = toDecimal2(row[name]);
      else if (type === "Int32" || type === "Float64") out[name] = toNumber(row[name]);
    }
    return out;
  });
}

// Seed 01 §4.3 "Extract CRM: Платежи и подписки", adapted (SEED_ADAPTATIONS 1, 2).
const seedCrmSql = `
SELECT
    u.user_id,
    u.user_uuid,
    to_char(date_trunc('month', pay.payment_date AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS report_date,
    SUM(CASE WHEN pay.status = 'success' THEN pay.amount ELSE 0 END) as successful_payments,
    SUM(CASE WHEN pay.status = 'failed' THEN pay.amount ELSE 0 END) as failed_payments,
    COUNT(CASE WHEN pay.status = 'failed' THEN 1 END) as failed_count,
    COUNT(DISTINCT s.subscription_id) as active_subs,
    SUM(s.monthly_cost) as subscription_cost
FROM crm_users u
LEFT JOIN crm_subscriptions s ON u.user_id = s.user_id AND s.is_active = true
LEFT JOIN crm_payments pay ON s.subscription_id = pay.subscription_id
GROUP BY u.user_id, u.user_uuid, 3`;

// Seed 01 §4.3 "Extract Telemetry: События", adapted (SEED_ADAPTATIONS 1, 2, 4).
const seedEventsSql = `
SELECT
    te.prosthetic_id,
    to_char(date_trunc('month', te.event_timestamp AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS report_date,
    COUNT(CASE WHEN te.event_type = 'power_on' THEN 1 END) as power_on_count,
    COUNT(CASE WHEN te.event_type = 'power_off' THEN 1 END) as power_off_count,
    COUNT(CASE WHEN te.severity = 'warning' THEN 1 END) as warning_count,
    COUNT(CASE WHEN te.severity = 'error' THEN 1 END) as error_count,
    COUNT(CASE WHEN te.severity = 'critical' THEN 1 END) as critical_count
FROM telemetry_events te
GROUP BY te.prosthetic_id, 2`;

// Seed 01 §4.3 "Transform: Метрики батареи", adapted (SEED_ADAPTATIONS 1, 2, 3).
const seedBatterySql = `
SELECT
    prosthetic_id,
    to_char(date_trunc('month', metric_timestamp AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS report_date,
    AVG(CASE WHEN current_ma < 0 THEN ABS(current_ma) ELSE NULL END) as avg_discharge_active,
    AVG(CASE WHEN is_charging THEN current_ma ELSE NULL END) as avg_charge_rate,
    COUNT(DISTINCT
        CASE WHEN charge_level > 95 AND prev_charge_level < 50
        THEN DATE(metric_timestamp AT TIME ZONE 'UTC') END
    ) as charge_cycles
FROM (
    SELECT *, LAG(charge_level) OVER (PARTITION BY prosthetic_id ORDER BY metric_timestamp, metric_id) AS prev_charge_level
    FROM battery_metrics
) b
GROUP BY prosthetic_id, 2`;

type PgRow = Record<string, unknown>;

/** What the extract step hands to the transform (the DAG's XCom). */
export type Extracted =
  | {
      way: "seed";
      users: PgRow[];
      events: PgRow[];
      battery: PgRow[];
      dimension: ProsthesisDimensionRow[];
    }
  | {
      way: "oracle";
      users: Awaited<ReturnType<typeof oracleUserMonthly>>;
      prosthetics: Awaited<ReturnType<typeof oracleProstheticMonthly>>;
    };

export type BatchWay = Extracted["way"];
export const batchWays: readonly BatchWay[] = ["seed", "oracle"];

/** Per-query wall times of an extract, ms (queries of the two databases overlap). */
export type QueryTimes = Record<string, number>;

async function timedQuery<T>(times: QueryTimes, name: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  times[name] = performance.now() - started;
  return result;
}

const pgRows = async (db: pg.ClientBase, sql: string): Promise<PgRow[]> => (await db.query<PgRow>(sql)).rows;

/** Extract: the CRM task and the telemetry task in parallel, one connection each (as two DAG tasks). */
export async function extract(
  way: BatchWay,
  dbs: { crm: pg.ClientBase; telemetry: pg.ClientBase },
  range: MonthRange,
  times: QueryTimes,
): Promise<Extracted> {
  if (way === "seed") {
    const [[users, dimension], [events, battery]] = await Promise.all([
      (async () =>
        [
          await timedQuery(times, "crm: payments and subscriptions", () => pgRows(dbs.crm, seedCrmSql)),
          await timedQuery(times, "crm: prostheses", () => oracleProsthesisDimension(dbs)),
        ] as const)(),
      (async () =>
        [
          await timedQuery(times, "telemetry: events", () => pgRows(dbs.telemetry, seedEventsSql)),
          await timedQuery(times, "telemetry: battery", () => pgRows(dbs.telemetry, seedBatterySql)),
        ] as const)(),
    ]);
    return { way, users, events, battery, dimension };
  }
  const oracle: OracleDatabases = dbs;
  // The telemetry query takes the prostheses as a parameter (no join across databases): the CRM
  // task reads them first, then its own mart while the telemetry task runs.
  const dimension = timedQuery(times, "crm: prostheses", () => oracleProsthesisDimension(oracle));
  const [users, prosthetics] = await Promise.all([
    dimension.then(() =>
      timedQuery(times, "crm: user_monthly_metrics", () => oracleUserMonthly(oracle, range)),
    ),
    dimension.then((d) =>
      timedQuery(times, "telemetry: prosthetic_monthly_metrics", () =>
        oracleProstheticMonthly(oracle, range, d),
      ),
    ),
  ]);
  return { way, users, prosthetics };
}

/** Mart rows keyed by mart, without the metadata columns. */
export type MartRows = Record<SeedMartName, ChRow[]>;

const cents = (decimal: unknown): bigint => {
  const [whole, fraction] = toDecimal2(decimal).split(".") as [string, string];
  return BigInt(whole) * 100n + (whole.startsWith("-") ? -1n : 1n) * BigInt(fraction);
};
const fromCents = (value: bigint): string => {
  const abs = value < 0n ? -value : value;
  return `${value < 0n ? "-" : ""}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
};
const orZero = (value: unknown): number => (value === null || value === undefined ? 0 : toNumber(value));

function pick(row: object, columns: readonly string[]): ChRow {
  const source = row as Record<string, unknown>;
  return Object.fromEntries(columns.map((c) => [c, source[c] as ChRow[string]]));
}

/** Transform: the extracted rows shaped into the seed marts' rows (the DAG's transform tasks). */
export function transform(extracted: Extracted): MartRows {
  const userColumns = Object.keys(SEED_MARTS.user.columns);
  const prostheticColumns = Object.keys(SEED_MARTS.prosthetic.columns);
  if (extracted.way === "oracle") {
    return {
      user: extracted.users.map((r) => pick(r, userColumns)),
      prosthetic: extracted.prosthetics.map((r) => pick(r, prostheticColumns)),
    };
  }
  const user = extracted.users
    // A user whose active subscriptions have no payment at all has no month in this query.
    .filter((r) => r.report_date !== null)
    .map((r) => ({
      report_date: r.report_date as string,
      user_id: toNumber(r.user_id),
      user_uuid: r.user_uuid as string,
      total_payments: fromCents(cents(r.successful_payments) + cents(r.failed_payments)),
      successful_payments: toDecimal2(r.successful_payments),
      failed_payments_count: toNumber(r.failed_count),
      active_subscriptions_count: toNumber(r.active_subs),
      subscription_cost_total: toDecimal2(r.subscription_cost ?? "0"),
    }));
  const dimension = new Map(extracted.dimension.map((d) => [d.prosthetic_id, d]));
  const byKey = new Map<string, { events?: PgRow; battery?: PgRow }>();
  const key = (r: PgRow) => `${String(r.prosthetic_id)}|${String(r.report_date)}`;
  for (const events of extracted.events) byKey.set(key(events), { events });
  for (const battery of extracted.battery) byKey.set(key(battery), { ...byKey.get(key(battery)), battery });
  const prosthetic: ChRow[] = [];
  for (const { events, battery } of byKey.values()) {
    const source = (events ?? battery) as PgRow;
    const device = dimension.get(toNumber(source.prosthetic_id));
    if (!device) continue; // telemetry of a prosthesis not in the CRM: no owner to report it to
    prosthetic.push({
      report_date: source.report_date as string,
      prosthetic_id: device.prosthetic_id,
      user_id: device.user_id,
      user_uuid: device.user_uuid,
      prosthetic_uuid: device.prosthetic_uuid,
      device_type: device.device_type,
      power_on_count: orZero(events?.power_on_count),
      power_off_count: orZero(events?.power_off_count),
      total_active_hours: 0,
      avg_discharge_rate_active: orZero(battery?.avg_discharge_active),
      avg_discharge_rate_idle: 0,
      avg_charge_rate: orZero(battery?.avg_charge_rate),
      charge_cycles: orZero(battery?.charge_cycles),
      warning_count: orZero(events?.warning_count),
      error_count: orZero(events?.error_count),
      critical_error_count: orZero(events?.critical_count),
      downtime_minutes: 0,
    });
  }
  return { user, prosthetic };
}

/** Load: full refresh of both marts, INSERTs of ETL_BATCH_SIZE rows. Returns the rows loaded per mart. */
export async function load(
  client: ClickHouseClient,
  database: string,
  rows: MartRows,
  now: Date,
): Promise<Record<SeedMartName, number>> {
  const stamp = now.toISOString().slice(0, 19).replace("T", " ");
  const loaded = {} as Record<SeedMartName, number>;
  for (const name of seedMartNames) {
    const table = `${database}.${SEED_MARTS[name].table}`;
    await client.command({ query: `TRUNCATE TABLE ${table}` });
    const martRows = rows[name];
    for (let i = 0; i < martRows.length; i += ETL_BATCH_SIZE) {
      const block = martRows
        .slice(i, i + ETL_BATCH_SIZE)
        .map((r) => ({ ...r, last_updated: stamp, created_at: stamp }));
      await insertJsonRows(client, table, block, "");
    }
    loaded[name] = martRows.length;
  }
  return loaded;
}
