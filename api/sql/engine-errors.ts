/** ClickHouse error codes (ErrorCodes.cpp) the SQL endpoint tells apart. */
export const chCodes = {
  TOO_MANY_ROWS: 158,
  TIMEOUT_EXCEEDED: 159,
  TOO_SLOW: 160,
  TOO_MANY_BYTES: 307,
  TOO_MANY_ROWS_OR_BYTES: 396,
  MEMORY_LIMIT_EXCEEDED: 241,
  SYNTAX_ERROR: 62,
  READONLY: 164,
  QUERY_WAS_CANCELLED: 394,
} as const;

const limitCodes = new Set<number>([
  chCodes.TOO_MANY_ROWS,
  chCodes.TIMEOUT_EXCEEDED,
  chCodes.TOO_SLOW,
  chCodes.TOO_MANY_BYTES,
  chCodes.TOO_MANY_ROWS_OR_BYTES,
  chCodes.MEMORY_LIMIT_EXCEEDED,
  chCodes.QUERY_WAS_CANCELLED,
]);

/**
 * The numeric code of an error the ClickHouse engine raised (server over HTTP or chDB, both surface
 * as @clickhouse/client's ClickHouseError with `code` and `type`), or null for anything else
 * (network, programming errors).
 */
export function engineErrorCode(error: unknown): number | null {
  const e = error as { code?: unknown; type?: unknown } | null;
  if (!e || typeof e !== "object" || typeof e.type !== "string") return null;
  const code = typeof e.code === "string" && /^[0-9]+$/.test(e.code) ? Number(e.code) : NaN;
  return Number.isInteger(code) ? code : null;
}

export const isLimitCode = (code: number): boolean => limitCodes.has(code);
