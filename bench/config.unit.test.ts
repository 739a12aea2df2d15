import { describe, expect, it } from "vitest";
import { benchCommand, benchLever } from "./config.js";

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
      'BENCH_LEVER: expected one of CONSUMER_FETCH_AHEAD, CONSUMER_CHUNK_MAX_RECORDS, CONSUMER_YIELD_RECORDS, CONSUMER_CLICKHOUSE_NICE, CONSUMER_THREAD, CONSUMER_THREAD_NICE, got "CONSUMER_GROUP"',
    );
    expect(() => lever("CONSUMER_CHUNK_MAX_RECORDS=20000")).toThrow(
      'BENCH_LEVER: expected CONSUMER_CHUNK_MAX_RECORDS=<a>,<b>, got "CONSUMER_CHUNK_MAX_RECORDS=20000"',
    );
  });
});

describe("benchCommand (the command a results file names)", () => {
  it("is the npm script and its arguments when the environment sets nothing", () => {
    expect(benchCommand("bench", [], {})).toBe("npm run bench");
    expect(benchCommand("bench:api", ["--scale", "833"], { PATH: "/usr/bin" })).toBe(
      "npm run bench:api -- --scale 833",
    );
  });

  it("puts the consumer settings, the Kafka engine settings and the lever the run took first", () => {
    expect(
      benchCommand("bench:freshness", ["--rates", "1000"], {
        CONSUMER_CLICKHOUSE_NICE: "10",
        BENCH_KAFKA_ENGINE_SETTINGS: "kafka_max_block_size=1048576",
        BENCH_LEVER: "CONSUMER_YIELD_RECORDS",
      }),
    ).toBe(
      "CONSUMER_CLICKHOUSE_NICE=10 BENCH_KAFKA_ENGINE_SETTINGS=kafka_max_block_size=1048576 " +
        "BENCH_LEVER=CONSUMER_YIELD_RECORDS=0,1000 npm run bench:freshness -- --rates 1000",
    );
  });
});
