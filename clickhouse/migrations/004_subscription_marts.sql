-- report_user_monthly_metrics, subscription part. A subscription is active in every month its
-- [start_date, end_date] (end_date NULL = open) overlaps, so it is stored as month deltas:
-- +1 / +monthly_cost in its start month, -1 / -monthly_cost in the month after its end month.
-- The active count (cost) of month M is the running sum of deltas over months <= M, taken at
-- query time (clickhouse/marts/user-monthly.ts). Exact for open-ended subscriptions too.

CREATE TABLE IF NOT EXISTS ${db}.user_subscription_monthly_deltas
(
    user_id      Int32,
    month        Date,
    active_delta AggregateFunction(sum, Int64),
    cost_delta   AggregateFunction(sum, Decimal(38, 2)),
    created_at   SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (user_id, month)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.user_subscription_monthly_deltas_mv TO ${db}.user_subscription_monthly_deltas AS
SELECT
    user_id,
    edge.1 AS month,
    sumState(toInt64(sign) * edge.2) AS active_delta,
    sumState(toDecimal128(monthly_cost, 2) * sign * edge.2) AS cost_delta,
    min(now64(3, 'UTC')) AS created_at,
    max(now64(3, 'UTC')) AS last_updated
FROM ${db}.subscription_changes
ARRAY JOIN if(
    isNull(end_date),
    [(toStartOfMonth(start_date), toInt8(1))],
    [(toStartOfMonth(start_date), toInt8(1)), (addMonths(toStartOfMonth(assumeNotNull(end_date)), 1), toInt8(-1))]
) AS edge
GROUP BY user_id, month;
