import { describe, expect, it } from "vitest";
import { DEFAULT_DAYS, historyWindow } from "./calendar.js";
import { calibrateDensity } from "./density.js";
import { buildPopulation } from "./population.js";
import { SEED_VOLUMES, targetVolumes } from "./volumes.js";
import { telemetryLoads } from "./table-loads.js";

function telemetryCounts(seed: number, telemetryDensity: number) {
  const window = historyWindow(DEFAULT_DAYS);
  const volumes = targetVolumes(1, DEFAULT_DAYS);
  const population = buildPopulation(seed, window, volumes);
  const density = calibrateDensity(volumes, population.devices);
  const counts: Record<string, number> = {};
  for (const load of telemetryLoads({ seed, window, population, density, telemetryDensity, volumes })) {
    let rows = 0;
    for (const chunk of load.chunks()) rows += chunk.rows;
    counts[load.table] = rows;
  }
  return counts;
}

const within = (value: number | undefined, target: number, share: number) => {
  expect(value).toBeGreaterThan(target * (1 - share));
  expect(value).toBeLessThan(target * (1 + share));
};

describe("telemetry volumes", () => {
  // Generates every telemetry row of scale 1 (about a million): seconds of CPU, more on a loaded host.
  it("hit the seed volumes at scale 1 (within 5%)", { timeout: 120_000 }, () => {
    const counts = telemetryCounts(7, 1);
    within(counts.telemetry_events, SEED_VOLUMES.telemetryEvents, 0.05);
    within(counts.battery_metrics, SEED_VOLUMES.batteryMetrics, 0.05);
    within(counts.raw_telemetry, SEED_VOLUMES.rawTelemetry, 0.05);
  });

  it("thin linearly with --telemetry-density", { timeout: 120_000 }, () => {
    const counts = telemetryCounts(7, 0.1);
    within(counts.telemetry_events, SEED_VOLUMES.telemetryEvents * 0.1, 0.1);
    within(counts.battery_metrics, SEED_VOLUMES.batteryMetrics * 0.1, 0.1);
    within(counts.raw_telemetry, SEED_VOLUMES.rawTelemetry * 0.1, 0.1);
  });
});
