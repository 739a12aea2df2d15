/**
 * Order-dependent device metrics, computed at query time from the net rows of the signed change
 * tables (docs/metrics.md §3): power sessions, outages, active/idle discharge and charge cycles.
 * Every `source` argument is a table expression: a CTE name or a parenthesised subquery.
 * Each device's whole history is read (ORDER BY prosthetic_id makes that a range scan) because
 * the state at a month's start depends on earlier events.
 */

import type { ClickHouseClient } from "@clickhouse/client";

export type Grain = "day" | "month";

/** What the engine offers beyond plain SQL that the device-history queries can use. */
export interface EngineFeatures {
  /**
   * `WITH name AS MATERIALIZED (…)` (ClickHouse 26.x, setting `enable_materialized_cte`): a CTE
   * computed once per query into a temporary table. Without it ClickHouse inlines a CTE at every
   * use, and a month's device figures read the selected devices (a FINAL read of dim_prosthetics)
   * about eight times, each device's net events three times and its power sessions twice. One
   * user's month, median over users 95-104 of bench:api's ~10k-user data set, interleaved: device
   * figures 209 ms plain, 124 ms with the three history CTEs, 123 ms with devices too; daily
   * reports 113 / 88 / 79 ms (bench:freshness' scale-1 data set: 0.51-0.68 s -> 0.27-0.30 s).
   */
  materializedCte: boolean;
}

export const PLAIN_SQL: EngineFeatures = Object.freeze({ materializedCte: false });

/** Asks the engine (server or embedded) which features it has; throws when it does not answer. */
export async function detectEngineFeatures(client: ClickHouseClient): Promise<EngineFeatures> {
  const result = await client.query({
    query: "SELECT count() AS n FROM system.settings WHERE name = 'enable_materialized_cte'",
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ n: string | number }>();
  return { materializedCte: Number(row?.n) > 0 };
}

/**
 * The engine's features, asked once and kept. A question the engine did not answer (a server away
 * for a moment) gives plain SQL for the reads waiting on it and is asked again by the next one:
 * before, that one failure meant plain SQL (the slower queries) for the rest of the process's life.
 */
export function engineFeaturesOnce(client: ClickHouseClient): () => Promise<EngineFeatures> {
  let known: Promise<EngineFeatures> | undefined;
  return () => {
    known ??= detectEngineFeatures(client).catch(() => {
      known = undefined;
      return PLAIN_SQL;
    });
    return known;
  };
}

/** `name AS (body)`, or computed once per query where the engine can (EngineFeatures). */
export const cte = (name: string, body: string, features: EngineFeatures): string =>
  `${name} AS ${features.materializedCte ? "MATERIALIZED " : ""}(${body})`;

/** The query's SETTINGS clause for `features` (empty without any). */
export const featureSettings = (features: EngineFeatures): string =>
  features.materializedCte ? "\n    SETTINGS enable_materialized_cte = 1" : "";

/** Net telemetry events of the selected devices: rows whose signed versions sum to > 0. */
export function netEvents(db: string, devices: string): string {
  return `SELECT prosthetic_id, event_id, event_type, severity, event_timestamp
    FROM ${db}.telemetry_event_changes
    WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${devices})
    GROUP BY prosthetic_id, event_id, event_type, severity, event_timestamp
    HAVING sum(sign) > 0`;
}

export function netBattery(db: string, devices: string): string {
  return `SELECT prosthetic_id, metric_id, metric_timestamp, charge_level, current_ma, is_charging
    FROM ${db}.battery_metric_changes
    WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${devices})
    GROUP BY prosthetic_id, metric_id, metric_timestamp, charge_level, current_ma, is_charging
    HAVING sum(sign) > 0`;
}

/**
 * Intervals [start_ts, end_ts) over the events of `source` matching `filter`, ordered by
 * (event_timestamp, event_id): an interval opens at a start event whose predecessor is not a start,
 * and closes at the first end event after it. Unclosed and zero-length intervals are left out.
 */
function intervals(source: string, filter: string, isStart: string): string {
  return `SELECT prosthetic_id, ts AS start_ts, assumeNotNull(next_end) AS end_ts
    FROM
    (
      SELECT prosthetic_id, ts, is_start,
        lagInFrame(is_start, 1, toUInt8(0)) OVER (PARTITION BY prosthetic_id ORDER BY ts, event_id
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev_is_start,
        minIf(toNullable(ts), is_start = 0) OVER (PARTITION BY prosthetic_id ORDER BY ts, event_id
          ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_end
      FROM (SELECT prosthetic_id, event_id, event_timestamp AS ts, toUInt8(${isStart}) AS is_start
            FROM ${source} WHERE ${filter})
    )
    WHERE is_start = 1 AND prev_is_start = 0 AND next_end IS NOT NULL AND next_end > ts`;
}

/** Power sessions: power_on .. next power_off. */
export const sessions = (source: string) =>
  intervals(source, "event_type IN ('power_on', 'power_off')", "event_type = 'power_on'");

/** Outages: a critical-severity event .. next power_on. */
export const outages = (source: string) =>
  intervals(source, "severity = 'critical' OR event_type = 'power_on'", "event_type != 'power_on'");

/** Microseconds of each interval falling into each UTC day or month of the requested range. */
export function overlapByBucket(intervalSource: string, grain: Grain): string {
  const start = grain === "month" ? "toStartOfMonth" : "toDate";
  const add = grain === "month" ? "addMonths" : "addDays";
  return `SELECT prosthetic_id, bucket, sum(overlap_us) AS us
    FROM
    (
      SELECT prosthetic_id,
        arrayJoin(arrayMap(i -> ${add}(${start}(start_ts), i),
          range(toUInt64(dateDiff('${grain}', ${start}(start_ts), ${start}(end_ts)) + 1)))) AS bucket,
        least(toUnixTimestamp64Micro(end_ts), toUnixTimestamp64Micro(toDateTime64(${add}(bucket, 1), 6, 'UTC')))
          - greatest(toUnixTimestamp64Micro(start_ts), toUnixTimestamp64Micro(toDateTime64(bucket, 6, 'UTC'))) AS overlap_us
      FROM ${intervalSource}
      WHERE end_ts > toDateTime64({from:Date}, 6, 'UTC') AND start_ts < toDateTime64({to_end:Date}, 6, 'UTC')
    )
    WHERE overlap_us > 0 AND bucket >= {from:Date} AND bucket < {to_end:Date}
    GROUP BY prosthetic_id, bucket`;
}

/** Discharging samples (not charging, current < 0) split by whether a power session covers them. */
export function dischargeByMonth(batterySource: string, sessionSource: string): string {
  return `SELECT m.prosthetic_id AS prosthetic_id, toStartOfMonth(m.metric_timestamp) AS bucket,
      sumIf(-m.current_ma, s.end_ts > m.metric_timestamp) AS active_ma_sum,
      countIf(s.end_ts > m.metric_timestamp) AS active_count,
      sumIf(-m.current_ma, s.end_ts <= m.metric_timestamp) AS idle_ma_sum,
      countIf(s.end_ts <= m.metric_timestamp) AS idle_count
    FROM
    (
      SELECT prosthetic_id, metric_timestamp, current_ma FROM ${batterySource}
      WHERE is_charging = 0 AND current_ma < 0
        AND metric_timestamp >= toDateTime64({from:Date}, 6, 'UTC') AND metric_timestamp < toDateTime64({to_end:Date}, 6, 'UTC')
    ) AS m
    ASOF LEFT JOIN ${sessionSource} AS s ON m.prosthetic_id = s.prosthetic_id AND m.metric_timestamp >= s.start_ts
    GROUP BY prosthetic_id, bucket`;
}

/** Charge cycles: a sample above 95 % whose previous low-or-high sample was below 50 %. */
export function chargeCyclesByMonth(batterySource: string): string {
  return `SELECT prosthetic_id, toStartOfMonth(metric_timestamp) AS bucket, countIf(is_high = 1 AND prev_high = 0) AS charge_cycles
    FROM
    (
      SELECT prosthetic_id, metric_timestamp, is_high,
        lagInFrame(is_high, 1, toUInt8(1)) OVER (PARTITION BY prosthetic_id ORDER BY metric_timestamp, metric_id
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev_high
      FROM (SELECT prosthetic_id, metric_id, metric_timestamp, toUInt8(charge_level > 95) AS is_high
            FROM ${batterySource} WHERE charge_level < 50 OR charge_level > 95)
    )
    WHERE metric_timestamp >= toDateTime64({from:Date}, 6, 'UTC') AND metric_timestamp < toDateTime64({to_end:Date}, 6, 'UTC')
    GROUP BY prosthetic_id, bucket
    HAVING charge_cycles > 0`;
}
