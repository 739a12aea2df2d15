/**
 * Order-dependent device metrics, computed at query time from the net rows of the signed change
 * tables (docs/metrics.md §3): power sessions, outages, active/idle discharge and charge cycles.
 * Every `source` argument is a table expression: a CTE name or a parenthesised subquery.
 * The state at a range's start depends on earlier events, but only back to the last event that
 * closes every interval open before it: a read takes each device's history from there (eventSpan,
 * batterySpan), and the whole history only when no such event lies within `SPAN_WINDOW_DAYS`.
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
   * The devices stay a plain CTE since the reads start their history at a span (eventSpan).
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

/** How many days before {from} (and after {to_end}) eventSpan and batterySpan look for a bound. */
export const SPAN_WINDOW_DAYS = 7;

const fromTs = "toDateTime64({from:Date}, 6, 'UTC')";
const toEndTs = "toDateTime64({to_end:Date}, 6, 'UTC')";
const beginningOfTime = "toDateTime64(0, 6, 'UTC')";
const endOfTime = "toDateTime64('2299-12-31 23:59:59', 6, 'UTC')";

const netEventKey = "prosthetic_id, event_id, event_type, severity, event_timestamp";
const netBatteryKey = "prosthetic_id, metric_id, metric_timestamp, charge_level, current_ma, is_charging";
/** The samples a charge cycle is counted over (chargeCyclesByMonth). */
const lowOrHigh = "charge_level < 50 OR charge_level > 95";

/**
 * Net telemetry events of the selected devices: rows whose signed versions sum to > 0. With `span`
 * (the name of an eventSpan CTE), only those from its lower to its upper bound.
 */
export function netEvents(db: string, devices: string, span?: string): string {
  const within = span
    ? `\n      AND event_timestamp >= ((SELECT (lower, upper) FROM ${span}) AS span_bounds).1 AND event_timestamp <= span_bounds.2`
    : "";
  return `SELECT ${netEventKey}
    FROM ${db}.telemetry_event_changes
    WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${devices})${within}
    GROUP BY ${netEventKey}
    HAVING sum(sign) > 0`;
}

/**
 * Net battery samples of the selected devices. With `span` (the name of a batterySpan CTE), only
 * those from its lower bound to {to_end}.
 */
export function netBattery(db: string, devices: string, span?: string): string {
  const within = span
    ? `\n      AND metric_timestamp >= (SELECT lower FROM ${span}) AND metric_timestamp < ${toEndTs}`
    : "";
  return `SELECT ${netBatteryKey}
    FROM ${db}.battery_metric_changes
    WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${devices})${within}
    GROUP BY ${netBatteryKey}
    HAVING sum(sign) > 0`;
}

/**
 * One row (lower, upper): the event times from which to which the selected devices' net events give
 * every power session and outage overlapping [{from}, {to_end}) as the whole history does.
 *
 * A session ends at the first power_off after its start, so a net power_off p before {from} closes
 * every session that started before it, by p's time: they cannot overlap the range. The events from
 * p on are a suffix of the ordered history; the sessions starting after p see the same predecessor
 * and the same following events as in the whole history (the first event of a suffix loses its
 * predecessor, which can only open a session ending by p). The same holds for outages with a
 * power_on. After the range, a power_off q (a power_on for outages) at or after {to_end} closes
 * every interval started before {to_end} by q's time, so later events change nothing. Any such
 * events do; the last before and the first after, within SPAN_WINDOW_DAYS of the range, keep the
 * read short. A device with none on a side reads its whole history on that side, and the bounds
 * are the widest over the selected devices (each device's history from its own bound on would do;
 * one span lets the primary key skip the rest). Discharge samples are matched to the latest session
 * starting before them (ASOF): one that ended before {from} leaves a sample idle either way.
 *
 * netEvents reads the span with scalar subqueries, which the engine evaluates while it plans the
 * query, before any MATERIALIZED CTE is filled: the span and the devices it reads must be plain CTEs
 * (over a materialized `devices` the span sees no device and reads nothing).
 */
export function eventSpan(db: string, devices: string): string {
  const near = `SELECT prosthetic_id, event_type, event_timestamp
        FROM ${db}.telemetry_event_changes
        WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${devices})
          AND event_type IN ('power_on', 'power_off')
          AND ((event_timestamp >= ${fromTs} - toIntervalDay(${SPAN_WINDOW_DAYS}) AND event_timestamp < ${fromTs})
            OR (event_timestamp >= ${toEndTs} AND event_timestamp < ${toEndTs} + toIntervalDay(${SPAN_WINDOW_DAYS})))
        GROUP BY ${netEventKey}
        HAVING sum(sign) > 0`;
  const before = (type: string) => `event_type = '${type}' AND event_timestamp < ${fromTs}`;
  const after = (type: string) => `event_type = '${type}' AND event_timestamp >= ${toEndTs}`;
  return `SELECT
      min(if(b.offs_before > 0 AND b.ons_before > 0, least(b.last_off, b.last_on), ${beginningOfTime})) AS lower,
      max(if(b.offs_after > 0 AND b.ons_after > 0, greatest(b.first_off, b.first_on), ${endOfTime})) AS upper
    FROM ${devices} AS d
    LEFT JOIN
    (
      SELECT prosthetic_id,
        countIf(${before("power_off")}) AS offs_before, maxIf(event_timestamp, ${before("power_off")}) AS last_off,
        countIf(${before("power_on")}) AS ons_before, maxIf(event_timestamp, ${before("power_on")}) AS last_on,
        countIf(${after("power_off")}) AS offs_after, minIf(event_timestamp, ${after("power_off")}) AS first_off,
        countIf(${after("power_on")}) AS ons_after, minIf(event_timestamp, ${after("power_on")}) AS first_on
      FROM (${near})
      GROUP BY prosthetic_id
    ) AS b ON b.prosthetic_id = d.prosthetic_id`;
}

/**
 * One row (lower): the sample time from which the selected devices' net battery samples give every
 * charge cycle in [{from}, {to_end}) as the whole history does: a low-or-high sample before {from}
 * (the last within SPAN_WINDOW_DAYS) is the predecessor a cycle looks back to, and what came before
 * it is not looked at. A device without one reads its whole history; the lowest bound of the
 * selected devices serves all (see eventSpan). Discharge reads only samples in the range.
 */
export function batterySpan(db: string, devices: string): string {
  return `SELECT min(if(b.samples > 0, b.last_sample, ${beginningOfTime})) AS lower
    FROM ${devices} AS d
    LEFT JOIN
    (
      SELECT prosthetic_id, count() AS samples, max(metric_timestamp) AS last_sample
      FROM
      (
        SELECT ${netBatteryKey}
        FROM ${db}.battery_metric_changes
        WHERE prosthetic_id IN (SELECT prosthetic_id FROM ${devices})
          AND metric_timestamp >= ${fromTs} - toIntervalDay(${SPAN_WINDOW_DAYS}) AND metric_timestamp < ${fromTs}
        GROUP BY ${netBatteryKey}
        HAVING sum(sign) > 0
      )
      WHERE ${lowOrHigh}
      GROUP BY prosthetic_id
    ) AS b ON b.prosthetic_id = d.prosthetic_id`;
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
            FROM ${batterySource} WHERE ${lowOrHigh})
    )
    WHERE metric_timestamp >= toDateTime64({from:Date}, 6, 'UTC') AND metric_timestamp < toDateTime64({to_end:Date}, 6, 'UTC')
    GROUP BY prosthetic_id, bucket
    HAVING charge_cycles > 0`;
}
