import { DAY_MS, HOUR_MS, type HistoryWindow } from "./calendar.js";
import type { Density } from "./density.js";
import { planDay, type DayContext, type DayPlan } from "./day-plan.js";
import type { Device } from "./population.js";
import { rngFor } from "./prng.js";

export interface DeviceDay {
  device: Device;
  day: DayContext;
  plan: DayPlan;
}

/**
 * Every kept (device, local day) in id order: day by day, and within a day by prosthetic id,
 * the way devices upload. Each telemetry table replays this sequence, which is cheap (a plan is
 * a few dozen random draws) and keeps memory at one battery level per device.
 *
 * With telemetryDensity < 1 a day is kept with that probability; a day after a dropped one starts
 * from a plausible charger level instead of simulating the dropped day.
 */
export function* deviceDays(
  seed: number,
  window: HistoryWindow,
  devices: readonly Device[],
  density: Density,
  telemetryDensity: number,
): Generator<DeviceDay> {
  const lastPlannedDay = new Int32Array(devices.length).fill(-2);
  const levelAtMidnight = new Float64Array(devices.length);
  for (let index = 0; index < window.days; index++) {
    const localDateMs = window.startMs + index * DAY_MS;
    const weekday = new Date(localDateMs).getUTCDay();
    for (let i = 0; i < devices.length; i++) {
      const device = devices[i] as Device;
      if (index < device.firstDay || index >= device.endDay) continue;
      if (telemetryDensity < 1 && !rngFor(seed, "thin", device.prostheticId, index).chance(telemetryDensity))
        continue;
      let level: number | undefined;
      if (lastPlannedDay[i] === index - 1) level = levelAtMidnight[i];
      else if (index !== device.firstDay)
        level = rngFor(seed, "night", device.prostheticId, index).float(40, 100);
      const day: DayContext = { index, weekday, startMs: localDateMs - device.utcOffsetH * HOUR_MS };
      const plan = planDay(seed, device, day, level, density.sessionsMean);
      lastPlannedDay[i] = index;
      levelAtMidnight[i] = plan.levelAtMidnight;
      yield { device, day, plan };
    }
  }
}
