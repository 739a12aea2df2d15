/** A closed range of UTC calendar months, "YYYY-MM". */
export interface MonthRange {
  from: string;
  to: string;
}

const monthPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function assertMonth(month: string): string {
  if (!monthPattern.test(month)) throw new RangeError(`expected a month as YYYY-MM, got "${month}"`);
  return month;
}

export function addMonths(month: string, n: number): string {
  const [y, m] = assertMonth(month).split("-").map(Number) as [number, number];
  const index = y * 12 + (m - 1) + n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
}

/**
 * Query parameters for a month range: first day of the first month, first day of the last month,
 * and the exclusive end (first day after the range).
 */
export function rangeParams(range: MonthRange): { from: string; to: string; to_end: string } {
  if (assertMonth(range.from) > assertMonth(range.to)) {
    throw new RangeError(`month range ${range.from}..${range.to} is empty`);
  }
  return { from: `${range.from}-01`, to: `${range.to}-01`, to_end: `${addMonths(range.to, 1)}-01` };
}
