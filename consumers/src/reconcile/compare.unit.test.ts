import { describe, expect, it } from "vitest";
import { compareRows, sameCell, type ComparisonSpec } from "./compare.js";
import { formatReconcileResult } from "./format.js";

const spec: ComparisonSpec = {
  mart: "m",
  key: ["user_id", "report_date"],
  columns: { total: "exact", count: "exact", hours: "exact-float", rate: "float" },
};
const row = (user_id: number, total: string, extra: Record<string, unknown> = {}) => ({
  user_id,
  report_date: "2024-01-01",
  total,
  count: 1,
  hours: 0.1 + 0.2,
  rate: 85.5,
  ...extra,
});

describe("compareRows", () => {
  it("equal rows in any order -> no differences", () => {
    expect(compareRows(spec, [row(1, "1.00"), row(2, "2.00")], [row(2, "2.00"), row(1, "1.00")])).toEqual([]);
  });

  it("reports missing, unexpected and differing cells with the oracle value as expected", () => {
    const differences = compareRows(
      spec,
      [row(1, "1.00"), row(2, "2.00")],
      [row(1, "1.10", { count: 2 }), row(3, "3.00")],
    );
    expect(differences).toEqual([
      {
        mart: "m",
        kind: "value_mismatch",
        key: { user_id: 1, report_date: "2024-01-01" },
        column: "total",
        expected: "1.00",
        actual: "1.10",
      },
      {
        mart: "m",
        kind: "value_mismatch",
        key: { user_id: 1, report_date: "2024-01-01" },
        column: "count",
        expected: 1,
        actual: 2,
      },
      {
        mart: "m",
        kind: "missing_in_mart",
        key: { user_id: 2, report_date: "2024-01-01" },
        row: row(2, "2.00"),
      },
      {
        mart: "m",
        kind: "unexpected_in_mart",
        key: { user_id: 3, report_date: "2024-01-01" },
        row: row(3, "3.00"),
      },
    ]);
  });

  it("exact-float columns must be identical; float columns within a relative 1e-9", () => {
    expect(sameCell("exact-float", 0.3, 0.1 + 0.2)).toBe(false);
    expect(sameCell("float", 0.3, 0.1 + 0.2)).toBe(true);
    expect(sameCell("float", 1e6, 1e6 + 1e-4)).toBe(true);
    expect(sameCell("float", 1e6, 1e6 + 1e-2)).toBe(false);
    expect(sameCell("exact", "2999.00", "2999.0")).toBe(false);
    expect(sameCell("float", null, 0)).toBe(false);
  });
});

describe("formatReconcileResult", () => {
  it("prints a line per mart and per difference, and what to do next", () => {
    const text = formatReconcileResult(
      {
        range: { from: "2024-01", to: "2024-02" },
        ok: false,
        differenceCount: 3,
        marts: [
          {
            mart: "report_user_monthly_metrics",
            oracleRows: 2,
            martRows: 2,
            differences: compareRows(
              spec,
              [row(1, "1.00"), row(2, "2.00"), row(4, "4.00")],
              [row(1, "2.00"), row(2, "2.00")],
            ),
          },
          { mart: "user_daily_reports", oracleRows: 0, martRows: 0, differences: [] },
        ],
      },
      1,
    );
    expect(text.split("\n")).toEqual([
      "reconcile 2024-01..2024-02",
      "report_user_monthly_metrics: 2 difference(s) (oracle 2 rows, mart 2 rows)",
      '  value differs     user_id=1 report_date="2024-01-01"  total: oracle "1.00", mart "2.00"',
      "  ... and 1 more",
      "user_daily_reports: ok (oracle 0 rows, mart 0 rows)",
      "3 difference(s): check that the consumers caught up with the sources, then replay into a shadow database if they persist",
    ]);
  });
});
