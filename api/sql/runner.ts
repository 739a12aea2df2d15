import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client";
import type { SqlLimits } from "../config.js";
import { ApiError } from "../errors.js";
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
 * The settings of every statement on an ML session, in this order: the limits, exact output
 * (64-bit integers and decimals as JSON strings, decimals with all their fraction digits: "2999.00"),
 * the output format of EXPLAIN (which takes no FORMAT clause of its own), and readonly = 1 last — the
 * embedded engine applies them as SETs in order and readonly = 1 forbids changing any setting
 * afterwards (the same values again are accepted). The inspection session (formatQuery, EXPLAIN)
 * has no result-row limit: its output is the engine's description of the query, not the user's rows.
 */
export function mlSettings(limits: SqlLimits, purpose: "run" | "inspect" = "run"): ClickHouseSettings {
  return {
    max_execution_time: limits.maxExecutionSeconds,
    ...(purpose === "run"
      ? { max_result_rows: String(limits.maxResultRows), result_overflow_mode: "throw" as const }
      : {}),
    max_memory_usage: String(limits.maxMemoryBytes),
    output_format_json_quote_64bit_integers: 1,
    output_format_json_quote_decimals: 1,
    output_format_decimal_trailing_zeros: 1,
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

/** Records of RFC 4180 CSV text (quoted fields may hold line breaks; quotes are doubled inside). */
export function csvRecordCount(text: string): number {
  let records = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === "\n" && !quoted) records += 1;
  }
  return text.length > 0 && !text.endsWith("\n") ? records + 1 : records;
}

/**
 * POST /api/sql: inspect (SqlGuard) on one read-only session, then run the engine's canonical
 * rendering of the statement on another, with every limit, as `SELECT * FROM (<canonical>) LIMIT
 * max + 1` so that a result over max_result_rows is refused exactly (the engine checks its row limit
 * per block, and not at all for some plans). Both sessions are opened for the request and closed
 * after it: an embedded (chDB) session prepends the partial output of a failed query (e.g. its CSV
 * header) to the next result, so a session is never reused after one request.
 */
export class SqlService {
  private readonly guard = new SqlGuard();

  constructor(
    private readonly openClient: () => Promise<ClickHouseClient>,
    private readonly database: string,
    private readonly limits: SqlLimits,
  ) {}

  private async withSession<T>(
    purpose: "run" | "inspect",
    use: (session: SqlSession) => Promise<T>,
  ): Promise<T> {
    const client = await this.openClient();
    try {
      return await use({ client, database: this.database, settings: mlSettings(this.limits, purpose) });
    } finally {
      await client.close();
    }
  }

  private tooManyRows(): never {
    throw new ApiError(
      "SQL_LIMIT_EXCEEDED",
      `the result has more than ${this.limits.maxResultRows} rows (max_result_rows); aggregate or add a LIMIT`,
    );
  }

  async run(text: string, format: SqlFormat): Promise<SqlOutcome> {
    const { canonical, shape } = await this.withSession("inspect", (session) =>
      this.guard.inspect(session, text),
    );
    const query = `SELECT * FROM (${canonical}) LIMIT ${this.limits.maxResultRows + 1}`;
    return this.withSession("run", async (session) => {
      try {
        const result = await session.client.query({
          query,
          format: format === "json" ? "JSON" : "CSVWithNames",
          clickhouse_settings: session.settings,
        });
        if (format === "csv") {
          const csv = await result.text();
          if (csvRecordCount(csv) - 1 > this.limits.maxResultRows) this.tooManyRows();
          return { shape, format, csv };
        }
        const body = (await result.json()) as unknown as ClickHouseJson;
        if (body.rows > this.limits.maxResultRows) this.tooManyRows();
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
        if (error instanceof ApiError) throw error;
        return sqlProblem(error);
      }
    });
  }
}
