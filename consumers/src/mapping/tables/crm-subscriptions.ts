import type { TableMapping } from "../table-mapping.js";

/** Dimension for lookups, signed month deltas for active_subscriptions_count / subscription_cost_total. */
export const crmSubscriptions: TableMapping = {
  source: "crm",
  table: "crm_subscriptions",
  dimension: {
    target: "dim_subscriptions",
    row: (r) => ({
      subscription_id: r.int("subscription_id"),
      user_id: r.int("user_id"),
      subscription_type: r.text("subscription_type"),
      start_date: r.date("start_date"),
      end_date: r.nullableDate("end_date"),
      is_active: r.bool("is_active"),
      monthly_cost: r.decimal("monthly_cost", 2),
      created_at: r.timestamp("created_at"),
      updated_at: r.timestamp("updated_at"),
    }),
  },
  facts: [
    {
      target: "subscription_changes",
      row: (r) => ({
        subscription_id: r.int("subscription_id"),
        user_id: r.int("user_id"),
        subscription_type: r.text("subscription_type"),
        start_date: r.date("start_date"),
        end_date: r.nullableDate("end_date"),
        monthly_cost: r.decimal("monthly_cost", 2),
      }),
    },
  ],
};
