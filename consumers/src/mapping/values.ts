import { formatDecimal, parseDecimal } from "../avro/types.js";
import type { SourceRow } from "../envelope.js";
import { MappingError } from "./errors.js";

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

/** The number the `count` ASCII digits of `text` from `from` on spell; -1 if one is not a digit. */
function digitsAt(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * "2024-01-15T10:30:00.1234Z" -> "2024-01-15 10:30:00.123400" (ClickHouse DateTime64(6, 'UTC')):
 * `YYYY-MM-DDThh:mm:ss[.f{1,9}]Z`, a real calendar day, fraction digits past the sixth all zero.
 * Read character by character: a regular expression's match array and the seven pieces a template
 * joined were, with every telemetry row, among what the consumer's young-generation GCs copied most.
 */
export function isoToDateTime64(text: string): string | undefined {
  const length = text.length;
  if (length < 20 || length > 30 || text.charCodeAt(length - 1) !== 90 /* Z */) return undefined;
  if (text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":") {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  if (year < minYear || year > maxYear) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const date = text.slice(0, 10);
  if (length === 20) return `${date} ${text.slice(11, 19)}.000000`;
  const fractionDigits = length - 21;
  if (text[19] !== "." || fractionDigits < 1 || digitsAt(text, 20, fractionDigits) < 0) return undefined;
  if (fractionDigits > 6 && digitsAt(text, 26, fractionDigits - 6) !== 0) return undefined;
  if (fractionDigits >= 6) return `${date} ${text.slice(11, 26)}`;
  return `${date} ${text.slice(11, 20 + fractionDigits)}${"000000".slice(fractionDigits)}`;
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
