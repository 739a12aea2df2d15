import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonRows } from "../../../clickhouse/insert.js";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { watermarkRow } from "../mapping/collect.js";
import type { Watermark } from "../mapping/types.js";

export interface ChunkRange {
  group: string;
  topic: string;
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
}

export interface PartitionProgress extends ChunkRange {
  status: "intent" | "applied";
}

async function writeProgress(
  client: ClickHouseClient,
  db: string,
  range: ChunkRange,
  status: PartitionProgress["status"],
) {
  await insertJsonRows(
    client,
    `${assertDatabaseName(db)}.pipeline_progress`,
    [
      {
        consumer_group: range.group,
        topic: range.topic,
        partition: range.partition,
        first_offset: range.firstOffset.toString(),
        last_offset: range.lastOffset.toString(),
        status,
        // Later chunks win; within a chunk, applied wins over intent.
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

/** Step 4 of DESIGN §6: the latest state of every partition of a group. */
export async function readProgress(
  client: ClickHouseClient,
  database: string,
  group: string,
): Promise<PartitionProgress[]> {
  const result = await client.query({
    query: `SELECT topic, partition, toString(first_offset) AS first_offset, toString(last_offset) AS last_offset,
                   toString(status) AS status
            FROM ${assertDatabaseName(database)}.pipeline_progress FINAL
            WHERE consumer_group = {group:String}
            ORDER BY topic, partition`,
    query_params: { group },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    topic: string;
    partition: number | string;
    first_offset: string;
    last_offset: string;
    status: "intent" | "applied";
  }>();
  return rows.map((r) => ({
    group,
    topic: r.topic,
    partition: Number(r.partition),
    firstOffset: BigInt(r.first_offset),
    lastOffset: BigInt(r.last_offset),
    status: r.status,
  }));
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
