import { describe, expect, it } from "vitest";
import { ReplayError } from "./errors.js";
import { behind, parseFrom, reachedBounds, replayProgress, spanKey } from "./positions.js";
import { exchangeStatement, swappedTables } from "./swap.js";

const span = (topic: string, start: bigint, bound: bigint) => ({ topic, partition: 0, start, bound });

describe("swap", () => {
  it("exchanges data tables only: no views, no state of the live group, not the run table", () => {
    const tables = swappedTables([
      { name: "user_payment_daily", engine: "AggregatingMergeTree" },
      { name: "user_payment_daily_mv", engine: "MaterializedView" },
      { name: "ml_users", engine: "View" },
      { name: "payment_changes", engine: "MergeTree" },
      { name: "dim_users", engine: "ReplacingMergeTree" },
      { name: "source_resets", engine: "ReplacingMergeTree" },
      { name: "partition_progress", engine: "ReplacingMergeTree" },
      { name: "partition_claims", engine: "ReplacingMergeTree" },
      { name: "partition_freshness", engine: "ReplacingMergeTree" },
      { name: "pipeline_progress", engine: "ReplacingMergeTree" },
      { name: "source_watermarks", engine: "ReplacingMergeTree" },
      { name: "schema_migrations", engine: "ReplacingMergeTree" },
      { name: "replay_run", engine: "MergeTree" },
    ]);
    expect(tables).toEqual(["dim_users", "payment_changes", "source_resets", "user_payment_daily"]);
  });

  it("writes one EXCHANGE statement for every pair", () => {
    expect(exchangeStatement("reports", "reports_shadow", ["a", "b"])).toBe(
      "EXCHANGE TABLES reports.a AND reports_shadow.a, reports.b AND reports_shadow.b",
    );
    expect(() => exchangeStatement("reports", "x;DROP", ["a"])).toThrow(/invalid ClickHouse database name/);
    expect(() => exchangeStatement("reports", "s", [])).toThrow(/nothing to exchange/);
  });
});

describe("positions", () => {
  it("parses --from", () => {
    expect(parseFrom(undefined)).toEqual({ kind: "earliest" });
    expect(parseFrom("earliest")).toEqual({ kind: "earliest" });
    expect(parseFrom("2026-11-01T00:00:00Z")).toEqual({ kind: "time", at: new Date("2026-11-01T00:00:00Z") });
    for (const bad of ["yesterday", "2026-13-40", "1700000000"]) {
      expect(() => parseFrom(bad)).toThrow(ReplayError);
      expect(
        (() => {
          try {
            parseFrom(bad);
          } catch (e) {
            return (e as ReplayError).usage;
          }
        })(),
      ).toBe(true);
    }
  });

  it("counts progress within each span, clamped, and knows when every bound is reached", () => {
    const spans = [span("a", 10n, 110n), span("b", 0n, 50n), span("hb", 0n, 0n), span("c", 5n, 5n)];
    expect(replayProgress(spans, new Map())).toEqual({ done: 0, total: 150 });
    const at = new Map([
      [spanKey("a", 0), 60n],
      [spanKey("b", 0), 80n],
    ]);
    expect(replayProgress(spans, at)).toEqual({ done: 100, total: 150 });
    expect(reachedBounds(spans, at)).toBe(false);
    at.set(spanKey("a", 0), 110n);
    expect(reachedBounds(spans, at)).toBe(true);
  });

  it("names the spans the live group has not applied up to their bound", () => {
    const spans = [span("a", 0n, 100n), span("b", 0n, 50n), span("c", 0n, 0n)];
    const live = new Map([
      [spanKey("a", 0), 120n],
      [spanKey("b", 0), 49n],
    ]);
    expect(behind(spans, live).map((s) => s.topic)).toEqual(["b"]);
  });
});
