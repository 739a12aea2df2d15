import type { TableMapping } from "../table-mapping.js";

/** The payment's own user_id attributes it (no lookup); description stays out of ClickHouse. */
export const crmPayments: TableMapping = {
  source: "crm",
  table: "crm_payments",
  facts: [
    {
      target: "payment_changes",
      row: (r) => ({
        payment_id: r.int("payment_id"),
        user_id: r.int("user_id"),
        subscription_id: r.int("subscription_id"),
        payment_date: r.timestamp("payment_date"),
        amount: r.decimal("amount", 2),
        payment_method: r.text("payment_method"),
        status: r.text("status"),
      }),
    },
  ],
};
