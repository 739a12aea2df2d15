-- report_user_monthly_metrics, payment part: payment_changes -> user_payment_daily -> user_payment_monthly.
-- Day and month are UTC (payment_date is DateTime64 in UTC). Amounts are cast to Decimal(38, 2)
-- before the sign so the state type matches the column.

CREATE TABLE IF NOT EXISTS ${db}.user_payment_daily
(
    user_id           Int32,
    day               Date,
    payments_count    AggregateFunction(sum, Int64),
    total_amount      AggregateFunction(sum, Decimal(38, 2)),
    successful_amount AggregateFunction(sum, Decimal(38, 2)),
    failed_amount     AggregateFunction(sum, Decimal(38, 2)),
    pending_amount    AggregateFunction(sum, Decimal(38, 2)),
    successful_count  AggregateFunction(sum, Int64),
    failed_count      AggregateFunction(sum, Int64),
    pending_count     AggregateFunction(sum, Int64),
    created_at        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated      SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, day)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.user_payment_monthly
(
    user_id           Int32,
    month             Date,
    payments_count    AggregateFunction(sum, Int64),
    total_amount      AggregateFunction(sum, Decimal(38, 2)),
    successful_amount AggregateFunction(sum, Decimal(38, 2)),
    failed_amount     AggregateFunction(sum, Decimal(38, 2)),
    pending_amount    AggregateFunction(sum, Decimal(38, 2)),
    successful_count  AggregateFunction(sum, Int64),
    failed_count      AggregateFunction(sum, Int64),
    pending_count     AggregateFunction(sum, Int64),
    created_at        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_updated      SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (user_id, month)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.user_payment_daily_mv TO ${db}.user_payment_daily AS
SELECT
    user_id,
    toDate(payment_date) AS day,
    sumState(toInt64(sign)) AS payments_count,
    sumState(toDecimal128(amount, 2) * sign) AS total_amount,
    sumState(toDecimal128(amount, 2) * sign * (status = 'success')) AS successful_amount,
    sumState(toDecimal128(amount, 2) * sign * (status = 'failed')) AS failed_amount,
    sumState(toDecimal128(amount, 2) * sign * (status = 'pending')) AS pending_amount,
    sumState(toInt64(sign) * (status = 'success')) AS successful_count,
    sumState(toInt64(sign) * (status = 'failed')) AS failed_count,
    sumState(toInt64(sign) * (status = 'pending')) AS pending_count,
    min(now64(3, 'UTC')) AS created_at,
    max(now64(3, 'UTC')) AS last_updated
FROM ${db}.payment_changes
GROUP BY user_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.user_payment_monthly_mv TO ${db}.user_payment_monthly AS
SELECT
    user_id,
    toStartOfMonth(day) AS month,
    sumMergeState(payments_count) AS payments_count,
    sumMergeState(total_amount) AS total_amount,
    sumMergeState(successful_amount) AS successful_amount,
    sumMergeState(failed_amount) AS failed_amount,
    sumMergeState(pending_amount) AS pending_amount,
    sumMergeState(successful_count) AS successful_count,
    sumMergeState(failed_count) AS failed_count,
    sumMergeState(pending_count) AS pending_count,
    min(created_at) AS created_at,
    max(last_updated) AS last_updated
FROM ${db}.user_payment_daily
GROUP BY user_id, month;
