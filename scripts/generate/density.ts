import { DAY_MODEL, OTHER_EVENTS_PER_WORN_DAY } from "./day-plan.js";
import type { Device } from "./population.js";
import type { Volumes } from "./volumes.js";

/** Per device-day rates that make the full-density telemetry hit the seed volumes. */
export interface Density {
  /** Mean wake/sleep cycles of a worn day (each is a power_on + power_off, sometimes a calibration). */
  sessionsMean: number;
  /** battery_metrics samples per in-service day (worn or on the charger). */
  metricsPerDay: number;
  /** raw_telemetry movement samples per worn day. */
  rawPerWornDay: number;
}

/**
 * Divides each telemetry target by the device-days this population actually has in service, so
 * volumes land on target whatever the seed did to purchase dates; the resulting per-day rates
 * are the same at any --scale and --days (about 40 events, 4-5 battery samples and 40 movement
 * samples per worn day).
 */
export function calibrateDensity(volumes: Volumes, devices: readonly Device[]): Density {
  const deviceDays = devices.reduce((sum, d) => sum + Math.max(0, d.endDay - d.firstDay), 0);
  if (deviceDays === 0) return { sessionsMean: 1, metricsPerDay: 0, rawPerWornDay: 0 };
  const wornDays = deviceDays * (1 - DAY_MODEL.unusedShare);
  const eventsPerWornDay = volumes.telemetryEvents / wornDays;
  return {
    sessionsMean: Math.max(
      1,
      (eventsPerWornDay - OTHER_EVENTS_PER_WORN_DAY) / (2 + DAY_MODEL.calibrationPerSession),
    ),
    metricsPerDay: volumes.batteryMetrics / deviceDays,
    rawPerWornDay: volumes.rawTelemetry / wornDays,
  };
}
