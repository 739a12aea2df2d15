/** The two CDC sources: which database and which tables. */
export type SourceName = "crm" | "telemetry";

export interface SourceDefinition {
  name: SourceName;
  tables: readonly string[];
}

export const SOURCES: Record<SourceName, SourceDefinition> = {
  crm: {
    name: "crm",
    tables: ["crm_users", "crm_prosthetics", "crm_subscriptions", "crm_payments", "crm_support_tickets"],
  },
  telemetry: {
    name: "telemetry",
    tables: ["telemetry_events", "battery_metrics", "raw_telemetry"],
  },
};

export const HEARTBEAT_TABLE = "debezium_heartbeat";

/** `<prefix>.<source>.<table>`, the topic Debezium (after the route transform) writes a table to. */
export const tableTopic = (prefix: string, source: SourceName, table: string): string =>
  `${prefix}.${source}.${table}`;
