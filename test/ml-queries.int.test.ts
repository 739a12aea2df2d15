import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlViews } from "../clickhouse/access/ml-views.js";
import { repoRoot } from "../scripts/config.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { bearer, startTestApi, type TestApi } from "./harness/api-app.js";
import { ts } from "./harness/change-feed.js";
import { passwordGrant, keycloak } from "./harness/keycloak.js";
import { expectProblem } from "./harness/problems.js";

/**
 * Every example analysis of clickhouse/queries/ (docs/ml.md) runs through POST /api/sql in the
 * embedded default, as the demo ML engineer `ml1` logged in at the real Keycloak (password grant,
 * as docs/ml.md's curl does), on the report fixture plus a few changes that give each question more
 * than one answer. Expected rows are computed by hand below.
 */
const queriesDir = path.join(repoRoot, "clickhouse", "queries");
const queryFiles = readdirSync(queriesDir)
  .filter((f) => f.endsWith(".sql"))
  .sort();

let t: TestApi;
let ml: string;

beforeAll(async () => {
  t = await startTestApi({
    env: { BIONICPRO_API_ISSUER: keycloak.issuer, BIONICPRO_API_SQL_RATE_LIMIT_MAX: "1000" },
  });
  // Beyond the fixture (test/harness/report-fixture.ts): prosthesis 10 gets firmware v2.2.1 at
  // 09:30 on Feb 2 (so its 10:00 hour runs it, its 09:00 hour the factory firmware); CHIP-20 (user 2,
  // BionicPRO X3 Pro) moves twice at 13:xx on Feb 5, one failed; prosthesis 20 has two discharge
  // samples; user 2's latest settled payment (Mar 5) fails.
  t.feed
    .insert("telemetry_events", {
      event_id: 9001n,
      prosthetic_id: 10,
      event_type: "firmware_update",
      event_timestamp: ts("2024-02-02T09:30:00Z"),
      event_value: "v2.2.1",
      severity: "info",
      created_at: ts("2024-02-02T09:30:00Z"),
    })
    .insert("raw_telemetry", {
      sample_id: 9001n,
      chip_id: "CHIP-20",
      event_time: ts("2024-02-05T13:10:00Z"),
      response_time_ms: 70,
      battery_level: 60,
      error_code: 0,
    })
    .insert("raw_telemetry", {
      sample_id: 9002n,
      chip_id: "CHIP-20",
      event_time: ts("2024-02-05T13:20:00Z"),
      response_time_ms: 90,
      battery_level: 59,
      error_code: 7,
    })
    .insert("battery_metrics", {
      metric_id: 9001n,
      prosthetic_id: 20,
      metric_timestamp: ts("2024-02-05T13:00:00Z"),
      charge_level: 80,
      current_ma: -120,
      is_charging: false,
      created_at: ts("2024-02-05T13:00:00Z"),
    })
    .insert("battery_metrics", {
      metric_id: 9002n,
      prosthetic_id: 20,
      metric_timestamp: ts("2024-02-05T16:00:00Z"),
      charge_level: 62,
      current_ma: -110,
      is_charging: false,
      created_at: ts("2024-02-05T16:00:00Z"),
    })
    .insert("crm_payments", {
      payment_id: 2004,
      user_id: 2,
      subscription_id: 201,
      payment_date: ts("2024-03-05T08:00:00Z"),
      amount: "9999.00",
      payment_method: "card",
      status: "failed",
      description: "payment 2004",
      created_at: ts("2024-03-05T08:00:00Z"),
    });
  await t.feed.apply(t.writer, t.database);
  ml = await passwordGrant(DEMO_USERS.ml1.username, DEMO_USERS.ml1.password);
});

afterAll(async () => {
  await t?.close();
});

const sql = (query: string, token = ml) =>
  t.app.inject({ method: "POST", url: "/api/sql", headers: bearer(token), payload: { query } });

interface Expected {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

const expected: Record<string, Expected> = {
  // Prosthesis 10 (X2), February: 40 % and 45 % discharging (-80, -100 mA), 97 % (Feb 1) and 98 %
  // (Feb 3) charging: mean level 280 / 4 = 70, peaks (97 + 98) / 2, drain -90. Prosthesis 20
  // (X3 Pro): 80 % and 62 % discharging: 71, no charging sample (NULL), drain -115.
  "battery_degradation_per_model.sql": {
    columns: [
      { name: "model", type: "LowCardinality(String)" },
      { name: "month", type: "Date" },
      { name: "devices", type: "UInt64" },
      { name: "samples", type: "UInt64" },
      { name: "avg_charge_level", type: "Float64" },
      { name: "avg_charging_peak", type: "Nullable(Float64)" },
      { name: "avg_discharge_ma", type: "Nullable(Float64)" },
    ],
    rows: [
      {
        model: "BionicPRO X2",
        month: "2024-02-01",
        devices: "1",
        samples: "4",
        avg_charge_level: 70,
        avg_charging_peak: 97.5,
        avg_discharge_ma: -90,
      },
      {
        model: "BionicPRO X3 Pro",
        month: "2024-02-01",
        devices: "1",
        samples: "2",
        avg_charge_level: 71,
        avg_charging_peak: null,
        avg_discharge_ma: -115,
      },
    ],
  },
  // CHIP-10 (X2, bought 2023-06-01: 8 months old, age 0): hour 09 of Feb 2 three movements, one
  // failed, factory firmware; hour 10 one movement on v2.2.1. CHIP-20 (X3 Pro): two, one failed.
  "error_rate_per_model_firmware.sql": {
    columns: [
      { name: "model", type: "LowCardinality(String)" },
      { name: "firmware", type: "String" },
      { name: "device_age_years", type: "Int64" },
      { name: "device_hours", type: "UInt64" },
      { name: "movements", type: "Int64" },
      { name: "errors", type: "Int64" },
      { name: "error_rate", type: "Float64" },
    ],
    rows: [
      {
        model: "BionicPRO X2",
        firmware: "factory",
        device_age_years: "0",
        device_hours: "1",
        movements: "3",
        errors: "1",
        error_rate: 0.3333,
      },
      {
        model: "BionicPRO X2",
        firmware: "v2.2.1",
        device_age_years: "0",
        device_hours: "1",
        movements: "1",
        errors: "0",
        error_rate: 0,
      },
      {
        model: "BionicPRO X3 Pro",
        firmware: "factory",
        device_age_years: "0",
        device_hours: "1",
        movements: "2",
        errors: "1",
        error_rate: 0.5,
      },
    ],
  },
  // Settled payments: user 1 1001 success, 1002 failed, 1004 success (latest; 1003 is pending):
  // retained, 1/3 failed; 4 movements in 2 hours. User 2 2001 success, 2002 failed, 2003 success,
  // 2004 failed (latest): not retained, 2/4 failed; 2 movements in 1 hour -> the lower quartile.
  // User 3 has no payment: not counted.
  "usage_vs_payment_retention.sql": {
    columns: [
      { name: "usage_quartile", type: "UInt64" },
      { name: "users", type: "UInt64" },
      { name: "min_movements", type: "Int64" },
      { name: "max_movements", type: "Int64" },
      { name: "avg_active_hours", type: "Float64" },
      { name: "settled_payments", type: "UInt64" },
      { name: "failed_share", type: "Float64" },
      { name: "retained_users", type: "UInt64" },
      { name: "retention_rate", type: "Float64" },
    ],
    rows: [
      {
        usage_quartile: "1",
        users: "1",
        min_movements: "2",
        max_movements: "2",
        avg_active_hours: 1,
        settled_payments: "4",
        failed_share: 0.5,
        retained_users: "0",
        retention_rate: 0,
      },
      {
        usage_quartile: "2",
        users: "1",
        min_movements: "4",
        max_movements: "4",
        avg_active_hours: 2,
        settled_payments: "3",
        failed_share: 0.3333,
        retained_users: "1",
        retention_rate: 1,
      },
    ],
  },
};

describe("clickhouse/queries/ through POST /api/sql as ml1", () => {
  it("has an expectation for every query file, and a file for every expectation", () => {
    expect(queryFiles).toEqual(Object.keys(expected).sort());
  });

  it.each(queryFiles)("%s reads only ml_* views (and its own CTEs)", (file) => {
    const text = readFileSync(path.join(queriesDir, file), "utf8").replace(/--.*$/gm, "");
    const ctes = new Set([...text.matchAll(/\b(\w+)\s+AS\s*\(/gi)].map((m) => m[1]));
    const read = [...text.matchAll(/\b(?:FROM|JOIN)\s+(\w+)/gi)].map((m) => m[1] as string);
    expect(read.filter((name) => !ctes.has(name) && !(mlViews as readonly string[]).includes(name))).toEqual(
      [],
    );
    expect(read.some((name) => (mlViews as readonly string[]).includes(name))).toBe(true);
  });

  it.each(queryFiles)("%s answers 200 with its exact columns and rows", async (file) => {
    const response = await sql(readFileSync(path.join(queriesDir, file), "utf8"));
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { columns: unknown; rows: unknown; row_count: number };
    const want = expected[file] as Expected;
    expect(body.columns).toEqual(want.columns);
    expect(body.rows).toEqual(want.rows);
    expect(body.row_count).toBe(want.rows.length);
  });
});

describe("what ml1 cannot read", () => {
  it.each([
    "SELECT email FROM dim_users",
    "SELECT count() FROM dim_users",
    "SELECT user_id FROM ml_users WHERE user_id IN (SELECT user_id FROM dim_users)",
    "SELECT * FROM payment_changes",
    "SELECT * FROM telemetry_event_changes",
    "SELECT * FROM battery_metric_changes",
    "SELECT * FROM partition_progress",
    "SELECT name FROM system.users",
  ])("%s -> 403 SQL_FORBIDDEN_RELATION", async (query) => {
    expectProblem(await sql(query), "SQL_FORBIDDEN_RELATION");
  });

  it("an owner's token gets 403 FORBIDDEN_ROLE for the same endpoint", async () => {
    const owner = await passwordGrant(DEMO_USERS.owner1.username, DEMO_USERS.owner1.password);
    const file = queryFiles[0] as string;
    expectProblem(await sql(readFileSync(path.join(queriesDir, file), "utf8"), owner), "FORBIDDEN_ROLE");
  });
});
