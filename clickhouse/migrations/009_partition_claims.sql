-- Fencing for the exactly-once design (DESIGN §6, docs/consumers.md "Fencing").
--
-- A member that is assigned a partition first claims it: a new claim_epoch, one above every earlier
-- claim of that partition, then reads the progress. Before inserting a chunk it records the intent
-- under its claim and checks that its claim is still the newest; a member whose claim was superseded
-- (it lost the partition in a rebalance while a chunk was in flight, or is a "zombie" past its
-- session) inserts nothing. Either the new owner read progress after the intent (and redoes exactly
-- that chunk, deduplicated by its token) or the old owner sees the newer claim and stops.

CREATE TABLE IF NOT EXISTS ${db}.partition_claims
(
    consumer_group String,
    topic          String,
    partition      UInt32,
    claim_epoch    UInt64,
    member         String,
    claimed_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (consumer_group, topic, partition, claim_epoch, member);

-- Progress per (partition, claim): the row with the highest (claim_epoch, version) decides where a
-- partition resumes, so whatever a superseded member still writes ranks below its successor's rows.
-- version = last_offset * 2 + (status = 'applied'), as in pipeline_progress.
CREATE TABLE IF NOT EXISTS ${db}.partition_progress
(
    consumer_group String,
    topic          String,
    partition      UInt32,
    claim_epoch    UInt64,
    first_offset   Int64,
    last_offset    Int64,
    status         Enum8('intent' = 1, 'applied' = 2),
    version        UInt64,
    updated_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, topic, partition, claim_epoch);

-- Progress recorded before claims existed (pipeline_progress, migration 007) carries over as claim
-- epoch 0. pipeline_progress is no longer written; it stays so that this statement can be rerun.
INSERT INTO ${db}.partition_progress
    (consumer_group, topic, partition, claim_epoch, first_offset, last_offset, status, version, updated_at)
SELECT consumer_group, topic, partition, 0, first_offset, last_offset, status, version, updated_at
FROM ${db}.pipeline_progress FINAL;
