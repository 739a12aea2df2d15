import { describe, expect, it } from "vitest";
import { benchLever } from "./config.js";

const lever = (value?: string) => benchLever(value === undefined ? {} : { BENCH_LEVER: value });

describe("benchLever (BENCH_LEVER: a consumer setting drained at two values side by side)", () => {
  it("is off when unset or blank", () => {
    expect(lever()).toBeNull();
    expect(lever("  ")).toBeNull();
  });

  it("takes a setting's default pair, or the two values given", () => {
    expect(lever("CONSUMER_FETCH_AHEAD")).toEqual({
      name: "CONSUMER_FETCH_AHEAD",
      values: ["false", "true"],
    });
    expect(lever("CONSUMER_CHUNK_MAX_RECORDS")).toEqual({
      name: "CONSUMER_CHUNK_MAX_RECORDS",
      values: ["50000", "20000"],
    });
    expect(lever("CONSUMER_CHUNK_MAX_RECORDS=50000, 10000")).toEqual({
      name: "CONSUMER_CHUNK_MAX_RECORDS",
      values: ["50000", "10000"],
    });
  });

  it("refuses an unknown setting and a value list that is not two values", () => {
    expect(() => lever("CONSUMER_GROUP")).toThrow(
      'BENCH_LEVER: expected one of CONSUMER_FETCH_AHEAD, CONSUMER_CHUNK_MAX_RECORDS, CONSUMER_YIELD_RECORDS, CONSUMER_CLICKHOUSE_NICE, got "CONSUMER_GROUP"',
    );
    expect(() => lever("CONSUMER_CHUNK_MAX_RECORDS=20000")).toThrow(
      'BENCH_LEVER: expected CONSUMER_CHUNK_MAX_RECORDS=<a>,<b>, got "CONSUMER_CHUNK_MAX_RECORDS=20000"',
    );
  });
});
