import type { PeriodTotals, Summary } from "../schemas/reports.js";
import type { UserHistory } from "./history.js";
import { monthOf } from "./history.js";
import { sumMoney } from "./money.js";
import { previousMonth, utcMonth } from "./period.js";

/** Totals over the months [from, to] of a user's history (null bounds: no data at all). */
export function periodTotals(
  history: UserHistory,
  from: string | null,
  to: string | null,
  withSubscriptions: boolean,
): PeriodTotals {
  const inPeriod = (reportDate: string) =>
    from !== null && to !== null && monthOf(reportDate) >= from && monthOf(reportDate) <= to;
  const months = history.months.filter((r) => inPeriod(r.report_date));
  const devices = history.devices.filter((r) => inPeriod(r.report_date));
  const days = history.days.filter((r) => inPeriod(r.report_date));
  const count = <T>(rows: readonly T[], pick: (r: T) => number) => rows.reduce((s, r) => s + pick(r), 0);
  const only = months.length === 1 ? months[0] : undefined;
  return {
    from,
    to,
    payments: {
      total: sumMoney(months.map((r) => r.total_payments)),
      successful: sumMoney(months.map((r) => r.successful_payments)),
      failed: sumMoney(months.map((r) => r.failed_payments)),
      pending: sumMoney(months.map((r) => r.pending_payments)),
      failed_count: count(months, (r) => r.failed_payments_count),
    },
    subscriptions: withSubscriptions
      ? {
          active: only?.active_subscriptions_count ?? 0,
          monthly_cost: only?.subscription_cost_total ?? "0.00",
        }
      : null,
    usage: {
      usage_hours: count(devices, (r) => r.total_active_hours),
      power_on_count: count(devices, (r) => r.power_on_count),
      movements: count(days, (r) => r.total_movements),
      errors: count(devices, (r) => r.error_count + r.critical_error_count),
      warnings: count(devices, (r) => r.warning_count),
      critical_errors: count(devices, (r) => r.critical_error_count),
      downtime_minutes: count(devices, (r) => r.downtime_minutes),
      days_with_data: days.length,
    },
  };
}

/** GET /api/reports/summary: this month, last month (UTC, by the injected clock) and all time. */
export function summary(input: {
  userId: number;
  history: UserHistory;
  now: Date;
  freshness: { dataAsOf: string | null; lagSeconds: number | null };
}): Summary {
  const current = utcMonth(input.now);
  const last = previousMonth(current);
  const range = input.history.range;
  return {
    user_id: input.userId,
    this_month: periodTotals(input.history, current, current, true),
    last_month: periodTotals(input.history, last, last, true),
    all_time: periodTotals(input.history, range?.from ?? null, range?.to ?? null, false),
    data_as_of: input.freshness.dataAsOf,
    lag_seconds: input.freshness.lagSeconds,
  };
}
