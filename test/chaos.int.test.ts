import { describe, expect, it } from "vitest";
import { runChaos } from "../scripts/chaos/run.js";
import { QUICK_SCENARIOS } from "../scripts/chaos/scenarios.js";

/**
 * `npm run chaos -- --quick` as CI runs it: the faults no other test covers, each during a live
 * stream and each ended by reconcile. The full set (`npm run chaos`) restarts Kafka and PostgreSQL
 * under every other test's feet, so it runs on its own; its results are in bench/results/chaos-*.md.
 */
describe("chaos (quick variant)", () => {
  it("every fault ends with zero differences and exactly the expected dead letters", async () => {
    const summary = await runChaos({ quick: true, report: false });
    expect(summary.results.map((r) => r.scenario)).toEqual([...QUICK_SCENARIOS]);
    for (const r of summary.results) {
      expect({ scenario: r.scenario, differences: r.differences }, r.firstDifferences).toEqual({
        scenario: r.scenario,
        differences: 0,
      });
      expect({ scenario: r.scenario, deadLetters: r.deadLetters }).toEqual({
        scenario: r.scenario,
        deadLetters: r.expectedDeadLetters,
      });
    }
    expect(summary.results.find((r) => r.scenario === "poison")?.deadLetters).toBe(3);
    expect(summary.results.find((r) => r.scenario === "truncate")?.resets).toBe(1);
    // Only the registry outage fails a Debezium task (Kafka Connect would leave it FAILED); the
    // run's supervisor restarted it, once or more depending on when the registry came back.
    const restarted = summary.results.filter((r) => r.connectorRestarts > 0).map((r) => r.scenario);
    expect(restarted).toEqual(["registry-outage"]);
    expect(summary.ok).toBe(true);
  }, 900_000);
});
