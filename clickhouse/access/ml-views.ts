/**
 * The PII-free views ML engineers read (migration 008), declared once: the server-mode role
 * `ml_reader` is granted SELECT on exactly these (clickhouse/access/ml_readonly.sql), and POST /api/sql
 * accepts them (api/sql/policy.ts). ml-access.unit.test.ts keeps this list equal to the views the
 * migrations create.
 */
export const mlViews = [
  "ml_users",
  "ml_prosthetics",
  "ml_subscriptions",
  "ml_support_tickets",
  "ml_payments",
  "ml_telemetry_events",
  "ml_battery_metrics",
  "ml_chip_hourly_stats",
] as const;

export type MlView = (typeof mlViews)[number];

export function isMlView(name: string): name is MlView {
  return (mlViews as readonly string[]).includes(name);
}
