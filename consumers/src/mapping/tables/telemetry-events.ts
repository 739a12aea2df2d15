import type { TableMapping } from "../table-mapping.js";

export const telemetryEvents: TableMapping = {
  source: "telemetry",
  table: "telemetry_events",
  facts: [
    {
      target: "telemetry_event_changes",
      row: (r) => ({
        event_id: r.long("event_id"),
        prosthetic_id: r.int("prosthetic_id"),
        event_type: r.text("event_type"),
        event_timestamp: r.timestamp("event_timestamp"),
        event_value: r.nullableText("event_value"),
        severity: r.text("severity"),
      }),
    },
  ],
};
