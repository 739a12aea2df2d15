import { addMonths } from "../../clickhouse/marts/index.js";

/** UTC calendar helpers of the reports; "now" is always the injected clock. */
export const utcMonth = (date: Date): string => date.toISOString().slice(0, 7);

export function daysInMonth(month: string): number {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * Days a monthly rate is spread over: the whole month for past and future months, the days elapsed
 * so far (today included) for the current month.
 */
export function elapsedDays(month: string, now: Date): number {
  return month === utcMonth(now) ? now.getUTCDate() : daysInMonth(month);
}

export const previousMonth = (month: string): string => addMonths(month, -1);

export const laterMonth = (a: string, b: string): string => (a > b ? a : b);
