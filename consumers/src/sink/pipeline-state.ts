import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonRows } from "../../../clickhouse/insert.js";
import { assertDatabaseName, stringLiteral, uintLiteral } from "../../../clickhouse/sql.js";
import { partitionKey } from "../runtime/partition-state.js";

export interface ChunkRange {
  group: string;
  topic: string;
  partition: number;
  /** The writer's claim on the partition (claimPartitions). */
  claimEpoch: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
}

/** What an applied row records besides the chunk's range (docs/consumers.md "data_as_of"). */
export interface AppliedState {
  /** Newest source commit of the chunk (DateTime64(3) text; heartbeat chunks: the heartbeat's), null when none. */
  commitTs: string | null;
}

export interface PartitionProgress extends ChunkRange, AppliedState {
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
  state: AppliedState,
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
        ...(state.commitTs ? { commit_ts: state.commitTs } : {}),
      },
    ],
    "",
  );
}

/**
 * Step 2 of DESIGN §6: the chunk about to be inserted. `carried.commitTs`: the newest commit the
 * partition's applied chunks hold so far. Every progress row carries it (recordApplied: the chunk's
 * own or, without one, the carried one), since partition_progress is a ReplacingMergeTree: a merge
 * keeps only a partition's latest row, and data_as_of (clickhouse/freshness.ts) must not lose the
 * partition's commit when that row is an intent or a chunk without commits.
 */
export function recordIntent(
  client: ClickHouseClient,
  database: string,
  range: ChunkRange,
  carried: AppliedState = { commitTs: null },
): Promise<void> {
  return writeProgress(client, database, range, "intent", carried);
}

/** Step 3 of DESIGN §6: the chunk is in ClickHouse; the Kafka offset last + 1 may be committed. */
export function recordApplied(
  client: ClickHouseClient,
  database: string,
  range: ChunkRange,
  applied: AppliedState,
): Promise<void> {
  return writeProgress(client, database, range, "applied", applied);
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
                   toString(p.3) AS last_offset, toString(p.4) AS status, toString(p.5) AS commit_ts
            FROM (
                SELECT topic, partition,
                       argMax((claim_epoch, first_offset, last_offset, status, commit_ts), (claim_epoch, version)) AS p
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
    commit_ts: string;
  }>();
  return rows.map((r) => ({
    group,
    topic: r.topic,
    partition: Number(r.partition),
    claimEpoch: BigInt(r.claim_epoch),
    firstOffset: BigInt(r.first_offset),
    lastOffset: BigInt(r.last_offset),
    status: r.status,
    commitTs: r.commit_ts.startsWith("1970-01-01") ? null : r.commit_ts,
  }));
}

/**
 * The newest claim of each partition of a group that has one.
 *
 * The values are escaped literals, not bound parameters, as in every statement the pipeline runs per
 * chunk (this one is its fence, readHeartbeatHorizons another): chDB 3.4's Node binding runs every
 * bound statement of the process in one queue (node_modules/chdb index.js, runExclusiveParam), so a
 * bound fence check per chunk put the API's report reads, which are bound, behind the consumers'
 * (measured at 1,000 changes/s: reads waited 0.5–1.9 s in that queue).
 */
export async function readClaims(
  client: ClickHouseClient,
  database: string,
  group: string,
  only?: TopicPartition,
): Promise<Claim[]> {
  const partition = only
    ? `AND topic = ${stringLiteral(only.topic)} AND partition = ${uintLiteral(only.partition)}`
    : "";
  const result = await client.query({
    query: `SELECT topic, partition, toString(c.1) AS epoch, c.2 AS member
            FROM (
                SELECT topic, partition, max((claim_epoch, member)) AS c
                FROM ${assertDatabaseName(database)}.partition_claims
                WHERE consumer_group = ${stringLiteral(group)} ${partition}
                GROUP BY topic, partition
            )
            ORDER BY topic, partition`,
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
  for (const claim of claims) claimsMadeHere.made(database, group, claim);
  return claims;
}

/**
 * The newest claim of each partition among those made by this process (claimPartitions), per
 * database and group. With the embedded engine every member that can write the database lives in this
 * process (chDB holds its data path for one process: a second one fails to open it), and each claim
 * is one above the table's newest when it is made, so this mirror answers the fence as
 * partition_claims would, without a query per chunk (one of the four statements each chunk cost).
 * A claim below the mirror's means the table was emptied (a database dropped and made again with the
 * same name, as a replay's shadow is): the mirror follows the table.
 */
export class ClaimMirror {
  private readonly newest = new Map<string, Claim>();

  private static key(database: string, group: string, at: TopicPartition): string {
    return `${database}\u0000${group}\u0000${partitionKey(at.topic, at.partition)}`;
  }

  made(database: string, group: string, claim: Claim): void {
    const key = ClaimMirror.key(database, group, claim);
    const known = this.newest.get(key);
    // Claims order as in the table's max((claim_epoch, member)).
    const wins =
      known === undefined ||
      claim.epoch !== known.epoch ||
      (claim.member > known.member && claim.epoch === known.epoch);
    if (wins) this.newest.set(key, claim);
  }

  /** holdsClaim's answer, for claims made in this process on the embedded engine. */
  holds(database: string, group: string, claim: Claim): boolean {
    const known = this.newest.get(ClaimMirror.key(database, group, claim));
    return known !== undefined && known.epoch === claim.epoch && known.member === claim.member;
  }
}

export const claimsMadeHere = new ClaimMirror();

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

export interface PartitionCompleteness extends TopicPartition {
  group: string;
  /** DateTime64(3, 'UTC') text: the partition holds every change committed up to here. */
  completeTo: string;
}

/** Records partitions that had nothing pending at a heartbeat of their source (partition_freshness). */
export async function recordCompleteness(
  client: ClickHouseClient,
  database: string,
  rows: readonly PartitionCompleteness[],
): Promise<void> {
  await insertJsonRows(
    client,
    `${assertDatabaseName(database)}.partition_freshness`,
    rows.map((r) => ({
      consumer_group: r.group,
      topic: r.topic,
      partition: r.partition,
      complete_to: r.completeTo,
    })),
    "",
  );
}

/**
 * Per source: the commit time of the newest heartbeat applied by the group (the heartbeat topics'
 * applied chunks), DateTime64(3) text. Idle data partitions are complete up to it. Run per heartbeat
 * chunk, so its value is a literal (see readClaims).
 */
export async function readHeartbeatHorizons(
  client: ClickHouseClient,
  database: string,
  group: string,
): Promise<Map<string, string>> {
  const result = await client.query({
    query: `SELECT splitByChar('.', topic)[-2] AS source, toString(max(commit_ts)) AS horizon
            FROM ${assertDatabaseName(database)}.partition_progress
            WHERE consumer_group = ${stringLiteral(group)}
              AND endsWith(topic, '.debezium_heartbeat') AND toUnixTimestamp64Milli(commit_ts) > 0
            GROUP BY source`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ source: string; horizon: string }>();
  return new Map(rows.map((r) => [r.source, r.horizon]));
}
