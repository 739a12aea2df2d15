import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { expectProblem, serverErrors } from "../../test/harness/problems.js";
import { pendingPaymentId } from "../../test/harness/report-fixture.js";
import type { ErrorCode } from "../errors.js";

/**
 * The reports of the hand-made fixture (test/harness/report-fixture.ts), written through the real
 * write path (mapChange + insertMapped), read through the API, compared with figures computed by
 * hand. Clock: 2024-03-10T12:00:00Z; every change committed 2024-03-10T11:59:00Z (lag 60 s).
 */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;
const freshness = { data_as_of: "2024-03-10T11:58:59.999Z", lag_seconds: 60.001 };

beforeAll(async () => {
  t = await startTestApi();
});

afterAll(async () => {
  await t?.close();
});

const get = async (url: string, token: string) => {
  const response = await t.app.inject({ method: "GET", url, headers: bearer(token) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};
const anna = () => t.issuer.owner(1);
const support = () => t.issuer.staff("support");

const emptyUsage = {
  usage_hours: 0,
  daily_usage_hours: 0,
  power_on_count: 0,
  errors: 0,
  downtime_minutes: 0,
  reliability_percent: null,
};

describe("GET /reports/user/{id}?month=", () => {
  it("Anna, February 2024 (29 days, past): money, KPIs and a device needing attention", async () => {
    expect(await get("/reports/user/1?month=2024-02", anna())).toEqual({
      period: "2024-02",
      user_id: 1,
      financial: {
        total_payments: "5999.00",
        successful_payments: "0.00",
        failed_payments: "0.00",
        pending_payments: "5999.00",
        failed_payments_count: 0,
        active_subscriptions: 1,
        monthly_cost: "5999.00",
        payment_success_rate: 0,
        arr: "71988.00",
      },
      usage: {
        usage_hours: 6,
        daily_usage_hours: 6 / 29,
        power_on_count: 4,
        errors: 1,
        downtime_minutes: 0,
        reliability_percent: 75,
      },
      devices: [
        {
          prosthetic_id: 10,
          device_type: "left_arm",
          usage_hours: 6,
          daily_usage_hours: 6 / 29,
          power_on_count: 4,
          battery_health: "good",
          charge_cycles: 2,
          mean_time_to_recharge_hours: (29 * 24) / 2,
          downtime_minutes: 0,
          errors: 1,
          warnings: 1,
          critical_errors: 0,
          reliability_percent: 75,
          status: "attention",
        },
      ],
      status: "attention",
      ...freshness,
    });
  });

  it("Boris, February 2024 (support): cents, a failed payment, two subscriptions, an outage", async () => {
    const report = await get("/reports/user/2?month=2024-02", support());
    expect(report.financial).toEqual({
      total_payments: "12999.00",
      successful_payments: "12998.99",
      failed_payments: "0.01",
      pending_payments: "0.00",
      failed_payments_count: 1,
      active_subscriptions: 2,
      monthly_cost: "12998.00",
      payment_success_rate: 1299899 / 1299900,
      arr: "155976.00",
    });
    expect(report.devices).toEqual([
      {
        prosthetic_id: 20,
        device_type: "right_leg",
        usage_hours: 3,
        daily_usage_hours: 3 / 29,
        power_on_count: 2,
        battery_health: "good",
        charge_cycles: 0,
        mean_time_to_recharge_hours: null,
        downtime_minutes: 90,
        errors: 1,
        warnings: 0,
        critical_errors: 1,
        reliability_percent: 50,
        status: "attention",
      },
    ]);
    expect(report.status).toBe("attention");
  });

  it("Anna, March 2024 (current month: 10 days elapsed): a payment at 00:00:00 of the 1st, a healthy device", async () => {
    const report = await get("/reports/user/1?month=2024-03", anna());
    expect(report.financial).toMatchObject({
      total_payments: "12.34",
      successful_payments: "12.34",
      payment_success_rate: 1,
      active_subscriptions: 1,
      arr: "71988.00",
    });
    expect(report.usage).toEqual({
      usage_hours: 0.75,
      daily_usage_hours: 0.75 / 10,
      power_on_count: 1,
      errors: 0,
      downtime_minutes: 0,
      reliability_percent: 100,
    });
    expect(report.devices.map((d: { status: string }) => d.status)).toEqual(["healthy"]);
    expect(report.status).toBe("healthy");
  });

  it("a month without data is an empty report", async () => {
    for (const [url, token] of [
      ["/reports/user/3?month=2024-02", support()],
      ["/reports/user/1?month=2023-06", anna()],
    ] as const) {
      const report = await get(url, token);
      expect(report).toMatchObject({
        financial: {
          total_payments: "0.00",
          successful_payments: "0.00",
          failed_payments_count: 0,
          active_subscriptions: 0,
          monthly_cost: "0.00",
          payment_success_rate: null,
          arr: "0.00",
        },
        usage: emptyUsage,
        devices: [],
        status: "healthy",
        ...freshness,
      });
    }
  });
});

describe("GET /api/reports/{date}", () => {
  it("Anna, 2024-02-02: the daily summary and hourly data per prosthesis", async () => {
    expect(await get("/api/reports/2024-02-02", anna())).toEqual({
      date: "2024-02-02",
      user_id: 1,
      summary: {
        prostheses_count: 1,
        total_movements: 4,
        successful_movements: 3,
        movement_success_rate: 0.75,
        avg_response_time_ms: 48.75,
        avg_battery_level: 87.25,
        total_errors: 1,
        uptime_hours: 2,
        usage_hours: 1,
        power_on_count: 1,
        warning_count: 1,
        error_event_count: 1,
        critical_error_count: 0,
      },
      hourly_data: [
        {
          hour: "2024-02-02T09:00:00Z",
          prosthesis_id: 10,
          prosthesis_model: "BionicPRO X2",
          movements_count: 3,
          successful_movements: 2,
          avg_response_time: 50,
          battery_level: 88,
          error_count: 1,
        },
        {
          hour: "2024-02-02T10:00:00Z",
          prosthesis_id: 10,
          prosthesis_model: "BionicPRO X2",
          movements_count: 1,
          successful_movements: 1,
          avg_response_time: 45,
          battery_level: 85,
          error_count: 0,
        },
      ],
      ...freshness,
    });
  });

  it("the second half of a session across midnight counts on its own day", async () => {
    const day = await get("/api/reports/2024-02-29", anna());
    expect(day.summary).toMatchObject({ usage_hours: 1, power_on_count: 0, total_movements: 0 });
    expect(day.hourly_data).toEqual([]);
  });

  it("a day without data is an empty report", async () => {
    const day = await get("/api/reports/2024-02-03", anna());
    expect(day.summary).toEqual({
      prostheses_count: 0,
      total_movements: 0,
      successful_movements: 0,
      movement_success_rate: 0,
      avg_response_time_ms: 0,
      avg_battery_level: 0,
      total_errors: 0,
      uptime_hours: 0,
      usage_hours: 0,
      power_on_count: 0,
      warning_count: 0,
      error_event_count: 0,
      critical_error_count: 0,
    });
    expect(day.hourly_data).toEqual([]);
  });
});

describe("GET /api/reports", () => {
  const annaEntries = [
    ["month", "2024-03", "/reports/user/1?month=2024-03"],
    ["day", "2024-03-01", "/api/reports/2024-03-01"],
    ["month", "2024-02", "/reports/user/1?month=2024-02"],
    ["day", "2024-02-29", "/api/reports/2024-02-29"],
    ["day", "2024-02-28", "/api/reports/2024-02-28"],
    ["day", "2024-02-10", "/api/reports/2024-02-10"],
    ["day", "2024-02-02", "/api/reports/2024-02-02"],
    ["day", "2024-02-01", "/api/reports/2024-02-01"],
    ["month", "2024-01", "/reports/user/1?month=2024-01"],
  ];
  const asTuples = (list: { reports: { kind: string; period: string; href: string }[] }) =>
    list.reports.map((r) => [r.kind, r.period, r.href]);

  it("lists Anna's months and days newest first, a month above its days", async () => {
    const list = await get("/api/reports", anna());
    expect(asTuples(list)).toEqual(annaEntries);
    expect(list).toMatchObject({ user_id: 1, total: 9, next_cursor: null, ...freshness });
  });

  it("pages with limit and an opaque cursor", async () => {
    const pages = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/reports?limit=4${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await get(url, anna());
      expect(page.total).toBe(9);
      pages.push(asTuples(page));
      cursor = page.next_cursor;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([4, 4, 1]);
    expect(pages.flat()).toEqual(annaEntries);
  });

  it("lists Boris's periods for support, day links naming the user", async () => {
    const list = await get("/api/reports?user_id=2", support());
    expect(asTuples(list)).toEqual([
      ["month", "2024-03", "/reports/user/2?month=2024-03"],
      ["month", "2024-02", "/reports/user/2?month=2024-02"],
      ["day", "2024-02-05", "/api/reports/2024-02-05?user_id=2"],
      ["month", "2024-01", "/reports/user/2?month=2024-01"],
      ["day", "2024-01-20", "/api/reports/2024-01-20?user_id=2"],
      ["month", "2023-12", "/reports/user/2?month=2023-12"],
    ]);
  });

  it("a user without data has an empty list", async () => {
    expect(await get("/api/reports?user_id=3", support())).toMatchObject({
      reports: [],
      total: 0,
      next_cursor: null,
    });
  });
});

const zeroPayments = { total: "0.00", successful: "0.00", failed: "0.00", pending: "0.00", failed_count: 0 };

describe("GET /api/reports/summary", () => {
  it("Anna: this month, last month and all time", async () => {
    expect(await get("/api/reports/summary", anna())).toEqual({
      user_id: 1,
      this_month: {
        from: "2024-03",
        to: "2024-03",
        payments: { ...zeroPayments, total: "12.34", successful: "12.34" },
        subscriptions: { active: 1, monthly_cost: "5999.00" },
        usage: {
          usage_hours: 0.75,
          power_on_count: 1,
          movements: 0,
          errors: 0,
          warnings: 0,
          critical_errors: 0,
          downtime_minutes: 0,
          days_with_data: 1,
        },
      },
      last_month: {
        from: "2024-02",
        to: "2024-02",
        payments: { ...zeroPayments, total: "5999.00", pending: "5999.00" },
        subscriptions: { active: 1, monthly_cost: "5999.00" },
        usage: {
          usage_hours: 6,
          power_on_count: 4,
          movements: 4,
          errors: 1,
          warnings: 1,
          critical_errors: 0,
          downtime_minutes: 0,
          days_with_data: 5,
        },
      },
      all_time: {
        from: "2024-01",
        to: "2024-03",
        payments: {
          total: "18009.34",
          successful: "6011.34",
          failed: "5999.00",
          pending: "5999.00",
          failed_count: 1,
        },
        subscriptions: null,
        usage: {
          usage_hours: 6.75,
          power_on_count: 5,
          movements: 4,
          errors: 1,
          warnings: 1,
          critical_errors: 0,
          downtime_minutes: 0,
          days_with_data: 6,
        },
      },
      ...freshness,
    });
  });

  it("a user without data: zeros, and no all-time period", async () => {
    const summary = await get("/api/reports/summary?user_id=3", support());
    expect(summary.all_time).toMatchObject({
      from: null,
      to: null,
      payments: zeroPayments,
      subscriptions: null,
    });
    expect(summary.this_month).toMatchObject({
      payments: zeroPayments,
      subscriptions: { active: 0, monthly_cost: "0.00" },
    });
  });
});

describe("bad input", () => {
  const cases: [string, ErrorCode][] = [
    ["/reports/user/1?month=2024-13", "INVALID_MONTH"],
    ["/reports/user/1?month=2024-2", "INVALID_MONTH"],
    ["/reports/user/1?month=1969-12", "INVALID_MONTH"],
    ["/reports/user/1?month=2024-02-01", "INVALID_MONTH"],
    ["/reports/user/1", "INVALID_MONTH"],
    ["/api/reports/2024-02-30", "INVALID_DATE"],
    ["/api/reports/2023-02-29", "INVALID_DATE"],
    ["/api/reports/2024-13-01", "INVALID_DATE"],
    ["/api/reports/2024-04-31", "INVALID_DATE"],
    ["/api/reports/yesterday", "INVALID_DATE"],
    ["/reports/user/0?month=2024-02", "INVALID_USER_ID"],
    ["/reports/user/-1?month=2024-02", "INVALID_USER_ID"],
    ["/reports/user/2147483648?month=2024-02", "INVALID_USER_ID"],
    ["/reports/user/abc?month=2024-02", "INVALID_USER_ID"],
    ["/reports/user/1.5?month=2024-02", "INVALID_USER_ID"],
    ["/api/reports?user_id=0", "INVALID_USER_ID"],
    ["/api/reports/summary?user_id=99999999999", "INVALID_USER_ID"],
    ["/api/reports?limit=0", "INVALID_PAGINATION"],
    ["/api/reports?limit=501", "INVALID_PAGINATION"],
    ["/api/reports?cursor=bm90LWEta2V5", "INVALID_PAGINATION"],
    ["/reports/user/1?month=2024-02&format=xml", "UNKNOWN_PARAMETER"],
    ["/api/reports/summary?userid=1", "UNKNOWN_PARAMETER"],
    ["/api/reports/2024-02-02?debug=1", "UNKNOWN_PARAMETER"],
    ["/reports/users/1", "ROUTE_NOT_FOUND"],
  ];

  it.each(cases)("%s -> %s", async (url, code) => {
    const token = url.includes("user_id=") ? support() : anna();
    const body = expectProblem(await t.app.inject({ method: "GET", url, headers: bearer(token) }), code);
    if (code.startsWith("INVALID_") || code === "UNKNOWN_PARAMETER")
      expect(body.errors).toEqual([expect.objectContaining({ parameter: expect.any(String) })]);
  });

  it("authentication comes before validation", async () => {
    expectProblem(
      await t.app.inject({ method: "GET", url: "/reports/user/1?month=2024-13" }),
      "AUTH_TOKEN_MISSING",
    );
  });

  it("nothing above was logged as a server error", () => {
    expect(serverErrors(t.logs())).toEqual([]);
  });
});

describe("a payment changing status", () => {
  it("pending -> success moves the amount from pending to successful; the total stays", async () => {
    t.feed.update("crm_payments", pendingPaymentId, { status: "success" });
    await t.feed.apply(t.writer, t.database);
    const february = await get("/reports/user/1?month=2024-02", anna());
    expect(february.financial).toMatchObject({
      total_payments: "5999.00",
      successful_payments: "5999.00",
      pending_payments: "0.00",
      failed_payments: "0.00",
      failed_payments_count: 0,
      payment_success_rate: 1,
    });
    const summary = await get("/api/reports/summary", anna());
    expect(summary.last_month.payments).toEqual({ ...zeroPayments, total: "5999.00", successful: "5999.00" });
    expect(summary.all_time.payments).toEqual({
      total: "18009.34",
      successful: "12010.34",
      failed: "5999.00",
      pending: "0.00",
      failed_count: 1,
    });
  });

  it("success -> failed moves it to failed and counts the failure", async () => {
    t.feed.update("crm_payments", pendingPaymentId, { status: "failed" });
    await t.feed.apply(t.writer, t.database);
    const february = await get("/reports/user/1?month=2024-02", anna());
    expect(february.financial).toMatchObject({
      total_payments: "5999.00",
      successful_payments: "0.00",
      failed_payments: "5999.00",
      failed_payments_count: 1,
      payment_success_rate: 0,
    });
  });
});
