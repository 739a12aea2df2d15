import { describe, expect, it } from "vitest";
import { loadConsumerConfig } from "./config.js";

describe("loadConsumerConfig: CONSUMER_SESSION_TIMEOUT_MS", () => {
  it("is 10 s by default and takes the broker's minimum and the 30 s a replay --restart waits", () => {
    expect(loadConsumerConfig({}).sessionTimeoutMs).toBe(10_000);
    expect(loadConsumerConfig({ CONSUMER_SESSION_TIMEOUT_MS: "6000" }).sessionTimeoutMs).toBe(6_000);
    expect(loadConsumerConfig({ CONSUMER_SESSION_TIMEOUT_MS: "30000" }).sessionTimeoutMs).toBe(30_000);
  });

  it("refuses values outside 6000-30000 and non-integers, naming the variable", () => {
    for (const value of ["5999", "30001"]) {
      expect(() => loadConsumerConfig({ CONSUMER_SESSION_TIMEOUT_MS: value })).toThrow(
        `CONSUMER_SESSION_TIMEOUT_MS must be an integer in 6000..30000, got "${value}"`,
      );
    }
    expect(() => loadConsumerConfig({ CONSUMER_SESSION_TIMEOUT_MS: "6s" })).toThrow(
      'CONSUMER_SESSION_TIMEOUT_MS must be an integer in 6000..30000, got "6s"',
    );
  });
});

describe("loadConsumerConfig: CONSUMER_CLICKHOUSE_NICE and CONSUMER_YIELD_RECORDS", () => {
  it("are off (0) by default and take the values given", () => {
    const defaults = loadConsumerConfig({});
    expect([defaults.clickhouse.threadNice, defaults.yieldRecords]).toEqual([0, 0]);
    const set = loadConsumerConfig({ CONSUMER_CLICKHOUSE_NICE: "19", CONSUMER_YIELD_RECORDS: "1000" });
    expect([set.clickhouse.threadNice, set.yieldRecords]).toEqual([19, 1000]);
  });

  it("refuses a nice value outside Linux's 0..19 (a negative one needs privileges) and a negative yield", () => {
    for (const value of ["-1", "20"]) {
      expect(() => loadConsumerConfig({ CONSUMER_CLICKHOUSE_NICE: value })).toThrow(
        `CONSUMER_CLICKHOUSE_NICE must be an integer in 0..19, got "${value}"`,
      );
    }
    expect(() => loadConsumerConfig({ CONSUMER_YIELD_RECORDS: "-5" })).toThrow(
      'CONSUMER_YIELD_RECORDS must be an integer in 0..1000000, got "-5"',
    );
  });
});

describe("loadConsumerConfig: CONSUMER_THREAD and CONSUMER_THREAD_NICE", () => {
  it("run the consumers in a worker thread at nice 0 by default; main and a nice are taken", () => {
    const defaults = loadConsumerConfig({});
    expect([defaults.thread, defaults.threadNice]).toEqual(["worker", 0]);
    const set = loadConsumerConfig({ CONSUMER_THREAD: "main", CONSUMER_THREAD_NICE: "10" });
    expect([set.thread, set.threadNice]).toEqual(["main", 10]);
  });

  it("refuses another place or a nice outside 0..19", () => {
    expect(() => loadConsumerConfig({ CONSUMER_THREAD: "process" })).toThrow(
      'CONSUMER_THREAD must be one of worker, main, got "process"',
    );
    expect(() => loadConsumerConfig({ CONSUMER_THREAD_NICE: "20" })).toThrow(
      'CONSUMER_THREAD_NICE must be an integer in 0..19, got "20"',
    );
  });
});
