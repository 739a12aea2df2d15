import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadReportFixture } from "../../test/harness/report-fixture.js";
import { createClickHouseClient } from "../client.js";
import { detectEngineFeatures, PLAIN_SQL } from "./device-history.js";
import { prostheticMonthlySql } from "./prosthetic-monthly.js";
import { userDailySql } from "./user-daily.js";
import { migrate } from "../migrate.js";
import {
  allUsers,
  onlyProsthetics,
  onlyUsers,
  queryDataMonths,
  queryProsthesisStats,
  queryProstheticMonthlyMetrics,
  queryUserDailyReports,
  queryUserMonthlyMetrics,
  type UserSelection,
} from "./index.js";

/** Selections against the embedded engine: "all" only when asked for, an empty list selects nobody. */
const database = "selection_test";
const range = { from: "2023-12", to: "2024-03" };
let dir: string;
let ch: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "bionicpro-selection-"));
  ch = createClickHouseClient({ path: dir, database });
  await migrate(ch, database);
  await loadReportFixture(ch, database);
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const usersOf = async (selection: UserSelection) => {
  const seen = await Promise.all([
    queryUserMonthlyMetrics(ch, database, range, selection),
    queryProstheticMonthlyMetrics(ch, database, range, selection),
    queryUserDailyReports(ch, database, range, selection),
    queryProsthesisStats(ch, database, "hour", range, selection),
  ]);
  return seen.map((rows) => [...new Set(rows.map((r) => r.user_id))].sort());
};

describe("user selections of the query layer", () => {
  it("allUsers reads every user", async () => {
    expect(await usersOf(allUsers)).toEqual([[1, 2], [1, 2], [1, 2], [1]]);
  });

  it("a list reads exactly its users", async () => {
    expect(await usersOf(onlyUsers([2]))).toEqual([[2], [2], [2], []]);
    expect(await usersOf(onlyUsers([1, 3]))).toEqual([[1], [1], [1], [1]]);
  });

  it("an empty list reads nobody", async () => {
    expect(await usersOf(onlyUsers([]))).toEqual([[], [], [], []]);
    expect(await queryDataMonths(ch, database, onlyUsers([]))).toBeNull();
    expect(await queryProstheticMonthlyMetrics(ch, database, range, onlyProsthetics([]))).toEqual([]);
  });

  it("device marts select prostheses by id", async () => {
    const rows = await queryProstheticMonthlyMetrics(ch, database, range, onlyProsthetics([21]));
    expect(rows.map((r) => [r.prosthetic_id, r.report_date])).toEqual([[21, "2024-01-01"]]);
  });

  it("rejects ids that are not 32-bit integers before querying", async () => {
    await expect(queryUserMonthlyMetrics(ch, database, range, onlyUsers([2 ** 31]))).rejects.toThrow(
      RangeError,
    );
  });
});

// Each of these reads every query of the layer on the embedded engine, several times: ~5 s on an
// idle 2-core host, past vitest's default 5 s timeout when the host is busy.
describe("device marts with the engine's materialized CTEs", { timeout: 60_000 }, () => {
  it("the embedded engine has them, and they give exactly the rows of plain SQL, also read concurrently", async () => {
    const features = await detectEngineFeatures(ch);
    expect(features).toEqual({ materializedCte: true });
    expect(prostheticMonthlySql(database, allUsers, features)).toMatch(
      /devices AS \(.*event_span AS \(.*battery_span AS \(.*net_events AS MATERIALIZED \(.*net_battery AS MATERIALIZED \(.*power_sessions AS MATERIALIZED \(.*SETTINGS enable_materialized_cte = 1$/s,
    );
    // The spans are read by scalar subqueries, evaluated before any MATERIALIZED CTE is filled.
    expect(prostheticMonthlySql(database, allUsers, features)).not.toMatch(/(devices|span) AS MATERIALIZED/);
    expect(userDailySql(database, allUsers, features)).toMatch(/net_events AS MATERIALIZED \(/);
    expect(prostheticMonthlySql(database, allUsers, PLAIN_SQL)).not.toMatch(/MATERIALIZED|SETTINGS/);
    const reads = (f: typeof features) =>
      Promise.all(
        [allUsers, onlyUsers([1]), onlyUsers([2]), onlyUsers([1, 2])].flatMap((selection) => [
          queryProstheticMonthlyMetrics(ch, database, range, selection, f),
          queryUserDailyReports(ch, database, range, selection, f),
        ]),
      );
    const plain = await reads(PLAIN_SQL);
    expect(plain.every((rows) => rows.length > 0)).toBe(true);
    expect(await reads(features)).toEqual(plain);
  });
});

describe("parameters rendered in process (the API's report client)", { timeout: 60_000 }, () => {
  it("every query of the layer gives exactly the rows it gives with the engine's binding", async () => {
    const rendered = createClickHouseClient({ path: dir, database, bindParamsInProcess: true });
    try {
      const reads = (client: ClickHouseClient) =>
        Promise.all(
          [allUsers, onlyUsers([1]), onlyUsers([2, 3]), onlyUsers([])].flatMap((selection) => [
            queryUserMonthlyMetrics(client, database, range, selection),
            queryProstheticMonthlyMetrics(client, database, range, selection),
            queryUserDailyReports(client, database, range, selection),
            queryProsthesisStats(client, database, "hour", range, selection),
            queryDataMonths(client, database, selection),
          ]),
        );
      const bound = await reads(ch);
      expect(bound.filter((rows) => Array.isArray(rows) && rows.length > 0).length).toBeGreaterThan(8);
      expect(await reads(rendered)).toEqual(bound);
      const quoted = "it's \\ {q:String}";
      const echo = await rendered.query({
        query: "SELECT {s:String} AS s, {ids:Array(Int32)} AS ids",
        query_params: { s: quoted, ids: [1, -2] },
        format: "JSONEachRow",
      });
      expect(await echo.json()).toEqual([{ s: quoted, ids: [1, -2] }]);
    } finally {
      await rendered.close();
    }
  });
});
