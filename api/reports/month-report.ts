import type { ProstheticMonthlyRow, UserMonthlyRow } from "../../clickhouse/marts/index.js";
import type { DeviceReport, MonthReport } from "../schemas/reports.js";
import { fromCents, moneyRatio, toCents } from "./money.js";
import { elapsedDays } from "./period.js";

/** docs/metrics.md §7: the KPIs of GET /reports/user/{id}?month= and when a device needs attention. */
export const batteryCyclesLimit = 3;
export const reliabilityAttentionBelow = 95;

/** 100 - errors / power-ons * 100, clamped to [0, 100]; null when nothing was switched on. */
export function reliabilityPercent(errors: number, powerOns: number): number | null {
  if (powerOns === 0) return null;
  return Math.min(100, Math.max(0, 100 - (errors / powerOns) * 100));
}

export function deviceReport(row: ProstheticMonthlyRow, month: string, now: Date): DeviceReport {
  const days = elapsedDays(month, now);
  const errors = row.error_count + row.critical_error_count;
  const reliability = reliabilityPercent(errors, row.power_on_count);
  const batteryHealth = row.charge_cycles < batteryCyclesLimit ? "good" : "degraded";
  const attention =
    row.critical_error_count > 0 ||
    row.downtime_minutes > 0 ||
    batteryHealth === "degraded" ||
    (reliability !== null && reliability < reliabilityAttentionBelow);
  return {
    prosthetic_id: row.prosthetic_id,
    device_type: row.device_type,
    usage_hours: row.total_active_hours,
    daily_usage_hours: row.total_active_hours / days,
    power_on_count: row.power_on_count,
    battery_health: batteryHealth,
    charge_cycles: row.charge_cycles,
    mean_time_to_recharge_hours: row.charge_cycles === 0 ? null : (days * 24) / row.charge_cycles,
    downtime_minutes: row.downtime_minutes,
    errors,
    warnings: row.warning_count,
    critical_errors: row.critical_error_count,
    reliability_percent: reliability,
    status: attention ? "attention" : "healthy",
  };
}

const zeroFinancial: Pick<
  UserMonthlyRow,
  | "total_payments"
  | "successful_payments"
  | "failed_payments"
  | "pending_payments"
  | "failed_payments_count"
  | "active_subscriptions_count"
  | "subscription_cost_total"
> = {
  total_payments: "0.00",
  successful_payments: "0.00",
  failed_payments: "0.00",
  pending_payments: "0.00",
  failed_payments_count: 0,
  active_subscriptions_count: 0,
  subscription_cost_total: "0.00",
};

/**
 * The month report of one user (seed 01 §5.3 plus the §5 KPIs) from that month's mart rows. A month
 * without rows is an empty report: zero money, no devices, healthy.
 */
export function monthReport(input: {
  userId: number;
  month: string;
  user: UserMonthlyRow | undefined;
  devices: readonly ProstheticMonthlyRow[];
  now: Date;
  freshness: { dataAsOf: string | null; lagSeconds: number | null };
}): MonthReport {
  const money = input.user ?? zeroFinancial;
  const devices = input.devices.map((row) => deviceReport(row, input.month, input.now));
  const sum = (pick: (d: DeviceReport) => number) => devices.reduce((total, d) => total + pick(d), 0);
  const usageHours = sum((d) => d.usage_hours);
  const powerOns = sum((d) => d.power_on_count);
  const errors = sum((d) => d.errors);
  const attention = devices.some((d) => d.status === "attention") || money.failed_payments_count > 0;
  return {
    period: input.month,
    user_id: input.userId,
    financial: {
      total_payments: money.total_payments,
      successful_payments: money.successful_payments,
      failed_payments: money.failed_payments,
      pending_payments: money.pending_payments,
      failed_payments_count: money.failed_payments_count,
      active_subscriptions: money.active_subscriptions_count,
      monthly_cost: money.subscription_cost_total,
      payment_success_rate: moneyRatio(money.successful_payments, money.total_payments),
      arr: fromCents(toCents(money.subscription_cost_total) * 12n),
    },
    usage: {
      usage_hours: usageHours,
      daily_usage_hours: usageHours / elapsedDays(input.month, input.now),
      power_on_count: powerOns,
      errors,
      downtime_minutes: sum((d) => d.downtime_minutes),
      reliability_percent: reliabilityPercent(errors, powerOns),
    },
    devices,
    status: attention ? "attention" : "healthy",
    data_as_of: input.freshness.dataAsOf,
    lag_seconds: input.freshness.lagSeconds,
  };
}
