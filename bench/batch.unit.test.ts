import { describe, expect, it } from "vitest";
import { compareWithOracle } from "./batch-compare.js";
import { transform } from "./batch-dag.js";

const device = {
  prosthetic_id: 7,
  user_id: 3,
  user_uuid: "u-3",
  prosthetic_uuid: "p-7",
  chip_id: "c-7",
  device_type: "left_arm",
  model: "BionicPRO X2",
  customer_name: "A B",
};

describe("the seed batch's transform", () => {
  it("adds successful and failed payments exactly and drops users without a payment month", () => {
    const rows = transform({
      way: "seed",
      users: [
        {
          user_id: 3,
          user_uuid: "u-3",
          report_date: "2024-01-01",
          successful_payments: "5998.10",
          failed_payments: "2999.2",
          failed_count: "1",
          active_subs: "1",
          subscription_cost: "8997.00",
        },
        {
          user_id: 4,
          user_uuid: "u-4",
          report_date: null,
          successful_payments: "0",
          failed_payments: "0",
          failed_count: "0",
          active_subs: "1",
          subscription_cost: null,
        },
      ],
      events: [],
      battery: [],
      dimension: [],
    });
    expect(rows.user).toEqual([
      {
        report_date: "2024-01-01",
        user_id: 3,
        user_uuid: "u-3",
        total_payments: "8997.30",
        successful_payments: "5998.10",
        failed_payments_count: 1,
        active_subscriptions_count: 1,
        subscription_cost_total: "8997.00",
      },
    ]);
  });

  it("joins events and battery per prosthesis-month with the CRM's prostheses, zero where a side is missing", () => {
    const rows = transform({
      way: "seed",
      users: [],
      events: [
        {
          prosthetic_id: 7,
          report_date: "2024-01-01",
          power_on_count: "28",
          power_off_count: "27",
          warning_count: "2",
          error_count: "1",
          critical_count: "0",
        },
        {
          prosthetic_id: 99,
          report_date: "2024-01-01",
          power_on_count: "1",
          power_off_count: "1",
          warning_count: "0",
          error_count: "0",
          critical_count: "0",
        },
      ],
      battery: [
        {
          prosthetic_id: 7,
          report_date: "2024-02-01",
          avg_discharge_active: 85.5,
          avg_charge_rate: null,
          charge_cycles: "2",
        },
      ],
      dimension: [device],
    });
    const common = {
      prosthetic_id: 7,
      user_id: 3,
      user_uuid: "u-3",
      prosthetic_uuid: "p-7",
      device_type: "left_arm",
    };
    const zero = { total_active_hours: 0, avg_discharge_rate_idle: 0, downtime_minutes: 0 };
    expect(rows.prosthetic).toEqual([
      {
        report_date: "2024-01-01",
        ...common,
        power_on_count: 28,
        power_off_count: 27,
        avg_discharge_rate_active: 0,
        avg_charge_rate: 0,
        charge_cycles: 0,
        warning_count: 2,
        error_count: 1,
        critical_error_count: 0,
        ...zero,
      },
      {
        report_date: "2024-02-01",
        ...common,
        power_on_count: 0,
        power_off_count: 0,
        avg_discharge_rate_active: 85.5,
        avg_charge_rate: 0,
        charge_cycles: 2,
        warning_count: 0,
        error_count: 0,
        critical_error_count: 0,
        ...zero,
      },
    ]);
  });
});

describe("compareWithOracle", () => {
  it("counts rows on each side and tells exact columns from differing ones", () => {
    const user = (id: number, total: string, count: number) => ({
      report_date: "2024-01-01",
      user_id: id,
      user_uuid: `u-${id}`,
      total_payments: total,
      successful_payments: total,
      failed_payments_count: count,
      active_subscriptions_count: 1,
      subscription_cost_total: "2999.00",
    });
    const spec = {
      mart: "report_user_monthly_metrics",
      key: ["user_id", "report_date"],
      columns: {
        user_uuid: "exact",
        total_payments: "exact",
        successful_payments: "exact",
        pending_payments: "exact",
        failed_payments_count: "exact",
        active_subscriptions_count: "exact",
        subscription_cost_total: "exact",
      },
    } as const;
    const [users] = compareWithOracle("seed", {
      user: {
        oracle: [user(1, "10.00", 0), user(2, "20.00", 1), user(3, "30.00", 0)],
        batch: [user(1, "10.00", 0), user(2, "25.00", 1), user(4, "1.00", 0)],
        check: { spec },
      },
      prosthetic: { oracle: [], batch: [], check: { spec: { ...spec, columns: {} } } },
    });
    expect(users).toEqual({
      mart: "user",
      oracleRows: 3,
      batchRows: 3,
      commonRows: 2,
      missingInBatch: 1,
      extraInBatch: 1,
      exact: ["user_uuid", "failed_payments_count", "active_subscriptions_count", "subscription_cost_total"],
      differing: [
        { column: "total_payments", cells: 1 },
        { column: "successful_payments", cells: 1 },
      ],
      notComputed: [],
    });
  });
});
