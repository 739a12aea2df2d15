import type { TableMapping } from "../table-mapping.js";

export const crmSupportTickets: TableMapping = {
  source: "crm",
  table: "crm_support_tickets",
  dimension: {
    target: "dim_support_tickets",
    row: (r) => ({
      ticket_id: r.int("ticket_id"),
      user_id: r.int("user_id"),
      prosthetic_id: r.nullableInt("prosthetic_id"),
      title: r.text("title"),
      description: r.nullableText("description"),
      status: r.text("status"),
      created_at: r.timestamp("created_at"),
      updated_at: r.timestamp("updated_at"),
      resolved_at: r.nullableTimestamp("resolved_at"),
    }),
  },
};
