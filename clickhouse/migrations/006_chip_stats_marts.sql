-- user_prosthesis_stats (seed 02/04): raw_telemetry_changes -> chip_hourly_stats -> chip_daily_stats
-- -> chip_monthly_stats. Keyed by chip_id; the prosthesis and its owner come from dim_prosthetics
-- (chip_id) at query time. Averages are kept as exact integer sums and divided at query time.

CREATE TABLE IF NOT EXISTS ${db}.chip_hourly_stats
(
    chip_id              String,
    hour                 DateTime('UTC'),
    movements_count      AggregateFunction(sum, Int64),
    successful_movements AggregateFunction(sum, Int64),
    error_count          AggregateFunction(sum, Int64),
    response_time_sum    AggregateFunction(sum, Int64),
    battery_level_sum    AggregateFunction(sum, Int64),
    created_at           SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated         SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (chip_id, hour)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.chip_daily_stats
(
    chip_id              String,
    day                  Date,
    movements_count      AggregateFunction(sum, Int64),
    successful_movements AggregateFunction(sum, Int64),
    error_count          AggregateFunction(sum, Int64),
    response_time_sum    AggregateFunction(sum, Int64),
    battery_level_sum    AggregateFunction(sum, Int64),
    created_at           SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated         SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (chip_id, day)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.chip_monthly_stats
(
    chip_id              String,
    month                Date,
    movements_count      AggregateFunction(sum, Int64),
    successful_movements AggregateFunction(sum, Int64),
    error_count          AggregateFunction(sum, Int64),
    response_time_sum    AggregateFunction(sum, Int64),
    battery_level_sum    AggregateFunction(sum, Int64),
    created_at           SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated         SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (chip_id, month)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.chip_hourly_stats_mv TO ${db}.chip_hourly_stats AS
SELECT
    chip_id,
    toStartOfHour(toDateTime(event_time, 'UTC')) AS hour,
    sumState(toInt64(sign)) AS movements_count,
    sumState(toInt64(sign) * (error_code = 0)) AS successful_movements,
    sumState(toInt64(sign) * (error_code > 0)) AS error_count,
    sumState(toInt64(response_time_ms) * sign) AS response_time_sum,
    sumState(toInt64(battery_level) * sign) AS battery_level_sum,
    min(now64(3, 'UTC')) AS created_at,
    max(now64(3, 'UTC')) AS last_updated
FROM ${db}.raw_telemetry_changes
GROUP BY chip_id, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.chip_daily_stats_mv TO ${db}.chip_daily_stats AS
SELECT
    chip_id,
    toDate(hour) AS day,
    sumMergeState(movements_count) AS movements_count,
    sumMergeState(successful_movements) AS successful_movements,
    sumMergeState(error_count) AS error_count,
    sumMergeState(response_time_sum) AS response_time_sum,
    sumMergeState(battery_level_sum) AS battery_level_sum,
    min(created_at) AS created_at,
    max(last_updated) AS last_updated
FROM ${db}.chip_hourly_stats
GROUP BY chip_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.chip_monthly_stats_mv TO ${db}.chip_monthly_stats AS
SELECT
    chip_id,
    toStartOfMonth(day) AS month,
    sumMergeState(movements_count) AS movements_count,
    sumMergeState(successful_movements) AS successful_movements,
    sumMergeState(error_count) AS error_count,
    sumMergeState(response_time_sum) AS response_time_sum,
    sumMergeState(battery_level_sum) AS battery_level_sum,
    min(created_at) AS created_at,
    max(last_updated) AS last_updated
FROM ${db}.chip_daily_stats
GROUP BY chip_id, month;
