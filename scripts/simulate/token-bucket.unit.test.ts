import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.js";

describe("TokenBucket", () => {
  it("grants the rate over time, in batches no bigger than asked", () => {
    const bucket = new TokenBucket(200, 10, 0);
    let granted = 0;
    for (let now = 0; now <= 3000; now += 10) granted += bucket.take(now, 10);
    expect(granted).toBeGreaterThanOrEqual(599);
    expect(granted).toBeLessThanOrEqual(600);
  });

  it("caps the burst after an idle period", () => {
    const bucket = new TokenBucket(100, 5, 0);
    expect(bucket.take(60_000, 1000)).toBe(5);
  });

  it("makes the next takes pay back a debit", () => {
    const bucket = new TokenBucket(100, 10, 0);
    expect(bucket.take(100, 10)).toBe(10);
    bucket.debit(3);
    expect(bucket.take(100, 10)).toBe(0);
    expect(bucket.msUntilNext(100)).toBeCloseTo(40, 6);
    expect(bucket.take(140, 10)).toBe(1);
  });
});
