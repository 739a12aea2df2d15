import type { TableMapping } from "../table-mapping.js";

/** Keyed by chip_id as it arrives; the prosthesis and owner are joined from dim_prosthetics at query time. */
export const rawTelemetry: TableMapping = {
  source: "telemetry",
  table: "raw_telemetry",
  facts: [
    {
      target: "raw_telemetry_changes",
      row: (r) => ({
        sample_id: r.long("sample_id"),
        chip_id: r.text("chip_id"),
        event_time: r.timestamp("event_time"),
        response_time_ms: r.int("response_time_ms"),
        battery_level: r.int("battery_level"),
        error_code: r.int("error_code"),
      }),
    },
  ],
};
