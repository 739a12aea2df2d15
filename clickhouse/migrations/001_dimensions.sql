-- Dimensions: the latest version of each CRM row. version = (source LSN << 64) | Kafka offset, so a
-- later commit always wins and two changes sharing an LSN are ordered by their offset in the
-- (key-partitioned) topic. A delete writes the before-image with is_deleted = 1; FINAL hides it.
-- Personal columns (names, login, email, phone) exist only in dim_users.

CREATE TABLE IF NOT EXISTS ${db}.dim_users
(
    user_id     Int32,
    user_uuid   String,
    login       String,
    first_name  String,
    last_name   String,
    email       String,
    phone       Nullable(String),
    created_at  DateTime64(6, 'UTC'),
    updated_at  DateTime64(6, 'UTC'),
    version     UInt128,
    is_deleted  UInt8,
    commit_ts   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY user_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.dim_prosthetics
(
    prosthetic_id     Int32,
    user_id           Int32,
    prosthetic_uuid   String,
    chip_id           String,
    device_type       LowCardinality(String),
    serial_number     String,
    model             LowCardinality(String),
    purchase_date     Date,
    warranty_end_date Date,
    is_active         UInt8,
    created_at        DateTime64(6, 'UTC'),
    updated_at        DateTime64(6, 'UTC'),
    version           UInt128,
    is_deleted        UInt8,
    commit_ts         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY prosthetic_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.dim_subscriptions
(
    subscription_id   Int32,
    user_id           Int32,
    subscription_type LowCardinality(String),
    start_date        Date,
    end_date          Nullable(Date),
    is_active         UInt8,
    monthly_cost      Decimal(10, 2),
    created_at        DateTime64(6, 'UTC'),
    updated_at        DateTime64(6, 'UTC'),
    version           UInt128,
    is_deleted        UInt8,
    commit_ts         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY subscription_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS ${db}.dim_support_tickets
(
    ticket_id     Int32,
    user_id       Int32,
    prosthetic_id Nullable(Int32),
    title         String,
    description   Nullable(String),
    status        LowCardinality(String),
    created_at    DateTime64(6, 'UTC'),
    updated_at    DateTime64(6, 'UTC'),
    resolved_at   Nullable(DateTime64(6, 'UTC')),
    version       UInt128,
    is_deleted    UInt8,
    commit_ts     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY ticket_id
SETTINGS non_replicated_deduplication_window = 10000;
