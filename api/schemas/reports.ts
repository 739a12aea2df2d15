import { Type, type Static } from "typebox";
import { Day, freshnessProperties, Money, Month, Nullable, UserId } from "./common.js";

const Hours = (description: string) => Type.Number({ minimum: 0, description });
const Count = (description: string) => Type.Integer({ minimum: 0, description });

export const DeviceReport = Type.Object({
  prosthetic_id: Type.Integer(),
  device_type: Type.String({ examples: ["left_arm"] }),
  usage_hours: Hours("Hours of power sessions in the month (docs/metrics.md §3)"),
  daily_usage_hours: Hours("usage_hours / days of the month (elapsed days for the current month)"),
  power_on_count: Count("power_on events"),
  battery_health: Type.Union([Type.Literal("good"), Type.Literal("degraded")], {
    description: "good when fewer than 3 charge cycles completed in the month",
  }),
  charge_cycles: Count("Charge cycles completed in the month"),
  mean_time_to_recharge_hours: Nullable(Hours("Hours of the month / charge_cycles; null without a cycle")),
  downtime_minutes: Count("Whole minutes of outages (critical fault .. restart)"),
  errors: Count("Events with severity error or critical"),
  warnings: Count("Events with severity warning"),
  critical_errors: Count("Events with severity critical"),
  reliability_percent: Nullable(
    Type.Number({
      minimum: 0,
      maximum: 100,
      description: "100 - errors / power_on_count * 100, at least 0; null without a power-on",
    }),
  ),
  status: Type.Union([Type.Literal("healthy"), Type.Literal("attention")]),
});

export const MonthReport = Type.Object({
  period: Month,
  user_id: UserId,
  financial: Type.Object({
    total_payments: Money,
    successful_payments: Money,
    failed_payments: Money,
    pending_payments: Money,
    failed_payments_count: Count("Payments with status failed"),
    active_subscriptions: Count("Subscriptions active in the month"),
    monthly_cost: Money,
    payment_success_rate: Nullable(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: "successful / total payments; null without payments",
      }),
    ),
    arr: Money,
  }),
  usage: Type.Object({
    usage_hours: Hours("Sum over the user's devices"),
    daily_usage_hours: Hours("usage_hours / days of the month (elapsed days for the current month)"),
    power_on_count: Count("Sum over the user's devices"),
    errors: Count("Sum over the user's devices"),
    downtime_minutes: Count("Sum over the user's devices"),
    reliability_percent: Nullable(Type.Number({ minimum: 0, maximum: 100 })),
  }),
  devices: Type.Array(DeviceReport),
  status: Type.Union([Type.Literal("healthy"), Type.Literal("attention")], {
    description: "attention when a device needs attention or a payment failed in the month",
  }),
  ...freshnessProperties,
});
export type MonthReport = Static<typeof MonthReport>;
export type DeviceReport = Static<typeof DeviceReport>;

export const MonthReportQuery = Type.Object({ month: Month }, { additionalProperties: false });
export const UserPathParams = Type.Object({ user_id: UserId }, { additionalProperties: false });

export const StaffUserQuery = {
  user_id: Type.Optional(UserId),
};

export const ReportEntry = Type.Object({
  kind: Type.Union([Type.Literal("month"), Type.Literal("day")]),
  period: Type.String({ description: "YYYY-MM for a month, YYYY-MM-DD for a day", examples: ["2024-02"] }),
  href: Type.String({ description: "Where the report is", examples: ["/api/reports/2024-02-02"] }),
});

export const ReportListQuery = Type.Object(
  {
    ...StaffUserQuery,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 64, description: "next_cursor of the previous page" })),
  },
  { additionalProperties: false },
);

export const ReportList = Type.Object({
  user_id: UserId,
  reports: Type.Array(ReportEntry, { description: "Newest first; a month comes before its days" }),
  total: Count("Entries over all pages"),
  next_cursor: Nullable(Type.String()),
  ...freshnessProperties,
});
export type ReportList = Static<typeof ReportList>;

export const PeriodTotals = Type.Object({
  from: Nullable(Month),
  to: Nullable(Month),
  payments: Type.Object({
    total: Money,
    successful: Money,
    failed: Money,
    pending: Money,
    failed_count: Count("Payments with status failed"),
  }),
  subscriptions: Nullable(
    Type.Object(
      { active: Count("Active in the month"), monthly_cost: Money },
      { description: "null for all_time" },
    ),
  ),
  usage: Type.Object({
    usage_hours: Hours("Power-session hours"),
    power_on_count: Count("power_on events"),
    movements: Count("Movement samples"),
    errors: Count("Events with severity error or critical"),
    warnings: Count("Events with severity warning"),
    critical_errors: Count("Events with severity critical"),
    downtime_minutes: Count("Outage minutes"),
    days_with_data: Count("Days with a daily report"),
  }),
});
export type PeriodTotals = Static<typeof PeriodTotals>;

export const Summary = Type.Object({
  user_id: UserId,
  this_month: PeriodTotals,
  last_month: PeriodTotals,
  all_time: PeriodTotals,
  ...freshnessProperties,
});
export type Summary = Static<typeof Summary>;

export const StaffUserOnlyQuery = Type.Object(StaffUserQuery, { additionalProperties: false });
export const DayPathParams = Type.Object({ date: Day }, { additionalProperties: false });

export const HourlyStats = Type.Object({
  hour: Type.String({ format: "date-time", examples: ["2024-02-02T09:00:00Z"] }),
  prosthesis_id: Type.Integer(),
  prosthesis_model: Type.String(),
  movements_count: Count("Movement samples in the hour"),
  successful_movements: Count("Samples with error_code = 0"),
  avg_response_time: Type.Number({ description: "ms" }),
  battery_level: Type.Number({ description: "Average battery level, %" }),
  error_count: Count("Samples with error_code > 0"),
});

export const DailyReport = Type.Object({
  date: Day,
  user_id: UserId,
  summary: Type.Object({
    prostheses_count: Count("Prostheses with at least one movement"),
    total_movements: Count("Movement samples"),
    successful_movements: Count("Samples with error_code = 0"),
    movement_success_rate: Type.Number({ minimum: 0, maximum: 1 }),
    avg_response_time_ms: Type.Number(),
    avg_battery_level: Type.Number(),
    total_errors: Count("Samples with error_code > 0"),
    uptime_hours: Count("Distinct hours with a movement"),
    usage_hours: Hours("Power-session hours on the day"),
    power_on_count: Count("power_on events"),
    warning_count: Count("Events with severity warning"),
    error_event_count: Count("Events with severity error"),
    critical_error_count: Count("Events with severity critical"),
  }),
  hourly_data: Type.Array(HourlyStats, { description: "Per hour and prosthesis, in time order" }),
  ...freshnessProperties,
});
export type DailyReport = Static<typeof DailyReport>;
export type HourlyStats = Static<typeof HourlyStats>;

export const DayUsage = Type.Object({
  date: Day,
  usage_hours: Hours("Power-session hours on the day"),
  power_on_count: Count("power_on events"),
  total_movements: Count("Movement samples"),
  successful_movements: Count("Samples with error_code = 0"),
  total_errors: Count("Samples with error_code > 0"),
  warning_count: Count("Events with severity warning"),
  error_event_count: Count("Events with severity error"),
  critical_error_count: Count("Events with severity critical"),
  avg_battery_level: Type.Number({ description: "Average battery level of the day's samples, %" }),
});

export const MonthDays = Type.Object({
  user_id: UserId,
  month: Month,
  days: Type.Array(DayUsage, { description: "Days of the month with a daily report, in date order" }),
  ...freshnessProperties,
});
export type MonthDays = Static<typeof MonthDays>;

export const MonthDaysQuery = Type.Object(
  { month: Month, ...StaffUserQuery },
  { additionalProperties: false },
);
