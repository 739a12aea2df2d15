/**
 * The generated history is anchored to a fixed instant, not to "now", so two runs a month apart
 * still produce byte-identical data. All arithmetic is in UTC milliseconds.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The history ends at 2026-10-31T23:59:59Z; everything generated happens at or before it. */
const HISTORY_END_EXCLUSIVE_MS = Date.UTC(2026, 10, 1);

/** 2.5 years, the seed's history length. */
export const DEFAULT_DAYS = 913;

export interface HistoryWindow {
  /** UTC midnight of the first day. */
  startMs: number;
  /** The last instant anything may carry: one second before the exclusive end. */
  endMs: number;
  days: number;
}

export function historyWindow(days: number): HistoryWindow {
  return { startMs: HISTORY_END_EXCLUSIVE_MS - days * DAY_MS, endMs: HISTORY_END_EXCLUSIVE_MS - 1000, days };
}

/** Same day-of-month `months` later; callers keep the day at or below 28 so it always exists. */
export function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  return Date.UTC(
    d.getUTCFullYear(),
    d.getUTCMonth() + months,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

export function utcMidnight(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** timestamptz literal, always UTC with millisecond precision. */
export function isoTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** date literal (YYYY-MM-DD) of the UTC day containing `ms`. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
