-- Signed change tables: insert -> +after, update -> -before +after, delete -> -before.
-- sign multiplies every additive measure downstream; the net row set of a table is
-- GROUP BY <columns> HAVING sum(sign) > 0. lsn / commit_ts identify the source commit.
-- Every table of an MV chain carries non_replicated_deduplication_window (exactly-once by token).

CREATE TABLE IF NOT EXISTS ${db}.payment_changes
(
    sign            Int8,
    payment_id      Int32,
    user_id         Int32,
    subscription_id Int32,
    payment_date    DateTime64(6, 'UTC'),
    amount          Decimal(10, 2),
    payment_method  LowCardinality(String),
    status          LowCardinality(String),
    lsn             UInt64,
    commit_ts       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(payment_date)
ORDER BY (user_id, payment_date, payment_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.subscription_changes
(
    sign              Int8,
    subscription_id   Int32,
    user_id           Int32,
    subscription_type LowCardinality(String),
    start_date        Date,
    end_date          Nullable(Date),
    monthly_cost      Decimal(10, 2),
    lsn               UInt64,
    commit_ts         DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (user_id, subscription_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.telemetry_event_changes
(
    sign            Int8,
    event_id        Int64,
    prosthetic_id   Int32,
    event_type      LowCardinality(String),
    event_timestamp DateTime64(6, 'UTC'),
    event_value     Nullable(String),
    severity        LowCardinality(String),
    lsn             UInt64,
    commit_ts       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_timestamp)
ORDER BY (prosthetic_id, event_timestamp, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.battery_metric_changes
(
    sign             Int8,
    metric_id        Int64,
    prosthetic_id    Int32,
    metric_timestamp DateTime64(6, 'UTC'),
    charge_level     Float64,
    current_ma       Float64,
    is_charging      UInt8,
    lsn              UInt64,
    commit_ts        DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(metric_timestamp)
ORDER BY (prosthetic_id, metric_timestamp, metric_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.raw_telemetry_changes
(
    sign             Int8,
    sample_id        Int64,
    chip_id          String,
    event_time       DateTime64(6, 'UTC'),
    response_time_ms Int32,
    battery_level    Int16,
    error_code       Int16,
    lsn              UInt64,
    commit_ts        DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (chip_id, event_time, sample_id)
SETTINGS non_replicated_deduplication_window = 10000;
