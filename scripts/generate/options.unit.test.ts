import { describe, expect, it } from "vitest";
import { GENERATE_DEFAULTS, parseGenerateArgs, parseSimulateArgs, UsageError } from "./options.js";

describe("generate options", () => {
  it("defaults to the seed data set", () => {
    expect(parseGenerateArgs({})).toEqual(GENERATE_DEFAULTS);
    expect(GENERATE_DEFAULTS.days).toBe(913);
  });

  it("parses valid values", () => {
    expect(parseGenerateArgs({ scale: "833", seed: "7", days: "1095", telemetryDensity: "0.05" })).toEqual({
      scale: 833,
      seed: 7,
      days: 1095,
      telemetryDensity: 0.05,
    });
  });

  it.each([
    [{ scale: "abc" }, /--scale must be a number/],
    [{ scale: "" }, /--scale must be a number/],
    [{ scale: "0" }, /--scale must be between/],
    [{ scale: "-2" }, /--scale must be between/],
    [{ seed: "1.5" }, /--seed must be an integer/],
    [{ seed: "4294967296" }, /--seed must be between/],
    [{ days: "0" }, /--days must be between/],
    [{ days: "10.5" }, /--days must be an integer/],
    [{ telemetryDensity: "0" }, /--telemetry-density must be greater than 0/],
    [{ telemetryDensity: "1.5" }, /--telemetry-density must be greater than 0 and at most 1/],
  ])("rejects %o", (raw, message) => {
    expect(() => parseGenerateArgs(raw)).toThrow(UsageError);
    expect(() => parseGenerateArgs(raw)).toThrow(message);
  });
});

describe("simulate options", () => {
  it("requires a rate and parses the limits", () => {
    expect(() => parseSimulateArgs({})).toThrow(/--rate is required/);
    expect(parseSimulateArgs({ rate: "200", duration: "3", maxChanges: "1000" })).toEqual({
      rate: 200,
      durationS: 3,
      maxChanges: 1000,
      seed: 42,
    });
  });

  it.each([
    [{ rate: "fast" }, /--rate must be a number/],
    [{ rate: "0" }, /--rate must be greater than 0/],
    [{ rate: "10", duration: "-1" }, /--duration must be greater than 0/],
    [{ rate: "10", maxChanges: "2.5" }, /--max-changes must be an integer/],
    [{ rate: "10", spareUsers: "1,x" }, /--spare-users must be a number, got "x"/],
    [{ rate: "10", spareUsers: "0" }, /--spare-users must be between 1 and/],
  ])("rejects %o", (raw, message) => {
    expect(() => parseSimulateArgs(raw)).toThrow(message);
  });

  it("parses the users to spare", () => {
    expect(parseSimulateArgs({ rate: "10", spareUsers: "1, 7" }).spareUsers).toEqual([1, 7]);
  });
});
