import { describe, expect, it } from "vitest";
import { allocate } from "./allocate.js";

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("allocate", () => {
  it("hands out exactly the total, proportionally", () => {
    const counts = allocate(234, [1, 1, 2], [1000, 1000, 1000]);
    expect(sum(counts)).toBe(234);
    expect(counts[2]).toBeGreaterThanOrEqual(116);
    expect(counts[2]).toBeLessThanOrEqual(118);
  });

  it("never exceeds a cap and moves the excess to the others", () => {
    const counts = allocate(100, [10, 1, 1], [20, 100, 100]);
    expect(counts[0]).toBe(20);
    expect(sum(counts)).toBe(100);
  });

  it("stops at the sum of the caps", () => {
    expect(allocate(50, [1, 1], [10, 5])).toEqual([10, 5]);
  });

  it("places units even when every weight is zero", () => {
    expect(sum(allocate(7, [0, 0, 0], [5, 5, 5]))).toBe(7);
  });

  it("is deterministic for equal remainders", () => {
    expect(allocate(2, [1, 1, 1], [5, 5, 5])).toEqual(allocate(2, [1, 1, 1], [5, 5, 5]));
  });
});
