import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "./sql.js";

/** How far the marts reflect one source database. */
export interface SourceFreshness {
  source: "crm" | "telemetry";
  /** ISO-8601 UTC: the source commit time up to which the marts are complete; null while unknown. */
  dataAsOf: string | null;
  /** now - dataAsOf in seconds (>= 0); null when dataAsOf is null. */
  lagSeconds: number | null;
}

export interface Freshness {
  sources: SourceFreshness[];
  /** The oldest of the sources' dataAsOf: every figure is complete up to this commit time. */
  dataAsOf: string | null;
  lagSeconds: number | null;
}

const SOURCES = ["crm", "telemetry"] as const;

/**
 * Per source: the minimum over its data partitions (those the consumer group claimed, heartbeat
 * topics excluded) of how far each is complete — the newest commit its applied chunks hold
 * (partition_progress.commit_ts, which every progress row of the partition carries, intents included:
 * a merge keeps only its latest row) or, while it had nothing pending at a heartbeat of its source,
 * that heartbeat's commit (partition_freshness). Both are commit times of applied changes, and
 * another change may share the same millisecond, so the result is one millisecond earlier. A
 * partition with neither is unknown, and so is its source. The group is the one that claimed
 * partitions most recently (one group writes a database).
 */
export function freshnessSql(database: string): string {
  const db = assertDatabaseName(database);
  return `
    WITH
      (SELECT argMax(consumer_group, claimed_at) FROM ${db}.partition_claims) AS current_group,
      claimed AS (
        SELECT topic, partition FROM ${db}.partition_claims
        WHERE consumer_group = current_group AND splitByChar('.', topic)[-1] != 'debezium_heartbeat'
        GROUP BY topic, partition
      ),
      applied AS (
        SELECT topic, partition, max(commit_ts) AS at
        FROM ${db}.partition_progress WHERE consumer_group = current_group
        GROUP BY topic, partition
      ),
      idle AS (
        SELECT topic, partition, max(complete_to) AS at
        FROM ${db}.partition_freshness WHERE consumer_group = current_group
        GROUP BY topic, partition
      ),
      per_partition AS (
        SELECT splitByChar('.', c.topic)[-2] AS source, greatest(a.at, i.at) AS at
        FROM claimed AS c
        LEFT JOIN applied AS a ON a.topic = c.topic AND a.partition = c.partition
        LEFT JOIN idle AS i ON i.topic = c.topic AND i.partition = c.partition
      )
    SELECT source, toString(min(at) - toIntervalMillisecond(1)) AS data_as_of, countIf(toUnixTimestamp64Milli(at) = 0) AS unknown
    FROM per_partition
    GROUP BY source`;
}

const toIso = (text: string): string => `${text.replace(" ", "T")}Z`;

/**
 * The freshness every report carries (`data_as_of`, `lag_seconds`), read from the consumers' state
 * in ClickHouse: per source, the commit time up to which every data partition has been applied.
 */
export async function readFreshness(
  client: ClickHouseClient,
  database: string,
  now: Date = new Date(),
): Promise<Freshness> {
  const result = await client.query({ query: freshnessSql(database), format: "JSONEachRow" });
  const rows = await result.json<{ source: string; data_as_of: string; unknown: number | string }>();
  const found = new Map(
    rows.filter((r) => Number(r.unknown) === 0).map((r) => [r.source, toIso(r.data_as_of)]),
  );
  const sources = SOURCES.map((source) => ({ source, dataAsOf: found.get(source) ?? null }));
  const known = sources.map((s) => s.dataAsOf);
  const dataAsOf = known.some((d) => d === null) ? null : ((known as string[]).sort()[0] ?? null);
  return freshnessAt({ sources, dataAsOf }, now);
}

/** The lags of a freshness at `now` (a freshness read earlier and kept is older than the request). */
export function freshnessAt(
  f: { sources: readonly Omit<SourceFreshness, "lagSeconds">[]; dataAsOf: string | null },
  now: Date,
): Freshness {
  const lag = (iso: string | null) =>
    iso === null ? null : Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
  return {
    sources: f.sources.map((s) => ({ source: s.source, dataAsOf: s.dataAsOf, lagSeconds: lag(s.dataAsOf) })),
    dataAsOf: f.dataAsOf,
    lagSeconds: lag(f.dataAsOf),
  };
}

/**
 * A marker of the current consumer group's applied data chunks (heartbeat topics excluded) that
 * changes whenever one more is recorded applied: what the live stream polls in server mode, where
 * the consumers run in other processes and cannot tell it which users they touched. (A background
 * merge of the progress table may change it too: one spurious refresh.)
 */
export async function readAppliedMarker(client: ClickHouseClient, database: string): Promise<string> {
  const db = assertDatabaseName(database);
  const result = await client.query({
    query: `
      WITH (SELECT argMax(consumer_group, claimed_at) FROM ${db}.partition_claims) AS current_group
      SELECT toString(count()) AS n, toString(sum(last_offset)) AS offsets, toString(max(updated_at)) AS last
      FROM ${db}.partition_progress
      WHERE consumer_group = current_group AND status = 'applied'
        AND splitByChar('.', topic)[-1] != 'debezium_heartbeat'`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ n: string; offsets: string; last: string }>();
  return row ? `${row.n}:${row.offsets}:${row.last}` : "";
}
