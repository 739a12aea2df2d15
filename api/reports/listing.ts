import { ApiError } from "../errors.js";
import type { ReportList } from "../schemas/reports.js";
import type { UserHistory } from "./history.js";
import { monthOf } from "./history.js";

type Entry = ReportList["reports"][number];

/** Sort key, newest first: a month sorts just above its own days ("2024-02~" > "2024-02-29"). */
const sortKey = (e: Entry) => (e.kind === "month" ? `${e.period}~` : e.period);

const cursorPattern = /^[0-9]{4}-[0-9]{2}(~|-[0-9]{2})$/;

/** An opaque cursor: the sort key of the last entry of a page, base64url. */
export const encodeCursor = (key: string): string => Buffer.from(key, "utf8").toString("base64url");

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, "base64url").toString("utf8");
  if (!cursorPattern.test(key) || encodeCursor(key) !== cursor)
    throw new ApiError("INVALID_PAGINATION", "cursor is not a next_cursor this API returned", {
      extensions: { errors: [{ parameter: "cursor", message: "unknown cursor" }] },
    });
  return key;
}

/**
 * The months and days that have a report for the user, newest first. A month is listed when its
 * month report has a row (payments, an active subscription or device data); a day when its daily
 * report has a row (movements, events or power-session time).
 */
export function reportEntries(
  history: UserHistory,
  href: { month: (month: string) => string; day: (day: string) => string },
): Entry[] {
  const months = new Set([...history.months, ...history.devices].map((r) => monthOf(r.report_date)));
  const entries: Entry[] = [
    ...[...months].map((m) => ({ kind: "month" as const, period: m, href: href.month(m) })),
    ...history.days.map((d) => ({
      kind: "day" as const,
      period: d.report_date,
      href: href.day(d.report_date),
    })),
  ];
  return entries.sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
}

/** One page: the entries after the decoded cursor `after` (null: from the newest). */
export function reportPage(
  entries: readonly Entry[],
  limit: number,
  after: string | null,
): { reports: Entry[]; total: number; next_cursor: string | null } {
  const rest = after === null ? entries : entries.filter((e) => sortKey(e) < after);
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return {
    reports: page,
    total: entries.length,
    next_cursor: rest.length > limit && last ? encodeCursor(sortKey(last)) : null,
  };
}
