/** A closed range of UTC calendar months, "YYYY-MM". */
export interface MonthRange {
  from: string;
  to: string;
}

/** A closed range of UTC calendar days, "YYYY-MM-DD" (day- and hour-grain marts only). */
export interface DayRange {
  firstDay: string;
  lastDay: string;
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

const dayPattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day as YYYY-MM-DD (2024-02-30 is not one). */
export function assertDay(day: string): string {
  const m = dayPattern.exec(day);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!date || date.toISOString().slice(0, 10) !== day)
    throw new RangeError(`expected a day as YYYY-MM-DD, got "${day}"`);
  return day;
}

export function addDays(day: string, n: number): string {
  const date = new Date(`${assertDay(day)}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + n);
  return date.toISOString().slice(0, 10);
}

/** Query parameters of a day range: first day, last day and the exclusive end (the day after). */
export function dayRangeParams(range: DayRange): { from: string; to: string; to_end: string } {
  if (assertDay(range.firstDay) > assertDay(range.lastDay)) {
    throw new RangeError(`day range ${range.firstDay}..${range.lastDay} is empty`);
  }
  return { from: range.firstDay, to: range.lastDay, to_end: addDays(range.lastDay, 1) };
}

/** Month ranges and day ranges, for the marts kept at day or hour grain. */
export function periodParams(period: MonthRange | DayRange): { from: string; to: string; to_end: string } {
  return "firstDay" in period ? dayRangeParams(period) : rangeParams(period);
}
