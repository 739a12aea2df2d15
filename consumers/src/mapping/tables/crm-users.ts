import type { TableMapping } from "../table-mapping.js";

export const crmUsers: TableMapping = {
  source: "crm",
  table: "crm_users",
  dimension: {
    target: "dim_users",
    row: (r) => ({
      user_id: r.int("user_id"),
      user_uuid: r.text("user_uuid"),
      login: r.text("login"),
      first_name: r.text("first_name"),
      last_name: r.text("last_name"),
      email: r.text("email"),
      phone: r.nullableText("phone"),
      created_at: r.timestamp("created_at"),
      updated_at: r.timestamp("updated_at"),
    }),
  },
};
