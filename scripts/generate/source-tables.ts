/** The tables the generator owns (debezium_heartbeat is deliberately absent: the connector owns it). */
export const CRM_TABLES = [
  "crm_users",
  "crm_prosthetics",
  "crm_subscriptions",
  "crm_payments",
  "crm_support_tickets",
] as const;

export const TELEMETRY_TABLES = ["telemetry_events", "battery_metrics", "raw_telemetry"] as const;

export type CrmTable = (typeof CRM_TABLES)[number];
export type TelemetryTable = (typeof TELEMETRY_TABLES)[number];
export type SourceTable = CrmTable | TelemetryTable;

export const SOURCE_TABLES: readonly SourceTable[] = [...CRM_TABLES, ...TELEMETRY_TABLES];

export const PRIMARY_KEY: Record<SourceTable, string> = {
  crm_users: "user_id",
  crm_prosthetics: "prosthetic_id",
  crm_subscriptions: "subscription_id",
  crm_payments: "payment_id",
  crm_support_tickets: "ticket_id",
  telemetry_events: "event_id",
  battery_metrics: "metric_id",
  raw_telemetry: "sample_id",
};
