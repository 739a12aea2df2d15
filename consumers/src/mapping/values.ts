import { formatDecimal, parseDecimal } from "../avro/types.js";
import type { SourceRow } from "../envelope.js";
import { MappingError } from "./errors.js";

const isoUtc = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
/** DateTime64 range of ClickHouse. */
const minYear = 1900;
const maxYear = 2299;
/** Date range of ClickHouse (days since 1970-01-01). */
const maxDateDays = 65535;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Days in a month of the proleptic Gregorian calendar (month 1..12). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** "2024-01-15T10:30:00.1234Z" -> "2024-01-15 10:30:00.123400" (ClickHouse DateTime64(6, 'UTC')). */
export function isoToDateTime64(text: string): string | undefined {
  const m = isoUtc.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction = ""] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < minYear || year > maxYear) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (fraction.length > 6 && /[1-9]/.test(fraction.slice(6))) return undefined;
  const micros = fraction.length === 6 ? fraction : fraction.slice(0, 6).padEnd(6, "0");
  return `${y}-${mo}-${d} ${h}:${mi}:${s}.${micros}`;
}

let lastMs: bigint | undefined;
let lastMsText = "";

/**
 * Milliseconds since epoch -> "YYYY-MM-DD hh:mm:ss.mmm" (ClickHouse DateTime64(3, 'UTC')). Called
 * twice per change (watermark and row) with runs of equal values (a transaction's changes, a
 * snapshot's reads share their commit time): the last result is kept (8.6 % of the consumer's
 * main-thread time before, CPU profile in bench/results/pipeline-2026-12-05.md).
 */
export function msToDateTime64(ms: bigint): string {
  if (ms !== lastMs) {
    const iso = new Date(Number(ms)).toISOString();
    lastMsText =
      iso.length === 24 ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.replace("T", " ").replace("Z", "");
    lastMs = ms;
  }
  return lastMsText;
}

/** Days since 1970-01-01 -> "YYYY-MM-DD". */
export function epochDaysToDate(days: number): string {
  const date = new Date(days * 86_400_000);
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** Reads typed columns of one row image; every failure names the table and the column. */
export class RowReader {
  constructor(
    readonly table: string,
    private readonly row: SourceRow,
  ) {}

  private value(column: string) {
    if (!(column in this.row)) {
      throw new MappingError(
        "MAPPING_MISSING_COLUMN",
        `${this.table}.${column} is missing`,
        this.table,
        column,
      );
    }
    return this.row[column];
  }

  private fail(column: string, expected: string, value: unknown): never {
    const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value);
    throw new MappingError(
      "MAPPING_BAD_VALUE",
      `${this.table}.${column}: expected ${expected}, got ${shown}`,
      this.table,
      column,
    );
  }

  private nonNull(column: string) {
    const value = this.value(column);
    if (value === null) this.fail(column, "a value", null);
    return value;
  }

  /** integer / smallint. */
  int(column: string): number {
    const value = this.nonNull(column);
    const n = typeof value === "bigint" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n)) this.fail(column, "an integer", value);
    return n;
  }

  nullableInt(column: string): number | null {
    return this.value(column) === null ? null : this.int(column);
  }

  /** bigint -> decimal text (JSON numbers cannot carry 64-bit integers exactly). */
  long(column: string): string {
    const value = this.nonNull(column);
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
    return this.fail(column, "a 64-bit integer", value);
  }

  float(column: string): number {
    const value = this.nonNull(column);
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(column, "a finite number", value);
    return value;
  }

  bool(column: string): 0 | 1 {
    const value = this.nonNull(column);
    if (typeof value !== "boolean") this.fail(column, "a boolean", value);
    return value ? 1 : 0;
  }

  text(column: string): string {
    const value = this.nonNull(column);
    if (typeof value !== "string") this.fail(column, "a string", value);
    return value;
  }

  nullableText(column: string): string | null {
    return this.value(column) === null ? null : this.text(column);
  }

  /** numeric(p, scale) decimal string, kept as exact text with `scale` fraction digits. */
  decimal(column: string, scale: number): string {
    const value = this.nonNull(column);
    if (typeof value === "string") {
      try {
        return formatDecimal(parseDecimal(value, scale), scale);
      } catch {
        // reported below with the table and column
      }
    }
    throw new MappingError(
      "MAPPING_BAD_DECIMAL",
      `${this.table}.${column}: expected a decimal string with at most ${scale} fraction digits, got ${JSON.stringify(value)}`,
      this.table,
      column,
    );
  }

  /** timestamptz (ISO-8601 UTC text) -> DateTime64(6, 'UTC') text. */
  timestamp(column: string): string {
    const value = this.nonNull(column);
    const converted = typeof value === "string" ? isoToDateTime64(value) : undefined;
    if (converted === undefined) {
      throw new MappingError(
        "MAPPING_BAD_TIMESTAMP",
        `${this.table}.${column}: expected an ISO-8601 UTC timestamp (…Z, years ${minYear}-${maxYear}, at most microseconds), got ${JSON.stringify(value)}`,
        this.table,
        column,
      );
    }
    return converted;
  }

  nullableTimestamp(column: string): string | null {
    return this.value(column) === null ? null : this.timestamp(column);
  }

  /** date (days since epoch) -> "YYYY-MM-DD". */
  date(column: string): string {
    const value = this.nonNull(column);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > maxDateDays) {
      throw new MappingError(
        "MAPPING_BAD_DATE",
        `${this.table}.${column}: expected days since 1970-01-01 within 0..${maxDateDays}, got ${JSON.stringify(value)}`,
        this.table,
        column,
      );
    }
    return epochDaysToDate(value);
  }

  nullableDate(column: string): string | null {
    return this.value(column) === null ? null : this.date(column);
  }
}
