import type { TableMapping } from "../table-mapping.js";

export const crmProsthetics: TableMapping = {
  source: "crm",
  table: "crm_prosthetics",
  dimension: {
    target: "dim_prosthetics",
    row: (r) => ({
      prosthetic_id: r.int("prosthetic_id"),
      user_id: r.int("user_id"),
      prosthetic_uuid: r.text("prosthetic_uuid"),
      chip_id: r.text("chip_id"),
      device_type: r.text("device_type"),
      serial_number: r.text("serial_number"),
      model: r.text("model"),
      purchase_date: r.date("purchase_date"),
      warranty_end_date: r.date("warranty_end_date"),
      is_active: r.bool("is_active"),
      created_at: r.timestamp("created_at"),
      updated_at: r.timestamp("updated_at"),
    }),
  },
};
