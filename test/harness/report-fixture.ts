import type { ClickHouseClient } from "@clickhouse/client";
import { ChangeFeed, day, ts } from "./change-feed.js";

/**
 * A small hand-made data set whose reports are computed by hand in api/test/reports.unit.test.ts
 * (and used by bench/api-fixture.ts). Clock of the reports: 2024-03-10T12:00:00Z, so "this month"
 * is 2024-03 and "last month" 2024-02. Every change commits at 2024-03-10T11:59:00Z.
 *
 * - user 1 (Anna): premium 5999.00 from 2024-01-10, open; payments Jan success + failed, Feb pending
 *   (the test moves it to success), 2024-03-01 00:00:00 12.34 success; prosthesis 10 (CHIP-10).
 * - user 2 (Boris): basic 2999.00 2023-12-01..2024-02-10, enterprise 9999.00 from 2024-02-11;
 *   Feb payments 9999.00 success, 0.01 failed, 2999.99 success; prosthesis 20 with a critical fault
 *   and a 90-minute outage, prosthesis 21 used in January only.
 * - user 3 (Carla): known, no data at all.
 * - user 4: created, then deleted.
 */
export const fixtureClock = new Date("2024-03-10T12:00:00Z");
export const fixtureCommitAt = new Date("2024-03-10T11:59:00Z");

const user = (id: number, login: string, first: string, last: string) => ({
  user_id: id,
  user_uuid: `00000000-0000-4000-8000-00000000000${id}`,
  login,
  first_name: first,
  last_name: last,
  email: `${login}@example.org`,
  phone: `+7999000000${id}`,
  created_at: ts("2023-11-01T00:00:00Z"),
  updated_at: ts("2023-11-01T00:00:00Z"),
});

/** Personal values of the fixture users: must never appear in a log line. */
export const fixturePersonalData = [
  "anna@example.org",
  "boris@example.org",
  "carla@example.org",
  "Anna",
  "Ivanova",
  "Boris",
  "Petrov",
  "+79990000001",
  "+79990000002",
];

const prosthesis = (id: number, userId: number, type: string, model: string) => ({
  prosthetic_id: id,
  user_id: userId,
  prosthetic_uuid: `10000000-0000-4000-8000-0000000000${id}`,
  chip_id: `CHIP-${id}`,
  device_type: type,
  serial_number: `SN-${id}`,
  model,
  purchase_date: day("2023-06-01"),
  warranty_end_date: day("2025-06-01"),
  is_active: true,
  created_at: ts("2023-11-01T00:00:00Z"),
  updated_at: ts("2023-11-01T00:00:00Z"),
});

const subscription = (
  id: number,
  userId: number,
  type: string,
  cost: string,
  start: string,
  end: string | null,
) => ({
  subscription_id: id,
  user_id: userId,
  subscription_type: type,
  start_date: day(start),
  end_date: end === null ? null : day(end),
  is_active: end === null,
  monthly_cost: cost,
  created_at: ts(`${start}T00:00:00Z`),
  updated_at: ts(`${start}T00:00:00Z`),
});

const payment = (
  id: number,
  userId: number,
  subscriptionId: number,
  at: string,
  amount: string,
  status: string,
) => ({
  payment_id: id,
  user_id: userId,
  subscription_id: subscriptionId,
  payment_date: ts(at),
  amount,
  payment_method: "card",
  status,
  description: `payment ${id}`,
  created_at: ts(at),
});

let eventId = 0n;
const event = (prostheticId: number, at: string, type: string, severity = "info") => ({
  event_id: (eventId += 1n),
  prosthetic_id: prostheticId,
  event_type: type,
  event_timestamp: ts(at),
  event_value: null,
  severity,
  created_at: ts(at),
});

let metricId = 0n;
const battery = (prostheticId: number, at: string, level: number, currentMa: number, charging: boolean) => ({
  metric_id: (metricId += 1n),
  prosthetic_id: prostheticId,
  metric_timestamp: ts(at),
  charge_level: level,
  current_ma: currentMa,
  is_charging: charging,
  created_at: ts(at),
});

let sampleId = 0n;
const sample = (chip: string, at: string, responseMs: number, batteryLevel: number, errorCode = 0) => ({
  sample_id: (sampleId += 1n),
  chip_id: chip,
  event_time: ts(at),
  response_time_ms: responseMs,
  battery_level: batteryLevel,
  error_code: errorCode,
});

/** The Feb payment of user 1 that starts as pending. */
export const pendingPaymentId = 1003;

export function reportFixtureFeed(): ChangeFeed {
  eventId = 0n;
  metricId = 0n;
  sampleId = 0n;
  const feed = new ChangeFeed("report-fixture");
  feed.commitAt = fixtureCommitAt;
  feed
    .insert("crm_users", user(1, "anna", "Anna", "Ivanova"))
    .insert("crm_users", user(2, "boris", "Boris", "Petrov"))
    .insert("crm_users", user(3, "carla", "Carla", "Sidorova"))
    .insert("crm_users", user(4, "dmitry", "Dmitry", "Kuznetsov"))
    .delete("crm_users", 4)
    .insert("crm_prosthetics", prosthesis(10, 1, "left_arm", "BionicPRO X2"))
    .insert("crm_prosthetics", prosthesis(20, 2, "right_leg", "BionicPRO X3 Pro"))
    .insert("crm_prosthetics", prosthesis(21, 2, "left_leg", "BionicPRO X1"))
    .insert("crm_subscriptions", subscription(100, 1, "premium", "5999.00", "2024-01-10", null))
    .insert("crm_subscriptions", subscription(200, 2, "basic", "2999.00", "2023-12-01", "2024-02-10"))
    .insert("crm_subscriptions", subscription(201, 2, "enterprise", "9999.00", "2024-02-11", null))
    .insert("crm_payments", payment(1001, 1, 100, "2024-01-15T10:30:00Z", "5999.00", "success"))
    .insert("crm_payments", payment(1002, 1, 100, "2024-01-20T09:00:00Z", "5999.00", "failed"))
    .insert("crm_payments", payment(pendingPaymentId, 1, 100, "2024-02-15T10:30:00Z", "5999.00", "pending"))
    .insert("crm_payments", payment(1004, 1, 100, "2024-03-01T00:00:00Z", "12.34", "success"))
    .insert("crm_payments", payment(2001, 2, 201, "2024-02-11T08:00:00Z", "9999.00", "success"))
    .insert("crm_payments", payment(2002, 2, 201, "2024-02-12T08:00:00Z", "0.01", "failed"))
    .insert("crm_payments", payment(2003, 2, 201, "2024-02-28T08:00:00Z", "2999.99", "success"));

  // Prosthesis 10, February: sessions 2.5 h (Feb 1), 1 h (Feb 2, with an error and a warning),
  // 0.5 h (Feb 10), 23:00 Feb 28 .. 01:00 Feb 29 (1 h each day): 6 h, 4 power-ons. March: 0.75 h.
  for (const [on, off] of [
    ["2024-02-01T08:00:00Z", "2024-02-01T10:30:00Z"],
    ["2024-02-02T09:00:00Z", "2024-02-02T10:00:00Z"],
    ["2024-02-10T08:00:00Z", "2024-02-10T08:30:00Z"],
    ["2024-02-28T23:00:00Z", "2024-02-29T01:00:00Z"],
    ["2024-03-01T10:00:00Z", "2024-03-01T10:45:00Z"],
  ] as const) {
    feed.insert("telemetry_events", event(10, on, "power_on"));
    feed.insert("telemetry_events", event(10, off, "power_off"));
  }
  feed
    .insert("telemetry_events", event(10, "2024-02-02T09:15:00Z", "error", "error"))
    .insert("telemetry_events", event(10, "2024-02-02T09:20:00Z", "warning", "warning"))
    // Two charge cycles in February (low -> high twice); one active and one idle discharge sample.
    .insert("battery_metrics", battery(10, "2024-02-01T07:00:00Z", 40, -80, false))
    .insert("battery_metrics", battery(10, "2024-02-01T12:00:00Z", 97, 200, true))
    .insert("battery_metrics", battery(10, "2024-02-02T09:30:00Z", 45, -100, false))
    .insert("battery_metrics", battery(10, "2024-02-03T07:00:00Z", 98, 150, true))
    // Movement samples of CHIP-10 on Feb 2: hour 09 three (one failed), hour 10 one.
    .insert("raw_telemetry", sample("CHIP-10", "2024-02-02T09:05:00Z", 40, 90))
    .insert("raw_telemetry", sample("CHIP-10", "2024-02-02T09:10:00Z", 50, 88))
    .insert("raw_telemetry", sample("CHIP-10", "2024-02-02T09:40:00Z", 60, 86, 5))
    .insert("raw_telemetry", sample("CHIP-10", "2024-02-02T10:10:00Z", 45, 85));

  // Prosthesis 20, February: session 13:00..16:00 (3 h); a critical fault at 14:00 and the restart
  // (power_on) at 15:30: a 90-minute outage; 2 power-ons, 1 critical error.
  feed
    .insert("telemetry_events", event(20, "2024-02-05T13:00:00Z", "power_on"))
    .insert("telemetry_events", event(20, "2024-02-05T14:00:00Z", "critical_fault", "critical"))
    .insert("telemetry_events", event(20, "2024-02-05T15:30:00Z", "power_on"))
    .insert("telemetry_events", event(20, "2024-02-05T16:00:00Z", "power_off"))
    // Prosthesis 21, January only: 2 h.
    .insert("telemetry_events", event(21, "2024-01-20T10:00:00Z", "power_on"))
    .insert("telemetry_events", event(21, "2024-01-20T12:00:00Z", "power_off"));
  return feed;
}

/** Loads the fixture into a migrated database; returns the feed for further changes. */
export async function loadReportFixture(client: ClickHouseClient, database: string): Promise<ChangeFeed> {
  const feed = reportFixtureFeed();
  await feed.apply(client, database);
  return feed;
}
