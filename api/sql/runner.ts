import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client";
import type { SqlLimits } from "../config.js";
import { SqlGuard, sqlProblem, type SqlSession } from "./guard.js";

export type SqlFormat = "json" | "csv";

export interface SqlJsonResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  row_count: number;
  statistics: { elapsed_ms: number; rows_read: number; bytes_read: number };
}

/** What ran (its literal-free shape, for the log) and its rows. */
export type SqlOutcome = { shape: string } & (
  { format: "json"; json: SqlJsonResult } | { format: "csv"; csv: string }
);

/**
 * The settings of every statement on the ML session, in this order: the limits, exact output
 * (64-bit integers and decimals as JSON strings), the output format of EXPLAIN (which takes no
 * FORMAT clause of its own), and readonly = 1 last — the embedded engine applies them as SETs in
 * order and readonly = 1 forbids changing any setting afterwards (the same values again are accepted).
 */
export function mlSettings(limits: SqlLimits): ClickHouseSettings {
  return {
    max_execution_time: limits.maxExecutionSeconds,
    max_result_rows: String(limits.maxResultRows),
    result_overflow_mode: "throw",
    max_memory_usage: String(limits.maxMemoryBytes),
    output_format_json_quote_64bit_integers: 1,
    output_format_json_quote_decimals: 1,
    default_format: "JSONEachRow",
    readonly: "1",
  };
}

interface ClickHouseJson {
  meta: { name: string; type: string }[];
  data: Record<string, unknown>[];
  rows: number;
  statistics?: { elapsed?: number; rows_read?: number; bytes_read?: number };
}

/**
 * POST /api/sql: inspect (SqlGuard), then run the engine's canonical rendering of the statement on
 * a dedicated read-only session, opened on first use (its database must exist).
 */
export class SqlService {
  private session: Promise<SqlSession> | null = null;
  private guard: SqlGuard | null = null;

  constructor(
    private readonly openClient: () => Promise<ClickHouseClient>,
    private readonly database: string,
    private readonly limits: SqlLimits,
  ) {}

  private async ready(): Promise<{ session: SqlSession; guard: SqlGuard }> {
    this.session ??= this.openClient().then((client) => ({
      client,
      database: this.database,
      settings: mlSettings(this.limits),
    }));
    try {
      const session = await this.session;
      this.guard ??= new SqlGuard(session);
      return { session, guard: this.guard };
    } catch (error) {
      this.session = null;
      throw error;
    }
  }

  async run(text: string, format: SqlFormat): Promise<SqlOutcome> {
    const { session, guard } = await this.ready();
    const { canonical, shape } = await guard.inspect(text);
    try {
      const result = await session.client.query({
        query: canonical,
        format: format === "json" ? "JSON" : "CSVWithNames",
        clickhouse_settings: session.settings,
      });
      if (format === "csv") return { shape, format, csv: await result.text() };
      const body = (await result.json()) as unknown as ClickHouseJson;
      return {
        shape,
        format,
        json: {
          columns: body.meta,
          rows: body.data,
          row_count: body.rows,
          statistics: {
            elapsed_ms: (body.statistics?.elapsed ?? 0) * 1000,
            rows_read: body.statistics?.rows_read ?? 0,
            bytes_read: body.statistics?.bytes_read ?? 0,
          },
        },
      };
    } catch (error) {
      return sqlProblem(error);
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await (await session.catch(() => null))?.client.close();
  }
}
