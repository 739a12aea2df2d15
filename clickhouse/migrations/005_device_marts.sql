-- report_prosthetic_monthly_metrics and user_daily_reports, additive part:
-- telemetry_event_changes -> prosthetic_event_daily -> prosthetic_event_monthly
-- battery_metric_changes  -> prosthetic_battery_daily -> prosthetic_battery_monthly
-- Keyed by prosthetic_id: the owner (user_id) is a dimension attribute joined at query time, so a
-- re-assigned prosthesis moves its whole history to the new owner without rewriting any state.
-- Order-dependent metrics (sessions, downtime, charge cycles, active/idle discharge) are computed
-- at query time from the change tables (clickhouse/marts/intervals.ts).

CREATE TABLE IF NOT EXISTS ${db}.prosthetic_event_daily
(
    prosthetic_id        Int32,
    day                  Date,
    events_count         AggregateFunction(sum, Int64),
    power_on_count       AggregateFunction(sum, Int64),
    power_off_count      AggregateFunction(sum, Int64),
    warning_count        AggregateFunction(sum, Int64),
    error_count          AggregateFunction(sum, Int64),
    critical_error_count AggregateFunction(sum, Int64),
    created_at           SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated         SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (prosthetic_id, day)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.prosthetic_event_monthly
(
    prosthetic_id        Int32,
    month                Date,
    events_count         AggregateFunction(sum, Int64),
    power_on_count       AggregateFunction(sum, Int64),
    power_off_count      AggregateFunction(sum, Int64),
    warning_count        AggregateFunction(sum, Int64),
    error_count          AggregateFunction(sum, Int64),
    critical_error_count AggregateFunction(sum, Int64),
    created_at           SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated         SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (prosthetic_id, month)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.prosthetic_event_daily_mv TO ${db}.prosthetic_event_daily AS
SELECT
    prosthetic_id,
    toDate(event_timestamp) AS day,
    sumState(toInt64(sign)) AS events_count,
    sumState(toInt64(sign) * (event_type = 'power_on')) AS power_on_count,
    sumState(toInt64(sign) * (event_type = 'power_off')) AS power_off_count,
    sumState(toInt64(sign) * (severity = 'warning')) AS warning_count,
    sumState(toInt64(sign) * (severity = 'error')) AS error_count,
    sumState(toInt64(sign) * (severity = 'critical')) AS critical_error_count,
    min(now64(3, 'UTC')) AS created_at,
    max(now64(3, 'UTC')) AS last_updated
FROM ${db}.telemetry_event_changes
GROUP BY prosthetic_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.prosthetic_event_monthly_mv TO ${db}.prosthetic_event_monthly AS
SELECT
    prosthetic_id,
    toStartOfMonth(day) AS month,
    sumMergeState(events_count) AS events_count,
    sumMergeState(power_on_count) AS power_on_count,
    sumMergeState(power_off_count) AS power_off_count,
    sumMergeState(warning_count) AS warning_count,
    sumMergeState(error_count) AS error_count,
    sumMergeState(critical_error_count) AS critical_error_count,
    min(created_at) AS created_at,
    max(last_updated) AS last_updated
FROM ${db}.prosthetic_event_daily
GROUP BY prosthetic_id, month;

CREATE TABLE IF NOT EXISTS ${db}.prosthetic_battery_daily
(
    prosthetic_id     Int32,
    day               Date,
    metrics_count     AggregateFunction(sum, Int64),
    charging_count    AggregateFunction(sum, Int64),
    charging_ma_sum   AggregateFunction(sum, Float64),
    created_at        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated      SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (prosthetic_id, day)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.prosthetic_battery_monthly
(
    prosthetic_id     Int32,
    month             Date,
    metrics_count     AggregateFunction(sum, Int64),
    charging_count    AggregateFunction(sum, Int64),
    charging_ma_sum   AggregateFunction(sum, Float64),
    created_at        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated      SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (prosthetic_id, month)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.prosthetic_battery_daily_mv TO ${db}.prosthetic_battery_daily AS
SELECT
    prosthetic_id,
    toDate(metric_timestamp) AS day,
    sumState(toInt64(sign)) AS metrics_count,
    sumState(toInt64(sign) * is_charging) AS charging_count,
    sumState(current_ma * sign * is_charging) AS charging_ma_sum,
    min(now64(3, 'UTC')) AS created_at,
    max(now64(3, 'UTC')) AS last_updated
FROM ${db}.battery_metric_changes
GROUP BY prosthetic_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.prosthetic_battery_monthly_mv TO ${db}.prosthetic_battery_monthly AS
SELECT
    prosthetic_id,
    toStartOfMonth(day) AS month,
    sumMergeState(metrics_count) AS metrics_count,
    sumMergeState(charging_count) AS charging_count,
    sumMergeState(charging_ma_sum) AS charging_ma_sum,
    min(created_at) AS created_at,
    max(last_updated) AS last_updated
FROM ${db}.prosthetic_battery_daily
GROUP BY prosthetic_id, month;
