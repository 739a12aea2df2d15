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
