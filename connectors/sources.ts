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

export const SOURCE_NAMES = Object.keys(SOURCES) as readonly SourceName[];

export const HEARTBEAT_TABLE = "debezium_heartbeat";

/**
 * Debezium's source signal channel (connectors/README.md "Signals"): a row inserted here asks the
 * connector for an action, e.g. a blocking snapshot of one table (`resnapshot`). Its change events
 * are dropped before Kafka (the connector's `dropSignals` transform): no topic, nothing to consume.
 */
export const SIGNAL_TABLE = "debezium_signal";

/** `<prefix>.<source>.<table>`, the topic Debezium (after the route transform) writes a table to. */
export const tableTopic = (prefix: string, source: SourceName, table: string): string =>
  `${prefix}.${source}.${table}`;
