import type { TableMapping } from "../table-mapping.js";

export const batteryMetrics: TableMapping = {
  source: "telemetry",
  table: "battery_metrics",
  facts: [
    {
      target: "battery_metric_changes",
      row: (r) => ({
        metric_id: r.long("metric_id"),
        prosthetic_id: r.int("prosthetic_id"),
        metric_timestamp: r.timestamp("metric_timestamp"),
        charge_level: r.float("charge_level"),
        current_ma: r.float("current_ma"),
        is_charging: r.bool("is_charging"),
      }),
    },
  ],
};
