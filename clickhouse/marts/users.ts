import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../sql.js";
import { selectedDevices, selectionCondition, selectionParams, type UserSelection } from "./filters.js";
import type { MonthRange } from "./range.js";
import { toNumber } from "./values.js";

/** A CRM user as the reports know it: ids only, no personal columns. */
export interface ReportUser {
  user_id: number;
  user_uuid: string;
}

export const reportUserSql = (database: string): string =>
  `SELECT user_id, user_uuid FROM ${assertDatabaseName(database)}.dim_users FINAL WHERE user_id = {user_id:Int32} LIMIT 1`;

/** The user's current dimension row (deleted users are gone), or null when the marts do not know them. */
export async function findReportUser(
  client: ClickHouseClient,
  database: string,
  userId: number,
): Promise<ReportUser | null> {
  const result = await client.query({
    query: reportUserSql(database),
    query_params: { user_id: userId },
    format: "JSONEachRow",
  });
  const [row] = await result.json<Record<string, unknown>>();
  return row ? { user_id: toNumber(row.user_id), user_uuid: String(row.user_uuid) } : null;
}

export function dataMonthsSql(database: string, selection: UserSelection): string {
  const db = assertDatabaseName(database);
  const users = selectionCondition(selection);
  return `
    WITH devices AS ${selectedDevices(db, selection)}
    SELECT toString(min(month)) AS first, toString(max(month)) AS last, count() AS parts
    FROM
    (
      SELECT month FROM ${db}.user_payment_monthly WHERE ${users}
      UNION ALL SELECT month FROM ${db}.user_subscription_monthly_deltas WHERE ${users}
      UNION ALL SELECT month FROM ${db}.prosthetic_event_monthly WHERE prosthetic_id IN (SELECT prosthetic_id FROM devices)
      UNION ALL SELECT month FROM ${db}.prosthetic_battery_monthly WHERE prosthetic_id IN (SELECT prosthetic_id FROM devices)
      UNION ALL SELECT month FROM ${db}.chip_monthly_stats WHERE chip_id IN (SELECT chip_id FROM devices)
    )`;
}

/**
 * The months any mart holds state for the selected users in (payments, subscription start/end
 * deltas, device events, battery metrics, movement samples), or null when there is none. A bound
 * for range queries, not a list of months with data: retracted state leaves zero rows behind, and a
 * subscription's end delta lies in the month after it ends.
 */
export async function queryDataMonths(
  client: ClickHouseClient,
  database: string,
  selection: UserSelection,
): Promise<MonthRange | null> {
  const result = await client.query({
    query: dataMonthsSql(database, selection),
    query_params: selectionParams(selection),
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ first: string; last: string; parts: number | string }>();
  if (!row || Number(row.parts) === 0) return null;
  return { from: row.first.slice(0, 7), to: row.last.slice(0, 7) };
}

/** The user's current prostheses and their chips (dim_prosthetics): what a live stream follows. */
export async function queryUserDevices(
  client: ClickHouseClient,
  database: string,
  userId: number,
): Promise<{ prostheticIds: number[]; chipIds: string[] }> {
  const db = assertDatabaseName(database);
  const result = await client.query({
    query: `SELECT prosthetic_id, chip_id FROM ${db}.dim_prosthetics FINAL WHERE user_id = {user_id:Int32}`,
    query_params: { user_id: userId },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ prosthetic_id: number | string; chip_id: string }>();
  return {
    prostheticIds: rows.map((r) => toNumber(r.prosthetic_id)),
    chipIds: rows.map((r) => String(r.chip_id)),
  };
}
