import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientBase } from "pg";
import type { ProsthesisStatsRow, StatsGrain } from "../marts/prosthesis-stats.js";
import type { ProstheticMonthlyRow } from "../marts/prosthetic-monthly.js";
import { rangeParams, type MonthRange } from "../marts/range.js";
import type { UserDailyRow } from "../marts/user-daily.js";
import type { UserMonthlyRow } from "../marts/user-monthly.js";
import { toDecimal2, toNumber } from "../marts/values.js";

/**
 * Reference computation of every mart straight from the PostgreSQL sources (docs/metrics.md), for
 * `reconcile`. PostgreSQL cannot join crm_db with telemetry_db, so the current prosthesis dimension
 * is read from crm_db and handed to the telemetry queries as a JSON parameter.
 */
export interface OracleDatabases {
  crm: Pick<ClientBase, "query">;
  telemetry: Pick<ClientBase, "query">;
}

type Metadata = "last_updated" | "created_at" | "etl_processed_at";
export type OracleUserMonthlyRow = Omit<UserMonthlyRow, Metadata>;
export type OracleProstheticMonthlyRow = Omit<ProstheticMonthlyRow, Metadata>;
export type OracleProsthesisStatsRow = Omit<ProsthesisStatsRow, Metadata>;
export type OracleUserDailyRow = Omit<UserDailyRow, Metadata>;

export interface ProsthesisDimensionRow {
  prosthetic_id: number;
  user_id: number;
  user_uuid: string;
  prosthetic_uuid: string;
  chip_id: string;
  device_type: string;
  model: string;
  customer_name: string;
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const sqlCache = new Map<string, string>();
function sql(name: string): string {
  let text = sqlCache.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(dir, `${name}.sql`), "utf8");
    sqlCache.set(name, text);
  }
  return text;
}

type Row = Record<string, unknown>;

async function rows(db: Pick<ClientBase, "query">, name: string, values: unknown[]): Promise<Row[]> {
  const result = await db.query<Row>(sql(name), values);
  return result.rows;
}

/** Numeric columns of a row to numbers (bigint counts arrive as text), the rest kept. */
function numbers<T>(row: Row, columns: readonly string[]): T {
  const out: Row = { ...row };
  for (const c of columns) out[c] = out[c] === null ? null : toNumber(out[c]);
  return out as T;
}

/** First and last month with any source data, or null when the sources are empty. */
export async function oracleDataRange(dbs: OracleDatabases): Promise<{ first: string; last: string } | null> {
  const found = [
    ...(await rows(dbs.crm, "crm_data_range", [])),
    ...(await rows(dbs.telemetry, "telemetry_data_range", [])),
  ];
  const firsts = found.map((r) => r.first_month).filter((m): m is string => typeof m === "string");
  const lasts = found.map((r) => r.last_month).filter((m): m is string => typeof m === "string");
  if (firsts.length === 0) return null;
  return { first: firsts.sort()[0] as string, last: lasts.sort().at(-1) as string };
}

export async function oracleProsthesisDimension(dbs: OracleDatabases): Promise<ProsthesisDimensionRow[]> {
  return (await rows(dbs.crm, "prosthetic_dimension", [])).map((r) =>
    numbers<ProsthesisDimensionRow>(r, ["prosthetic_id", "user_id"]),
  );
}

export async function oracleUserMonthly(
  dbs: OracleDatabases,
  range: MonthRange,
): Promise<OracleUserMonthlyRow[]> {
  const { from, to_end } = rangeParams(range);
  return (await rows(dbs.crm, "user_monthly_metrics", [from, to_end])).map((r) => ({
    ...numbers<OracleUserMonthlyRow>(r, ["user_id", "failed_payments_count", "active_subscriptions_count"]),
    total_payments: toDecimal2(r.total_payments),
    successful_payments: toDecimal2(r.successful_payments),
    failed_payments: toDecimal2(r.failed_payments),
    pending_payments: toDecimal2(r.pending_payments),
    subscription_cost_total: toDecimal2(r.subscription_cost_total),
  }));
}

const prostheticNumbers = [
  "prosthetic_id",
  "user_id",
  "power_on_count",
  "power_off_count",
  "total_active_hours",
  "avg_discharge_rate_active",
  "avg_discharge_rate_idle",
  "avg_charge_rate",
  "charge_cycles",
  "warning_count",
  "error_count",
  "critical_error_count",
  "downtime_minutes",
] as const;

export async function oracleProstheticMonthly(
  dbs: OracleDatabases,
  range: MonthRange,
  dimension?: ProsthesisDimensionRow[],
): Promise<OracleProstheticMonthlyRow[]> {
  const { from, to_end } = rangeParams(range);
  const dim = JSON.stringify(dimension ?? (await oracleProsthesisDimension(dbs)));
  return (await rows(dbs.telemetry, "prosthetic_monthly_metrics", [from, to_end, dim])).map((r) =>
    numbers<OracleProstheticMonthlyRow>(r, prostheticNumbers),
  );
}

const statsNumbers = [
  "user_id",
  "prosthesis_id",
  "report_hour",
  "movements_count",
  "successful_movements",
  "avg_response_time",
  "avg_battery_level",
  "error_count",
] as const;

export async function oracleProsthesisStats(
  dbs: OracleDatabases,
  grain: StatsGrain,
  range: MonthRange,
  dimension?: ProsthesisDimensionRow[],
): Promise<OracleProsthesisStatsRow[]> {
  const { from, to_end } = rangeParams(range);
  const dim = JSON.stringify(dimension ?? (await oracleProsthesisDimension(dbs)));
  return (await rows(dbs.telemetry, "user_prosthesis_stats", [grain, from, to_end, dim])).map((r) =>
    numbers<OracleProsthesisStatsRow>(r, statsNumbers),
  );
}

const dailyNumbers = [
  "user_id",
  "prostheses_count",
  "total_movements",
  "successful_movements",
  "movement_success_rate",
  "avg_response_time_ms",
  "avg_battery_level",
  "total_errors",
  "uptime_hours",
  "usage_hours",
  "power_on_count",
  "warning_count",
  "error_event_count",
  "critical_error_count",
] as const;

export async function oracleUserDaily(
  dbs: OracleDatabases,
  range: MonthRange,
  dimension?: ProsthesisDimensionRow[],
): Promise<OracleUserDailyRow[]> {
  const { from, to_end } = rangeParams(range);
  const dim = JSON.stringify(dimension ?? (await oracleProsthesisDimension(dbs)));
  return (await rows(dbs.telemetry, "user_daily_reports", [from, to_end, dim])).map((r) =>
    numbers<OracleUserDailyRow>(r, dailyNumbers),
  );
}
