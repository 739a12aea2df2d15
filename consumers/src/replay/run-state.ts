import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonRows } from "../../../clickhouse/insert.js";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { REPLAY_RUN_TABLE } from "./swap.js";

/** One source partition of a replay: replayed from `start` (inclusive) to `bound` (exclusive). */
export interface PartitionSpan {
  topic: string;
  partition: number;
  start: bigint;
  bound: bigint;
}

/**
 * What a replay decided at its start and a rerun must reuse to resume: kept in the shadow database
 * itself (table replay_run), so it lives exactly as long as the shadow does.
 */
export interface ReplayRun {
  runId: string;
  /** The consumer group that fills the shadow: `<live group>-replay-<runId>`. */
  group: string;
  /** `earliest` or an ISO time. */
  from: string;
  /** The source tables named by `--tables` (the closure is derived from them); null: every table. */
  tables: string[] | null;
  spans: PartitionSpan[];
}

/** The shadow database of a live database (one replay at a time). */
export const shadowDatabase = (live: string): string => assertDatabaseName(`${live}_shadow`);

export async function databaseExists(client: ClickHouseClient, database: string): Promise<boolean> {
  const result = await client.query({
    query: "SELECT count() AS n FROM system.databases WHERE name = {db:String}",
    query_params: { db: database },
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ n: number | string }>();
  return Number(row?.n ?? 0) > 0;
}

async function ensureRunTable(client: ClickHouseClient, shadow: string): Promise<void> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${assertDatabaseName(shadow)}.${REPLAY_RUN_TABLE}
      (run_id String, replay_group String, from_position String, spans String,
       source_tables String DEFAULT '',
       created_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'))
      ENGINE = MergeTree ORDER BY run_id`,
  });
  // A shadow left by a replay from before --tables existed: every table.
  await client.command({
    query: `ALTER TABLE ${assertDatabaseName(shadow)}.${REPLAY_RUN_TABLE} ADD COLUMN IF NOT EXISTS source_tables String DEFAULT ''`,
  });
}

/** The run recorded in the shadow database, if any. */
export async function readRun(client: ClickHouseClient, shadow: string): Promise<ReplayRun | undefined> {
  await ensureRunTable(client, shadow);
  const result = await client.query({
    query: `SELECT run_id, replay_group, from_position, spans, source_tables
            FROM ${assertDatabaseName(shadow)}.${REPLAY_RUN_TABLE} ORDER BY created_at LIMIT 1`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{
    run_id: string;
    replay_group: string;
    from_position: string;
    spans: string;
    source_tables: string;
  }>();
  if (!row) return undefined;
  const spans = (
    JSON.parse(row.spans) as { topic: string; partition: number; start: string; bound: string }[]
  ).map((s) => ({ topic: s.topic, partition: s.partition, start: BigInt(s.start), bound: BigInt(s.bound) }));
  const tables = row.source_tables === "" ? null : (JSON.parse(row.source_tables) as string[]);
  return { runId: row.run_id, group: row.replay_group, from: row.from_position, tables, spans };
}

export async function recordRun(client: ClickHouseClient, shadow: string, run: ReplayRun): Promise<void> {
  await ensureRunTable(client, shadow);
  await insertJsonRows(
    client,
    `${assertDatabaseName(shadow)}.${REPLAY_RUN_TABLE}`,
    [
      {
        run_id: run.runId,
        replay_group: run.group,
        from_position: run.from,
        source_tables: run.tables === null ? "" : JSON.stringify(run.tables),
        spans: JSON.stringify(
          run.spans.map((s) => ({ ...s, start: s.start.toString(), bound: s.bound.toString() })),
        ),
      },
    ],
    "",
  );
}
