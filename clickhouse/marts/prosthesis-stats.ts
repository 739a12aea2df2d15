import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../sql.js";
import { selectedDevices, selectionParams, type DeviceSelection } from "./filters.js";
import { periodParams, type DayRange, type MonthRange } from "./range.js";
import { toNumber, toTimestamp } from "./values.js";

export type StatsGrain = "hour" | "day" | "month";

/** user_prosthesis_stats (seed 02) at hour grain, and its daily / monthly roll-ups. */
export interface ProsthesisStatsRow {
  user_id: number;
  prosthesis_id: number;
  chip_id: string;
  /** UTC day (hour and day grain) or first day of the UTC month (month grain). */
  report_date: string;
  /** 0-23 at hour grain, null otherwise. */
  report_hour: number | null;
  /** Personal data: never exposed to ML (see ml_chip_hourly_stats). */
  customer_name: string;
  prosthesis_model: string;
  movements_count: number;
  successful_movements: number;
  avg_response_time: number;
  avg_battery_level: number;
  error_count: number;
  etl_processed_at: string | null;
}

const grainTable: Record<StatsGrain, { table: string; column: string }> = {
  hour: { table: "chip_hourly_stats", column: "hour" },
  day: { table: "chip_daily_stats", column: "day" },
  month: { table: "chip_monthly_stats", column: "month" },
};

export function prosthesisStatsSql(database: string, grain: StatsGrain, selection: DeviceSelection): string {
  const db = assertDatabaseName(database);
  const { table, column } = grainTable[grain];
  const bound = grain === "hour" ? "toDateTime({from:Date}, 'UTC')" : "{from:Date}";
  const boundEnd = grain === "hour" ? "toDateTime({to_end:Date}, 'UTC')" : "{to_end:Date}";
  return `
    WITH devices AS ${selectedDevices(db, selection)}
    SELECT
      d.user_id AS user_id,
      d.prosthetic_id AS prosthesis_id,
      s.chip_id AS chip_id,
      toString(toDate(s.period)) AS report_date,
      ${grain === "hour" ? "toHour(s.period)" : "NULL"} AS report_hour,
      trimBoth(concat(u.first_name, ' ', u.last_name)) AS customer_name,
      d.model AS prosthesis_model,
      s.movements_count AS movements_count,
      s.successful_movements AS successful_movements,
      s.response_time_sum / s.movements_count AS avg_response_time,
      s.battery_level_sum / s.movements_count AS avg_battery_level,
      s.error_count AS error_count,
      toString(s.last_updated) AS etl_processed_at
    FROM
    (
      SELECT chip_id, ${column} AS period,
        sumMerge(movements_count) AS movements_count,
        sumMerge(successful_movements) AS successful_movements,
        sumMerge(error_count) AS error_count,
        sumMerge(response_time_sum) AS response_time_sum,
        sumMerge(battery_level_sum) AS battery_level_sum,
        max(last_updated) AS last_updated
      FROM ${db}.${table}
      WHERE ${column} >= ${bound} AND ${column} < ${boundEnd} AND chip_id IN (SELECT chip_id FROM devices)
      GROUP BY chip_id, period
      HAVING movements_count != 0
    ) AS s
    INNER JOIN devices AS d ON d.chip_id = s.chip_id
    LEFT JOIN (SELECT user_id, first_name, last_name FROM ${db}.dim_users FINAL) AS u ON u.user_id = d.user_id
    ORDER BY user_id, prosthesis_id, s.period`;
}

/**
 * Finalised user_prosthesis_stats rows (joined to the prosthesis and its owner by chip_id) of the
 * selected devices. A day range reads whole days at hour or day grain (at month grain it selects the
 * months starting inside it).
 */
export async function queryProsthesisStats(
  client: ClickHouseClient,
  database: string,
  grain: StatsGrain,
  period: MonthRange | DayRange,
  selection: DeviceSelection,
): Promise<ProsthesisStatsRow[]> {
  const result = await client.query({
    query: prosthesisStatsSql(database, grain, selection),
    query_params: { ...periodParams(period), ...selectionParams(selection) },
    format: "JSONEachRow",
  });
  const rows = await result.json<Record<string, unknown>>();
  return rows.map((r) => ({
    user_id: toNumber(r.user_id),
    prosthesis_id: toNumber(r.prosthesis_id),
    chip_id: String(r.chip_id),
    report_date: String(r.report_date),
    report_hour: r.report_hour === null ? null : toNumber(r.report_hour),
    customer_name: String(r.customer_name),
    prosthesis_model: String(r.prosthesis_model),
    movements_count: toNumber(r.movements_count),
    successful_movements: toNumber(r.successful_movements),
    avg_response_time: toNumber(r.avg_response_time),
    avg_battery_level: toNumber(r.avg_battery_level),
    error_count: toNumber(r.error_count),
    etl_processed_at: toTimestamp(r.etl_processed_at),
  }));
}
