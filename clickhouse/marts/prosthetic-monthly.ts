import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../sql.js";
import {
  PLAIN_SQL,
  chargeCyclesByMonth,
  cte,
  batterySpan,
  eventSpan,
  featureSettings,
  dischargeByMonth,
  netBattery,
  netEvents,
  outages,
  overlapByBucket,
  sessions,
  type EngineFeatures,
} from "./device-history.js";
import { selectedDevicesQuery, selectionParams, type DeviceSelection } from "./filters.js";
import { rangeParams, type MonthRange } from "./range.js";
import { toNumber, toTimestamp } from "./values.js";

/** report_prosthetic_monthly_metrics (seed 01 §2.3), one row per prosthesis and UTC month. */
export interface ProstheticMonthlyRow {
  report_date: string;
  prosthetic_id: number;
  user_id: number;
  user_uuid: string;
  prosthetic_uuid: string;
  device_type: string;
  power_on_count: number;
  power_off_count: number;
  total_active_hours: number;
  avg_discharge_rate_active: number;
  avg_discharge_rate_idle: number;
  avg_charge_rate: number;
  charge_cycles: number;
  warning_count: number;
  error_count: number;
  critical_error_count: number;
  downtime_minutes: number;
  last_updated: string | null;
  created_at: string | null;
}

/** The month mart's event counts of the selected devices (`devices`), per device and month. */
const eventCounts = (db: string): string => `
    SELECT prosthetic_id, month AS bucket,
      sumMerge(events_count) AS events_count, sumMerge(power_on_count) AS power_on_count,
      sumMerge(power_off_count) AS power_off_count, sumMerge(warning_count) AS warning_count,
      sumMerge(error_count) AS error_count, sumMerge(critical_error_count) AS critical_error_count,
      min(created_at) AS created_at, max(last_updated) AS last_updated
    FROM ${db}.prosthetic_event_monthly
    WHERE month >= {from:Date} AND month < {to_end:Date} AND prosthetic_id IN (SELECT prosthetic_id FROM devices)
    GROUP BY prosthetic_id, bucket
    HAVING events_count != 0`;

/** The month mart's battery counts of the selected devices (`devices`), per device and month. */
const batteryCounts = (db: string): string => `
    SELECT prosthetic_id, month AS bucket,
      sumMerge(metrics_count) AS metrics_count, sumMerge(charging_count) AS charging_count,
      sumMerge(charging_ma_sum) AS charging_ma_sum,
      min(created_at) AS created_at, max(last_updated) AS last_updated
    FROM ${db}.prosthetic_battery_monthly
    WHERE month >= {from:Date} AND month < {to_end:Date} AND prosthetic_id IN (SELECT prosthetic_id FROM devices)
    GROUP BY prosthetic_id, bucket
    HAVING metrics_count != 0`;

export function prostheticMonthlySql(
  database: string,
  selection: DeviceSelection,
  features: EngineFeatures = PLAIN_SQL,
): string {
  const db = assertDatabaseName(database);
  return `
    WITH
      devices AS (${selectedDevicesQuery(db, selection)}),
      event_span AS (${eventSpan(db, "devices")}),
      battery_span AS (${batterySpan(db, "devices")}),
      ${cte("net_events", netEvents(db, "devices", "event_span"), features)},
      ${cte("net_battery", netBattery(db, "devices", "battery_span"), features)},
      ${cte("power_sessions", sessions("net_events"), features)},
      ${cte("active", overlapByBucket("power_sessions", "month"), features)},
      ${cte("down", overlapByBucket(`(${outages("net_events")})`, "month"), features)},
      ${cte("dis", dischargeByMonth("net_battery", "power_sessions"), features)},
      ${cte("cyc", chargeCyclesByMonth("net_battery"), features)},
      ${cte("ev", eventCounts(db), features)},
      ${cte("bat", batteryCounts(db), features)}
    SELECT
      toString(k.bucket) AS report_date,
      k.prosthetic_id AS prosthetic_id,
      d.user_id AS user_id,
      u.user_uuid AS user_uuid,
      d.prosthetic_uuid AS prosthetic_uuid,
      d.device_type AS device_type,
      ev.power_on_count AS power_on_count,
      ev.power_off_count AS power_off_count,
      active.us / 3600000000 AS total_active_hours,
      if(dis.active_count = 0, 0, dis.active_ma_sum / dis.active_count) AS avg_discharge_rate_active,
      if(dis.idle_count = 0, 0, dis.idle_ma_sum / dis.idle_count) AS avg_discharge_rate_idle,
      if(bat.charging_count = 0, 0, bat.charging_ma_sum / bat.charging_count) AS avg_charge_rate,
      cyc.charge_cycles AS charge_cycles,
      ev.warning_count AS warning_count,
      ev.error_count AS error_count,
      ev.critical_error_count AS critical_error_count,
      intDiv(down.us, 60000000) AS downtime_minutes,
      toString(greatest(ev.last_updated, bat.last_updated)) AS last_updated,
      toString(if(ev.events_count = 0, bat.created_at,
        if(bat.metrics_count = 0, ev.created_at, least(ev.created_at, bat.created_at)))) AS created_at
    FROM
    (
      SELECT prosthetic_id, bucket FROM ev
      UNION DISTINCT SELECT prosthetic_id, bucket FROM bat
      UNION DISTINCT SELECT prosthetic_id, bucket FROM active
      UNION DISTINCT SELECT prosthetic_id, bucket FROM down
    ) AS k
    INNER JOIN devices AS d ON d.prosthetic_id = k.prosthetic_id
    LEFT JOIN (SELECT user_id, user_uuid FROM ${db}.dim_users FINAL) AS u ON u.user_id = d.user_id
    LEFT JOIN ev ON ev.prosthetic_id = k.prosthetic_id AND ev.bucket = k.bucket
    LEFT JOIN bat ON bat.prosthetic_id = k.prosthetic_id AND bat.bucket = k.bucket
    LEFT JOIN active ON active.prosthetic_id = k.prosthetic_id AND active.bucket = k.bucket
    LEFT JOIN down ON down.prosthetic_id = k.prosthetic_id AND down.bucket = k.bucket
    LEFT JOIN dis ON dis.prosthetic_id = k.prosthetic_id AND dis.bucket = k.bucket
    LEFT JOIN cyc ON cyc.prosthetic_id = k.prosthetic_id AND cyc.bucket = k.bucket
    ORDER BY user_id, prosthetic_id, report_date${featureSettings(features)}`;
}

/** Finalised report_prosthetic_monthly_metrics rows of the selected devices for a month range. */
export async function queryProstheticMonthlyMetrics(
  client: ClickHouseClient,
  database: string,
  range: MonthRange,
  selection: DeviceSelection,
  features: EngineFeatures = PLAIN_SQL,
): Promise<ProstheticMonthlyRow[]> {
  const result = await client.query({
    query: prostheticMonthlySql(database, selection, features),
    query_params: { ...rangeParams(range), ...selectionParams(selection) },
    format: "JSONEachRow",
  });
  const rows = await result.json<Record<string, unknown>>();
  return rows.map((r) => ({
    report_date: String(r.report_date),
    prosthetic_id: toNumber(r.prosthetic_id),
    user_id: toNumber(r.user_id),
    user_uuid: String(r.user_uuid),
    prosthetic_uuid: String(r.prosthetic_uuid),
    device_type: String(r.device_type),
    power_on_count: toNumber(r.power_on_count),
    power_off_count: toNumber(r.power_off_count),
    total_active_hours: toNumber(r.total_active_hours),
    avg_discharge_rate_active: toNumber(r.avg_discharge_rate_active),
    avg_discharge_rate_idle: toNumber(r.avg_discharge_rate_idle),
    avg_charge_rate: toNumber(r.avg_charge_rate),
    charge_cycles: toNumber(r.charge_cycles),
    warning_count: toNumber(r.warning_count),
    error_count: toNumber(r.error_count),
    critical_error_count: toNumber(r.critical_error_count),
    downtime_minutes: toNumber(r.downtime_minutes),
    last_updated: toTimestamp(r.last_updated),
    created_at: toTimestamp(r.created_at),
  }));
}
