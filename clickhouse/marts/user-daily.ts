import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../sql.js";
import {
  PLAIN_SQL,
  cte,
  eventSpan,
  featureSettings,
  netEvents,
  overlapByBucket,
  sessions,
  type EngineFeatures,
} from "./device-history.js";
import { selectedDevicesQuery, selectionParams, type UserSelection } from "./filters.js";
import { periodParams, type DayRange, type MonthRange } from "./range.js";
import { toNumber, toTimestamp } from "./values.js";

/** user_daily_reports (seed 05, detail as in seed 04's daily report): one row per user and UTC day. */
export interface UserDailyRow {
  report_date: string;
  user_id: number;
  user_uuid: string;
  prostheses_count: number;
  total_movements: number;
  successful_movements: number;
  movement_success_rate: number;
  avg_response_time_ms: number;
  avg_battery_level: number;
  total_errors: number;
  uptime_hours: number;
  usage_hours: number;
  power_on_count: number;
  warning_count: number;
  error_event_count: number;
  critical_error_count: number;
  last_updated: string | null;
}

export function userDailySql(
  database: string,
  selection: UserSelection,
  features: EngineFeatures = PLAIN_SQL,
): string {
  const db = assertDatabaseName(database);
  return `
    WITH
      devices AS (${selectedDevicesQuery(db, selection)}),
      event_span AS (${eventSpan(db, "devices")}),
      ${cte("net_events", netEvents(db, "devices", "event_span"), features)},
      mov AS (
        SELECT d.user_id AS user_id, toDate(h.hour) AS day,
          sum(h.movements_count) AS total_movements,
          sum(h.successful_movements) AS successful_movements,
          sum(h.error_count) AS total_errors,
          sum(h.response_time_sum) AS response_time_sum,
          sum(h.battery_level_sum) AS battery_level_sum,
          uniqExact(h.hour) AS uptime_hours,
          uniqExact(d.prosthetic_id) AS prostheses_count,
          max(h.last_updated) AS last_updated
        FROM
        (
          SELECT chip_id, hour,
            sumMerge(movements_count) AS movements_count,
            sumMerge(successful_movements) AS successful_movements,
            sumMerge(error_count) AS error_count,
            sumMerge(response_time_sum) AS response_time_sum,
            sumMerge(battery_level_sum) AS battery_level_sum,
            max(last_updated) AS last_updated
          FROM ${db}.chip_hourly_stats
          WHERE hour >= toDateTime({from:Date}, 'UTC') AND hour < toDateTime({to_end:Date}, 'UTC')
            AND chip_id IN (SELECT chip_id FROM devices)
          GROUP BY chip_id, hour
          HAVING movements_count != 0
        ) AS h
        INNER JOIN devices AS d ON d.chip_id = h.chip_id
        GROUP BY user_id, day
      ),
      ev AS (
        SELECT d.user_id AS user_id, e.day AS day,
          sum(e.events_count) AS events_count,
          sum(e.power_on_count) AS power_on_count,
          sum(e.warning_count) AS warning_count,
          sum(e.error_count) AS error_event_count,
          sum(e.critical_error_count) AS critical_error_count,
          max(e.last_updated) AS last_updated
        FROM
        (
          SELECT prosthetic_id, day,
            sumMerge(events_count) AS events_count, sumMerge(power_on_count) AS power_on_count,
            sumMerge(warning_count) AS warning_count, sumMerge(error_count) AS error_count,
            sumMerge(critical_error_count) AS critical_error_count, max(last_updated) AS last_updated
          FROM ${db}.prosthetic_event_daily
          WHERE day >= {from:Date} AND day < {to_end:Date} AND prosthetic_id IN (SELECT prosthetic_id FROM devices)
          GROUP BY prosthetic_id, day
          HAVING events_count != 0
        ) AS e
        INNER JOIN devices AS d ON d.prosthetic_id = e.prosthetic_id
        GROUP BY user_id, day
      ),
      usage AS (
        SELECT d.user_id AS user_id, o.bucket AS day, sum(o.us) AS us
        FROM (${overlapByBucket(`(${sessions("net_events")})`, "day")}) AS o
        INNER JOIN devices AS d ON d.prosthetic_id = o.prosthetic_id
        GROUP BY user_id, day
      )
    SELECT
      toString(k.day) AS report_date,
      k.user_id AS user_id,
      u.user_uuid AS user_uuid,
      mov.prostheses_count AS prostheses_count,
      mov.total_movements AS total_movements,
      mov.successful_movements AS successful_movements,
      if(mov.total_movements = 0, 0, mov.successful_movements / mov.total_movements) AS movement_success_rate,
      if(mov.total_movements = 0, 0, mov.response_time_sum / mov.total_movements) AS avg_response_time_ms,
      if(mov.total_movements = 0, 0, mov.battery_level_sum / mov.total_movements) AS avg_battery_level,
      mov.total_errors AS total_errors,
      mov.uptime_hours AS uptime_hours,
      usage.us / 3600000000 AS usage_hours,
      ev.power_on_count AS power_on_count,
      ev.warning_count AS warning_count,
      ev.error_event_count AS error_event_count,
      ev.critical_error_count AS critical_error_count,
      toString(greatest(mov.last_updated, ev.last_updated)) AS last_updated
    FROM
    (
      SELECT user_id, day FROM mov
      UNION DISTINCT SELECT user_id, day FROM ev
      UNION DISTINCT SELECT user_id, day FROM usage
    ) AS k
    LEFT JOIN (SELECT user_id, user_uuid FROM ${db}.dim_users FINAL) AS u ON u.user_id = k.user_id
    LEFT JOIN mov ON mov.user_id = k.user_id AND mov.day = k.day
    LEFT JOIN ev ON ev.user_id = k.user_id AND ev.day = k.day
    LEFT JOIN usage ON usage.user_id = k.user_id AND usage.day = k.day
    ORDER BY user_id, report_date${featureSettings(features)}`;
}

/**
 * Finalised user_daily_reports rows of the selected users for a month or day range; devices belong
 * to their current owner (dim_prosthetics).
 */
export async function queryUserDailyReports(
  client: ClickHouseClient,
  database: string,
  period: MonthRange | DayRange,
  selection: UserSelection,
  features: EngineFeatures = PLAIN_SQL,
): Promise<UserDailyRow[]> {
  const result = await client.query({
    query: userDailySql(database, selection, features),
    query_params: { ...periodParams(period), ...selectionParams(selection) },
    format: "JSONEachRow",
  });
  const rows = await result.json<Record<string, unknown>>();
  return rows.map((r) => ({
    report_date: String(r.report_date),
    user_id: toNumber(r.user_id),
    user_uuid: String(r.user_uuid),
    prostheses_count: toNumber(r.prostheses_count),
    total_movements: toNumber(r.total_movements),
    successful_movements: toNumber(r.successful_movements),
    movement_success_rate: toNumber(r.movement_success_rate),
    avg_response_time_ms: toNumber(r.avg_response_time_ms),
    avg_battery_level: toNumber(r.avg_battery_level),
    total_errors: toNumber(r.total_errors),
    uptime_hours: toNumber(r.uptime_hours),
    usage_hours: toNumber(r.usage_hours),
    power_on_count: toNumber(r.power_on_count),
    warning_count: toNumber(r.warning_count),
    error_event_count: toNumber(r.error_event_count),
    critical_error_count: toNumber(r.critical_error_count),
    last_updated: toTimestamp(r.last_updated),
  }));
}
