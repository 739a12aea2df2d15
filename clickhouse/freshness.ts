import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "./sql.js";

/** How far the marts reflect one source database. */
export interface SourceFreshness {
  source: "crm" | "telemetry";
  /** ISO-8601 UTC: the source commit time up to which the marts are complete; null before any data. */
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

const toIso = (text: string): string => `${text.replace(" ", "T")}Z`;

/**
 * The freshness every report carries (`data_as_of`, `lag_seconds`), read from the consumers' state
 * in ClickHouse. Per source: the commit time up to which the marts are complete.
 */
export async function readFreshness(
  client: ClickHouseClient,
  database: string,
  now: Date = new Date(),
): Promise<Freshness> {
  const result = await client.query({
    query: `SELECT source, toString(max(commit_ts)) AS commit_ts
            FROM ${assertDatabaseName(database)}.source_watermarks GROUP BY source`,
    format: "JSONEachRow",
  });
  const found = new Map(
    (await result.json<{ source: string; commit_ts: string }>()).map((r) => [r.source, toIso(r.commit_ts)]),
  );
  const lag = (iso: string | null) =>
    iso === null ? null : Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
  const sources = SOURCES.map((source) => {
    const dataAsOf = found.get(source) ?? null;
    return { source, dataAsOf, lagSeconds: lag(dataAsOf) };
  });
  const known = sources.map((s) => s.dataAsOf);
  const dataAsOf = known.some((d) => d === null) ? null : ((known as string[]).sort()[0] ?? null);
  return { sources, dataAsOf, lagSeconds: lag(dataAsOf) };
}
