/** The AggregatingMergeTree mart tables (migrations 003-006): ids and aggregate states only, no personal data. */
export const martTables = [
  "user_payment_daily",
  "user_payment_monthly",
  "user_subscription_monthly_deltas",
  "prosthetic_event_daily",
  "prosthetic_event_monthly",
  "prosthetic_battery_daily",
  "prosthetic_battery_monthly",
  "chip_hourly_stats",
  "chip_daily_stats",
  "chip_monthly_stats",
] as const;
