-- Exactly once from the source (docs/consumers.md "Resets" and "Re-emitted changes") and the
-- freshness every report carries (docs/consumers.md "data_as_of").

-- Per applied chunk: the newest source commit of its records (heartbeat chunks: the heartbeat's).
ALTER TABLE ${db}.partition_progress ADD COLUMN IF NOT EXISTS commit_ts DateTime64(3, 'UTC') DEFAULT toDateTime64(0, 3, 'UTC');

-- Resets applied to the marts: a TRUNCATE of a source table, or a new Debezium snapshot of it. Each
-- retracts the table's whole net state from before its position (source LSN); the snapshot rows
-- (or the rows inserted after the TRUNCATE) then rebuild it. Read back to tell a new snapshot from
-- the one already applied.
CREATE TABLE IF NOT EXISTS ${db}.source_resets
(
    source_table LowCardinality(String),
    kind         Enum8('truncate' = 1, 'snapshot' = 2),
    lsn          UInt64,
    commit_ts    DateTime64(3, 'UTC'),
    applied_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (source_table, kind, lsn);

-- Per partition of a consumer group: the source commit time up to which it is complete while it has
-- nothing pending (advanced at each heartbeat of its source). The newest value wins.
CREATE TABLE IF NOT EXISTS ${db}.partition_freshness
(
    consumer_group String,
    topic          String,
    partition      UInt32,
    complete_to    DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(complete_to)
ORDER BY (consumer_group, topic, partition);
