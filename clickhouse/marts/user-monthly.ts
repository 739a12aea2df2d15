import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../sql.js";
import { selectionCondition, selectionParams, type UserSelection } from "./filters.js";
import { rangeParams, type MonthRange } from "./range.js";
import { toDecimal2, toNumber, toTimestamp } from "./values.js";

/** report_user_monthly_metrics (seed 01 §2.3) plus the amounts that make up total_payments. */
export interface UserMonthlyRow {
  report_date: string;
  user_id: number;
  user_uuid: string;
  total_payments: string;
  successful_payments: string;
  failed_payments: string;
  pending_payments: string;
  failed_payments_count: number;
  active_subscriptions_count: number;
  subscription_cost_total: string;
  last_updated: string | null;
  created_at: string | null;
}

export function userMonthlySql(database: string, selection: UserSelection): string {
  const db = assertDatabaseName(database);
  const users = selectionCondition(selection);
  return `
    WITH
      pay AS (
        SELECT user_id, month,
          sumMerge(payments_count) AS payments_count,
          sumMerge(total_amount) AS total_payments,
          sumMerge(successful_amount) AS successful_payments,
          sumMerge(failed_amount) AS failed_payments,
          sumMerge(pending_amount) AS pending_payments,
          sumMerge(failed_count) AS failed_payments_count,
          min(created_at) AS created_at, max(last_updated) AS last_updated
        FROM ${db}.user_payment_monthly
        WHERE month >= {from:Date} AND month < {to_end:Date} AND ${users}
        GROUP BY user_id, month
        HAVING payments_count != 0
      ),
      months AS (
        SELECT arrayJoin(arrayMap(i -> addMonths({from:Date}, i),
          range(toUInt64(dateDiff('month', {from:Date}, {to:Date}) + 1)))) AS month
      ),
      deltas AS (
        SELECT user_id, month AS delta_month,
          sumMerge(active_delta) AS active_delta, sumMerge(cost_delta) AS cost_delta,
          min(created_at) AS created_at, max(last_updated) AS last_updated
        FROM ${db}.user_subscription_monthly_deltas
        WHERE month < {to_end:Date} AND ${users}
        GROUP BY user_id, delta_month
      ),
      subs AS (
        SELECT d.user_id AS user_id, m.month AS month,
          sumIf(d.active_delta, d.delta_month <= m.month) AS active_subscriptions_count,
          sumIf(d.cost_delta, d.delta_month <= m.month) AS subscription_cost_total,
          minIf(d.created_at, d.delta_month <= m.month) AS created_at,
          maxIf(d.last_updated, d.delta_month <= m.month) AS last_updated
        FROM deltas AS d CROSS JOIN months AS m
        GROUP BY user_id, month
        HAVING active_subscriptions_count != 0
      )
    SELECT
      toString(month) AS report_date,
      user_id,
      u.user_uuid AS user_uuid,
      toString(pay.total_payments) AS total_payments,
      toString(pay.successful_payments) AS successful_payments,
      toString(pay.failed_payments) AS failed_payments,
      toString(pay.pending_payments) AS pending_payments,
      pay.failed_payments_count AS failed_payments_count,
      subs.active_subscriptions_count AS active_subscriptions_count,
      toString(subs.subscription_cost_total) AS subscription_cost_total,
      toString(greatest(pay.last_updated, subs.last_updated)) AS last_updated,
      toString(if(pay.payments_count = 0, subs.created_at,
        if(subs.active_subscriptions_count = 0, pay.created_at, least(pay.created_at, subs.created_at)))) AS created_at
    FROM pay
    FULL OUTER JOIN subs USING (user_id, month)
    LEFT JOIN (SELECT user_id, user_uuid FROM ${db}.dim_users FINAL) AS u USING (user_id)
    ORDER BY user_id, report_date`;
}

/**
 * Finalised report_user_monthly_metrics rows of the selected users for a month range. A row exists
 * for a user and month with at least one payment or at least one active subscription (docs/metrics.md §1).
 */
export async function queryUserMonthlyMetrics(
  client: ClickHouseClient,
  database: string,
  range: MonthRange,
  selection: UserSelection,
): Promise<UserMonthlyRow[]> {
  const result = await client.query({
    query: userMonthlySql(database, selection),
    query_params: { ...rangeParams(range), ...selectionParams(selection) },
    format: "JSONEachRow",
  });
  const rows = await result.json<Record<string, unknown>>();
  return rows.map((r) => ({
    report_date: String(r.report_date),
    user_id: toNumber(r.user_id),
    user_uuid: String(r.user_uuid),
    total_payments: toDecimal2(r.total_payments),
    successful_payments: toDecimal2(r.successful_payments),
    failed_payments: toDecimal2(r.failed_payments),
    pending_payments: toDecimal2(r.pending_payments),
    failed_payments_count: toNumber(r.failed_payments_count),
    active_subscriptions_count: toNumber(r.active_subscriptions_count),
    subscription_cost_total: toDecimal2(r.subscription_cost_total),
    last_updated: toTimestamp(r.last_updated),
    created_at: toTimestamp(r.created_at),
  }));
}
