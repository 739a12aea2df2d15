import { describe, expect, it } from "vitest";
import type { ProstheticMonthlyRow, UserMonthlyRow } from "../../clickhouse/marts/index.js";
import { decodeCursor, encodeCursor, reportEntries, reportPage } from "./listing.js";
import { fromCents, moneyRatio, sumMoney, toCents } from "./money.js";
import { deviceReport, monthReport, reliabilityPercent } from "./month-report.js";
import { daysInMonth, elapsedDays } from "./period.js";

describe("money as decimal text", () => {
  it("round-trips through integer cents, never through floats", () => {
    expect(toCents("2999.00")).toBe(299900n);
    expect(toCents("-0.01")).toBe(-1n);
    expect(fromCents(toCents("0.10") + toCents("0.20"))).toBe("0.30");
    expect(sumMoney(["99999999999999.99", "0.01"])).toBe("100000000000000.00");
    expect(sumMoney([])).toBe("0.00");
    expect(fromCents(-5n)).toBe("-0.05");
  });

  it("refuses text that is not money with two fraction digits", () => {
    for (const bad of ["2999", "2999.0", "1e3", "29.999", ""]) expect(() => toCents(bad)).toThrow(TypeError);
  });

  it("ratios are null without a denominator", () => {
    expect(moneyRatio("0.00", "0.00")).toBeNull();
    expect(moneyRatio("12998.99", "12999.00")).toBe(1299899 / 1299900);
  });
});

describe("calendar", () => {
  it("months have their days; the current month counts the days elapsed", () => {
    expect(daysInMonth("2024-02")).toBe(29);
    expect(daysInMonth("2023-02")).toBe(28);
    expect(daysInMonth("2024-12")).toBe(31);
    const now = new Date("2024-03-10T23:59:59Z");
    expect(elapsedDays("2024-03", now)).toBe(10);
    expect(elapsedDays("2024-02", now)).toBe(29);
    expect(elapsedDays("2024-04", now)).toBe(30);
  });
});

const device = (over: Partial<ProstheticMonthlyRow>): ProstheticMonthlyRow => ({
  report_date: "2024-02-01",
  prosthetic_id: 1,
  user_id: 1,
  user_uuid: "u",
  prosthetic_uuid: "p",
  device_type: "left_arm",
  power_on_count: 10,
  power_off_count: 10,
  total_active_hours: 29,
  avg_discharge_rate_active: 0,
  avg_discharge_rate_idle: 0,
  avg_charge_rate: 0,
  charge_cycles: 1,
  warning_count: 0,
  error_count: 0,
  critical_error_count: 0,
  downtime_minutes: 0,
  last_updated: null,
  created_at: null,
  ...over,
});
const now = new Date("2024-03-10T12:00:00Z");

describe("device KPIs (docs/metrics.md §7)", () => {
  it("reliability: 100 - errors/power-ons*100, clamped at 0, null without power-ons", () => {
    expect(reliabilityPercent(0, 10)).toBe(100);
    expect(reliabilityPercent(1, 4)).toBe(75);
    expect(reliabilityPercent(7, 2)).toBe(0);
    expect(reliabilityPercent(3, 0)).toBeNull();
  });

  it("a healthy device", () => {
    expect(deviceReport(device({}), "2024-02", now)).toMatchObject({
      daily_usage_hours: 1,
      mean_time_to_recharge_hours: 29 * 24,
      battery_health: "good",
      reliability_percent: 100,
      status: "healthy",
    });
  });

  it.each([
    ["a critical error", { critical_error_count: 1, power_on_count: 100 }],
    ["downtime", { downtime_minutes: 1 }],
    ["3 charge cycles (battery degraded)", { charge_cycles: 3 }],
    ["reliability below 95 %", { error_count: 1, power_on_count: 10 }],
  ])("needs attention with %s", (_name, over) => {
    expect(deviceReport(device(over), "2024-02", now).status).toBe("attention");
  });

  it("reliability of exactly 95 % is healthy; no power-on is not a reason for attention", () => {
    expect(deviceReport(device({ error_count: 1, power_on_count: 20 }), "2024-02", now).status).toBe(
      "healthy",
    );
    expect(deviceReport(device({ power_on_count: 0 }), "2024-02", now)).toMatchObject({
      reliability_percent: null,
      status: "healthy",
    });
  });
});

describe("month report", () => {
  const money: UserMonthlyRow = {
    report_date: "2024-02-01",
    user_id: 1,
    user_uuid: "u",
    total_payments: "100.00",
    successful_payments: "100.00",
    failed_payments: "0.00",
    pending_payments: "0.00",
    failed_payments_count: 0,
    active_subscriptions_count: 2,
    subscription_cost_total: "0.10",
    last_updated: null,
    created_at: null,
  };
  const freshness = { dataAsOf: null, lagSeconds: null };

  it("ARR is exact: 12 x the monthly cost in cents", () => {
    const report = monthReport({ userId: 1, month: "2024-02", user: money, devices: [], now, freshness });
    expect(report.financial.arr).toBe("1.20");
    expect(report.status).toBe("healthy");
  });

  it("a failed payment needs attention even without devices", () => {
    const failed = { ...money, failed_payments: "5.00", total_payments: "105.00", failed_payments_count: 1 };
    expect(
      monthReport({ userId: 1, month: "2024-02", user: failed, devices: [], now, freshness }).status,
    ).toBe("attention");
  });

  it("usage sums the devices; reliability is over all power-ons", () => {
    const report = monthReport({
      userId: 1,
      month: "2024-02",
      user: undefined,
      devices: [
        device({ prosthetic_id: 1, error_count: 1 }),
        device({ prosthetic_id: 2, power_on_count: 10 }),
      ],
      now,
      freshness,
    });
    expect(report.usage).toEqual({
      usage_hours: 58,
      daily_usage_hours: 2,
      power_on_count: 20,
      errors: 1,
      downtime_minutes: 0,
      reliability_percent: 95,
    });
    expect(report.financial.payment_success_rate).toBeNull();
  });
});

describe("report list", () => {
  const history = {
    range: { from: "2024-01", to: "2024-02" },
    months: [{ report_date: "2024-01-01" }, { report_date: "2024-02-01" }],
    devices: [{ report_date: "2024-02-01" }],
    days: [{ report_date: "2024-02-01" }, { report_date: "2024-02-29" }, { report_date: "2024-01-31" }],
  } as unknown as Parameters<typeof reportEntries>[0];
  const href = { month: (m: string) => `m/${m}`, day: (d: string) => `d/${d}` };

  it("newest first, each month above its own days", () => {
    expect(reportEntries(history, href).map((e) => e.period)).toEqual([
      "2024-02",
      "2024-02-29",
      "2024-02-01",
      "2024-01",
      "2024-01-31",
    ]);
  });

  it("pages by an opaque cursor; a forged cursor is refused", () => {
    const entries = reportEntries(history, href);
    const first = reportPage(entries, 2, null);
    expect(first.reports.map((e) => e.period)).toEqual(["2024-02", "2024-02-29"]);
    const second = reportPage(entries, 2, decodeCursor(first.next_cursor as string));
    expect(second.reports.map((e) => e.period)).toEqual(["2024-02-01", "2024-01"]);
    const last = reportPage(entries, 2, decodeCursor(second.next_cursor as string));
    expect(last).toMatchObject({ total: 5, next_cursor: null });
    expect(() => decodeCursor("not base64 at all")).toThrow();
    expect(() => decodeCursor(encodeCursor("2024-02-01'; DROP"))).toThrow();
  });
});
