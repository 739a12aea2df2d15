-- Consumer progress (DESIGN §6): one row per (consumer_group, topic, partition), the latest version
-- wins. Writers set version = last_offset * 2 + (status = 'applied'), so for the same chunk the
-- applied row beats its intent and a later chunk beats both (consumers/src/sink/pipeline-state.ts).
-- MergeTree family, not KeeperMap (KeeperMap does not work embedded).

CREATE TABLE IF NOT EXISTS ${db}.pipeline_progress
(
    consumer_group String,
    topic          String,
    partition      UInt32,
    first_offset   Int64,
    last_offset    Int64,
    status         Enum8('intent' = 1, 'applied' = 2),
    version        UInt64,
    updated_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, topic, partition);

-- Freshness per source database: the commit time (and LSN) up to which the marts are complete.
-- Heartbeat events advance it too, so an idle source still reports a recent watermark.
CREATE TABLE IF NOT EXISTS ${db}.source_watermarks
(
    source     LowCardinality(String),
    commit_ts  DateTime64(3, 'UTC'),
    lsn        UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(commit_ts)
ORDER BY source;
