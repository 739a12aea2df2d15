import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonRows } from "../../../clickhouse/insert.js";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { watermarkRow } from "../mapping/collect.js";
import { partitionKey } from "../runtime/partition-state.js";
import type { Watermark } from "../mapping/types.js";

export interface ChunkRange {
  group: string;
  topic: string;
  partition: number;
  /** The writer's claim on the partition (claimPartitions). */
  claimEpoch: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
}

export interface PartitionProgress extends ChunkRange {
  status: "intent" | "applied";
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A member's claim on a partition; claims order by epoch, then member. */
export interface Claim extends TopicPartition {
  epoch: bigint;
  member: string;
}

async function writeProgress(
  client: ClickHouseClient,
  db: string,
  range: ChunkRange,
  status: PartitionProgress["status"],
) {
  await insertJsonRows(
    client,
    `${assertDatabaseName(db)}.partition_progress`,
    [
      {
        consumer_group: range.group,
        topic: range.topic,
        partition: range.partition,
        claim_epoch: range.claimEpoch.toString(),
        first_offset: range.firstOffset.toString(),
        last_offset: range.lastOffset.toString(),
        status,
        // Within a claim: later chunks win; within a chunk, applied wins over intent.
        version: (range.lastOffset * 2n + (status === "applied" ? 1n : 0n)).toString(),
      },
    ],
    "",
  );
}

/** Step 2 of DESIGN §6: the chunk about to be inserted. */
export function recordIntent(client: ClickHouseClient, database: string, range: ChunkRange): Promise<void> {
  return writeProgress(client, database, range, "intent");
}

/** Step 3 of DESIGN §6: the chunk is in ClickHouse; the Kafka offset last + 1 may be committed. */
export function recordApplied(client: ClickHouseClient, database: string, range: ChunkRange): Promise<void> {
  return writeProgress(client, database, range, "applied");
}

/**
 * Step 4 of DESIGN §6: the latest state of every partition of a group: per partition, the row of
 * the newest claim that wrote any, and within it the latest chunk.
 */
export async function readProgress(
  client: ClickHouseClient,
  database: string,
  group: string,
): Promise<PartitionProgress[]> {
  const result = await client.query({
    query: `SELECT topic, partition, toString(p.1) AS claim_epoch, toString(p.2) AS first_offset,
                   toString(p.3) AS last_offset, toString(p.4) AS status
            FROM (
                SELECT topic, partition,
                       argMax((claim_epoch, first_offset, last_offset, status), (claim_epoch, version)) AS p
                FROM ${assertDatabaseName(database)}.partition_progress
                WHERE consumer_group = {group:String}
                GROUP BY topic, partition
            )
            ORDER BY topic, partition`,
    query_params: { group },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    topic: string;
    partition: number | string;
    claim_epoch: string;
    first_offset: string;
    last_offset: string;
    status: "intent" | "applied";
  }>();
  return rows.map((r) => ({
    group,
    topic: r.topic,
    partition: Number(r.partition),
    claimEpoch: BigInt(r.claim_epoch),
    firstOffset: BigInt(r.first_offset),
    lastOffset: BigInt(r.last_offset),
    status: r.status,
  }));
}

/** The newest claim of each partition of a group that has one. */
export async function readClaims(
  client: ClickHouseClient,
  database: string,
  group: string,
  only?: TopicPartition,
): Promise<Claim[]> {
  const result = await client.query({
    query: `SELECT topic, partition, toString(c.1) AS epoch, c.2 AS member
            FROM (
                SELECT topic, partition, max((claim_epoch, member)) AS c
                FROM ${assertDatabaseName(database)}.partition_claims
                WHERE consumer_group = {group:String}
                  ${only ? "AND topic = {topic:String} AND partition = {partition:UInt32}" : ""}
                GROUP BY topic, partition
            )
            ORDER BY topic, partition`,
    query_params: { group, ...(only ?? {}) },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    topic: string;
    partition: number | string;
    epoch: string;
    member: string;
  }>();
  return rows.map((r) => ({
    topic: r.topic,
    partition: Number(r.partition),
    epoch: BigInt(r.epoch),
    member: r.member,
  }));
}

/**
 * Claims `partitions` for `member`: for each, an epoch one above its newest claim. Call it before
 * reading the progress of newly assigned partitions; the claims fence off their previous owners.
 */
export async function claimPartitions(
  client: ClickHouseClient,
  database: string,
  group: string,
  member: string,
  partitions: readonly TopicPartition[],
): Promise<Claim[]> {
  if (partitions.length === 0) return [];
  const newest = new Map(
    (await readClaims(client, database, group)).map((c) => [partitionKey(c.topic, c.partition), c.epoch]),
  );
  const claims = partitions.map(({ topic, partition }) => ({
    topic,
    partition,
    epoch: (newest.get(partitionKey(topic, partition)) ?? 0n) + 1n,
    member,
  }));
  await insertJsonRows(
    client,
    `${assertDatabaseName(database)}.partition_claims`,
    claims.map((c) => ({
      consumer_group: group,
      topic: c.topic,
      partition: c.partition,
      claim_epoch: c.epoch.toString(),
      member: c.member,
    })),
    "",
  );
  return claims;
}

/** The member that made claim `epoch` on a partition; undefined when no such claim was recorded. */
export async function claimMember(
  client: ClickHouseClient,
  database: string,
  group: string,
  target: TopicPartition,
  epoch: bigint,
): Promise<string | undefined> {
  const result = await client.query({
    query: `SELECT member FROM ${assertDatabaseName(database)}.partition_claims
            WHERE consumer_group = {group:String} AND topic = {topic:String}
              AND partition = {partition:UInt32} AND claim_epoch = {epoch:UInt64}
            ORDER BY member DESC LIMIT 1`,
    query_params: { group, topic: target.topic, partition: target.partition, epoch: epoch.toString() },
    format: "JSONEachRow",
  });
  return (await result.json<{ member: string }>())[0]?.member;
}

/** True when `claim` is still the newest claim of its partition (no other member claimed it since). */
export async function holdsClaim(
  client: ClickHouseClient,
  database: string,
  group: string,
  claim: Claim,
): Promise<boolean> {
  const [newest] = await readClaims(client, database, group, claim);
  return newest !== undefined && newest.epoch === claim.epoch && newest.member === claim.member;
}

/** Advances the freshness watermark of each source (the newest commit wins). */
export async function recordWatermarks(
  client: ClickHouseClient,
  database: string,
  watermarks: readonly Watermark[],
): Promise<void> {
  await insertJsonRows(
    client,
    `${assertDatabaseName(database)}.source_watermarks`,
    watermarks.map(watermarkRow),
    "",
  );
}

export interface SourceFreshness {
  source: string;
  /** DateTime64(3, 'UTC') text of the latest source commit reflected in the marts. */
  commitTs: string;
  lsn: string;
}

export async function readWatermarks(client: ClickHouseClient, database: string): Promise<SourceFreshness[]> {
  const result = await client.query({
    query: `SELECT source, toString(max(commit_ts)) AS latest_commit_ts, toString(argMax(lsn, commit_ts)) AS latest_lsn
            FROM ${assertDatabaseName(database)}.source_watermarks GROUP BY source ORDER BY source`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ source: string; latest_commit_ts: string; latest_lsn: string }>();
  return rows.map((r) => ({ source: r.source, commitTs: r.latest_commit_ts, lsn: r.latest_lsn }));
}
