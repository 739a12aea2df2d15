import { ApiError } from "../errors.js";
import type { SqlFormat } from "./runner.js";

const produced: Record<string, SqlFormat> = { "application/json": "json", "text/csv": "csv" };

/**
 * The output format of POST /api/sql: the body's `format` wins; else the Accept header's most
 * preferred of application/json and text/csv (q-values honoured, wildcards accepted, JSON on a tie
 * or without Accept). An Accept that allows neither is 406.
 */
export function sqlFormat(format: SqlFormat | undefined, accept: string | undefined): SqlFormat {
  if (format) return format;
  if (!accept || accept.trim() === "") return "json";
  let best: { format: SqlFormat; q: number } | null = null;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0)) continue;
    const candidates: SqlFormat[] =
      type === "*/*"
        ? ["json"]
        : type === "application/*"
          ? ["json"]
          : type === "text/*"
            ? ["csv"]
            : produced[type]
              ? [produced[type] as SqlFormat]
              : [];
    for (const candidate of candidates) {
      if (!best || q > best.q) best = { format: candidate, q };
    }
  }
  if (!best) throw new ApiError("NOT_ACCEPTABLE", "POST /api/sql produces application/json or text/csv");
  return best.format;
}
