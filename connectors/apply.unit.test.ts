import { describe, expect, it } from "vitest";
import { RestartBackoff } from "./apply.js";

const FAILED = ["RUNNING", "FAILED"];
const RUNNING = ["RUNNING", "RUNNING"];

describe("RestartBackoff (when the connector supervisor restarts a failed task)", () => {
  it("waits the first delay after a failure is seen, then twice as long before each next restart", () => {
    const b = new RestartBackoff(5_000, 300_000, 60_000);
    expect(b.due("c", FAILED, 0)).toBe(false);
    expect(b.due("c", FAILED, 4_999)).toBe(false);
    expect(b.due("c", FAILED, 5_000)).toBe(true);
    b.asked("c", 5_000);
    // The restarted task runs briefly and fails again: 5 s after the first restart, then 10 s, 20 s.
    expect(b.due("c", RUNNING, 7_000)).toBe(false);
    expect(b.due("c", FAILED, 9_999)).toBe(false);
    expect(b.due("c", FAILED, 10_000)).toBe(true);
    b.asked("c", 10_000);
    expect(b.due("c", FAILED, 19_999)).toBe(false);
    expect(b.due("c", FAILED, 20_000)).toBe(true);
    b.asked("c", 20_000);
    expect(b.due("c", FAILED, 39_999)).toBe(false);
    expect(b.due("c", FAILED, 40_000)).toBe(true);
  });

  it("caps the delay", () => {
    const b = new RestartBackoff(5_000, 12_000, 60_000);
    b.due("c", FAILED, 0);
    let now = 5_000;
    const gaps: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      let t = now;
      while (!b.due("c", FAILED, t)) t += 1_000;
      gaps.push(t - now);
      b.asked("c", t);
      now = t;
    }
    expect(gaps).toEqual([0, 5_000, 10_000, 12_000, 12_000]);
  });

  it("forgets the failures after a minute of uninterrupted RUNNING, not sooner", () => {
    const b = new RestartBackoff(5_000, 300_000, 60_000);
    b.due("c", FAILED, 0);
    expect(b.due("c", FAILED, 5_000)).toBe(true);
    b.asked("c", 5_000);
    expect(b.due("c", RUNNING, 6_000)).toBe(false);
    // A task between states interrupts the run: 60 s from 6 s would have ended at 66 s.
    expect(b.due("c", ["RUNNING", "UNASSIGNED"], 30_000)).toBe(false);
    expect(b.due("c", RUNNING, 31_000)).toBe(false);
    expect(b.due("c", RUNNING, 66_000)).toBe(false);
    // Still backing off: the next delay (10 s) has long passed, so a failure now is restarted at once.
    expect(b.due("c", FAILED, 66_500)).toBe(true);
    b.asked("c", 66_500);
    expect(b.due("c", RUNNING, 70_000)).toBe(false);
    expect(b.due("c", RUNNING, 130_000)).toBe(false);
    // Reset: a new failure waits the first delay again.
    expect(b.due("c", FAILED, 131_000)).toBe(false);
    expect(b.due("c", FAILED, 136_000)).toBe(true);
  });

  it("keeps connectors apart", () => {
    const b = new RestartBackoff(5_000, 300_000, 60_000);
    b.due("a", FAILED, 0);
    expect(b.due("b", FAILED, 5_000)).toBe(false);
    expect(b.due("a", FAILED, 5_000)).toBe(true);
  });
});
