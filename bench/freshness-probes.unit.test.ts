import { describe, expect, it } from "vitest";
import { distribution, ProbeLedger } from "./freshness-probes.js";

describe("ProbeLedger", () => {
  it("marks the probes a month total shows, in commit order", () => {
    const ledger = new ProbeLedger("100.00");
    for (const amount of ["1.01", "1.02", "1.03"]) ledger.committed(ledger.add(amount), 1000);
    expect(ledger.expected()).toBe("103.06");
    ledger.observe("100.00", 1200);
    ledger.observe("102.03", 1500);
    expect(ledger.outstanding).toBe(1);
    expect(ledger.latencies()).toEqual([500, 500]);
    ledger.observe("103.06", 1900);
    expect(ledger.outstanding).toBe(0);
    expect(ledger.latencies()).toEqual([500, 500, 900]);
  });

  it("counts a total that went back without unmarking what was seen", () => {
    const ledger = new ProbeLedger("0.00");
    ledger.committed(ledger.add("1.01"), 0);
    ledger.observe("1.01", 40);
    ledger.observe("0.00", 60);
    expect(ledger.wentBack).toBe(1);
    expect(ledger.latencies()).toEqual([40]);
  });

  it("rejects a total that is not the base plus a prefix of the probes", () => {
    const ledger = new ProbeLedger("10.00");
    ledger.add("1.01");
    ledger.add("1.02");
    expect(() => ledger.observe("11.02", 0)).toThrow(
      "month total 11.02 is not the base 10.00 plus the first k of 2 probes' amounts",
    );
  });

  it("counts a probe seen before its COMMIT returned as 0 ms", () => {
    const ledger = new ProbeLedger("0.00");
    const i = ledger.add("2.00");
    ledger.observe("2.00", 100);
    ledger.committed(i, 130);
    expect(ledger.latencies()).toEqual([0]);
  });
});

describe("distribution", () => {
  it("takes nearest-rank percentiles", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(distribution(samples)).toEqual({ n: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(distribution([7])).toEqual({ n: 1, p50: 7, p95: 7, p99: 7, max: 7 });
  });
});
