import { describe, expect, it } from "vitest";
import { deriveSeed, Rng, rngFor } from "./prng.js";

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.next());

describe("Rng", () => {
  it("repeats the same sequence for the same seed", () => {
    expect(draw(new Rng(42), 1000)).toEqual(draw(new Rng(42), 1000));
  });

  it("gives different sequences for different seeds", () => {
    expect(draw(new Rng(42), 10)).not.toEqual(draw(new Rng(43), 10));
  });

  it("stays in [0, 1) and is roughly uniform", () => {
    const values = draw(new Rng(7), 100_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeCloseTo(0.5, 2);
  });

  it("draws integers within inclusive bounds, hitting both ends", () => {
    const rng = new Rng(1);
    const seen = new Set(Array.from({ length: 1000 }, () => rng.int(3, 6)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });

  it("draws Poisson counts with the requested mean, small and large", () => {
    const rng = new Rng(5);
    for (const mean of [0.3, 4, 20, 45]) {
      const n = 20_000;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += rng.poisson(mean);
      expect(sum / n).toBeCloseTo(mean, mean < 1 ? 1 : 0);
    }
  });

  it("shuffles into a permutation", () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Rng(9).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
  });

  it("formats version-4 UUIDs", () => {
    const rng = new Rng(11);
    for (let i = 0; i < 100; i++) {
      expect(rng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

describe("deriveSeed", () => {
  it("is a pure function of the seed and the key path", () => {
    expect(deriveSeed(42, ["day", 3, 100])).toBe(deriveSeed(42, ["day", 3, 100]));
    expect(draw(rngFor(42, "day", 3, 100), 5)).toEqual(draw(rngFor(42, "day", 3, 100), 5));
  });

  it("separates streams that differ in any key or in the seed", () => {
    const base = deriveSeed(42, ["day", 3, 100]);
    expect(deriveSeed(43, ["day", 3, 100])).not.toBe(base);
    expect(deriveSeed(42, ["day", 3, 101])).not.toBe(base);
    expect(deriveSeed(42, ["day", 4, 100])).not.toBe(base);
    expect(deriveSeed(42, ["raw", 3, 100])).not.toBe(base);
    // Key boundaries matter: ("ab", "c") is not ("a", "bc").
    expect(deriveSeed(1, ["ab", "c"])).not.toBe(deriveSeed(1, ["a", "bc"]));
  });

  it("spreads neighbouring keys over the 32-bit range", () => {
    const seeds = new Set(Array.from({ length: 10_000 }, (_, day) => deriveSeed(42, ["day", 1, day])));
    expect(seeds.size).toBe(10_000);
  });
});
