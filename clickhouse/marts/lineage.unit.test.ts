import { describe, expect, it } from "vitest";
import { targetTables } from "../../consumers/src/mapping/types.js";
import { onlyUsers } from "./filters.js";
import { Lineage, lineage, tablesRead } from "./lineage.js";
import { martTables } from "./tables.js";
import { prosthesisStatsSql } from "./prosthesis-stats.js";
import { prostheticMonthlySql } from "./prosthetic-monthly.js";
import { userDailySql } from "./user-daily.js";
import { userMonthlySql } from "./user-monthly.js";
import { dataMonthsSql, reportUserSql } from "./users.js";

describe("lineage of the migrations' views", () => {
  it("traces every mart back to the change tables the consumers write", () => {
    const l = lineage();
    expect(l.sources(["user_payment_monthly"])).toEqual(["payment_changes"]);
    expect(l.sources(["user_subscription_monthly_deltas"])).toEqual(["subscription_changes"]);
    expect(l.sources(["prosthetic_event_monthly", "prosthetic_battery_daily"])).toEqual([
      "battery_metric_changes",
      "telemetry_event_changes",
    ]);
    expect(l.sources(["chip_monthly_stats"])).toEqual(["raw_telemetry_changes"]);
    for (const mart of martTables) {
      expect(l.sources([mart]).every((t) => (targetTables as readonly string[]).includes(t))).toBe(true);
    }
    // A table no view feeds is its own source.
    expect(l.sources(["dim_users"])).toEqual(["dim_users"]);
  });

  it("reads views after comments, plain and materialized, and every table a view joins", () => {
    const l = new Lineage([
      `-- a comment naming \${db}.nothing
      CREATE TABLE IF NOT EXISTS \${db}.a (x Int8) ENGINE = MergeTree ORDER BY x;
      -- the view
      CREATE MATERIALIZED VIEW IF NOT EXISTS \${db}.a_mv TO \${db}.b AS
      SELECT x FROM \${db}.a JOIN \${db}.dim USING (x);
      CREATE OR REPLACE VIEW \${db}.c AS SELECT x FROM \${db}.b`,
    ]);
    expect(l.sources(["c"])).toEqual(["a", "dim"]);
    expect(l.sources(["b", "z"])).toEqual(["a", "dim", "z"]);
  });

  it("finds every table a query names with its database, and nothing of another database", () => {
    expect(
      tablesRead(
        "SELECT 1 FROM r.a JOIN r.b_c ON 1 WHERE x IN (SELECT y FROM r.a) AND rr.d = 1 AND s.e",
        "r",
      ),
    ).toEqual(["a", "b_c"]);
  });

  it("the reports' reads depend on change and dimension tables only; device figures on who owns the devices", () => {
    const users = onlyUsers([1]);
    const reads = {
      month: [userMonthlySql("db", users)],
      monthDevices: [prostheticMonthlySql("db", users)],
      day: [userDailySql("db", users), prosthesisStatsSql("db", "hour", users)],
      history: [dataMonthsSql("db", users)],
      known: [reportUserSql("db")],
    };
    const sources = Object.fromEntries(
      Object.entries(reads).map(([k, sqls]) => [
        k,
        lineage().sources(sqls.flatMap((s) => tablesRead(s, "db"))),
      ]),
    );
    expect(sources).toEqual({
      month: ["dim_users", "payment_changes", "subscription_changes"],
      monthDevices: ["battery_metric_changes", "dim_prosthetics", "dim_users", "telemetry_event_changes"],
      day: ["dim_prosthetics", "dim_users", "raw_telemetry_changes", "telemetry_event_changes"],
      history: [
        "battery_metric_changes",
        "dim_prosthetics",
        "payment_changes",
        "raw_telemetry_changes",
        "subscription_changes",
        "telemetry_event_changes",
      ],
      known: ["dim_users"],
    });
  });
});
