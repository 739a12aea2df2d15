import { BatteryTrack } from "./battery-track.js";
import {
  CALIBRATION_VALUES,
  CRITICAL_FAULT_VALUES,
  ERROR_VALUES,
  WARNING_VALUES,
  type EventType,
} from "./event-types.js";
import type { Device } from "./population.js";
import { rngFor, type Rng } from "./prng.js";

/**
 * One local day of one prosthesis: when it is worn, how its battery moves and which events it
 * reports. power_on/power_off are the device's wake/sleep cycles (it powers off after a few
 * idle minutes and on again at the next EMG command), so a worn day has a dozen or more of
 * them between the morning and the night. The day is built from its own random stream; the
 * only thing carried over from yesterday is the battery level at midnight.
 */

export interface PlannedEvent {
  /** Local hour of the day, 0..24. */
  atH: number;
  type: EventType;
  value: string;
}

export interface DayPlan {
  /** False when the prosthesis stayed on the charger all day. */
  worn: boolean;
  battery: BatteryTrack;
  /** Sorted by time. */
  events: PlannedEvent[];
  /** Powered-on periods [startH, endH]: movement samples only happen inside them. */
  sessions: (readonly [number, number])[];
  /** The device is back on the charger every night; this is its level at the next midnight. */
  levelAtMidnight: number;
}

export interface DayContext {
  index: number;
  /** 0 = Sunday, of the local date. */
  weekday: number;
  /** Local midnight expressed in UTC milliseconds. */
  startMs: number;
}

export const DAY_MODEL = {
  /** Share of days the prosthesis is not worn and simply stays on the charger. */
  unusedShare: 0.04,
  calibrationPerSession: 0.35,
  warningsPerActiveHour: 0.2,
  errorsPerActiveHour: 0.02,
  criticalFaultsPerDay: 1 / 150,
  firmwareUpdatesPerDay: 1 / 45,
  lowBatteryLevel: 20,
  depletedLevel: 3,
  /** Below this level the wearer charges during the next break. */
  topUpBelow: 30,
} as const;

/**
 * Events of a worn day that are not power_on/power_off/calibration (charging pairs, warnings,
 * errors, faults, firmware), on average. The telemetry calibration subtracts it before sizing
 * the wake/sleep cycles; day-plan.unit.test.ts keeps it honest.
 */
export const OTHER_EVENTS_PER_WORN_DAY = 5.8;

const SECOND_H = 1 / 3600;
const MIN_SESSION_H = 5 / 60;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function firmwareVersion(rng: Rng, dayStartMs: number): string {
  const date = new Date(dayStartMs);
  return `v${date.getUTCFullYear() - 2022}.${date.getUTCMonth() + 1}.${rng.int(0, 3)}`;
}

/** Random events of one kind spread uniformly over [start, end]. */
function scatter(rng: Rng, perHour: number, start: number, end: number, type: EventType, values: string[]) {
  const events: PlannedEvent[] = [];
  const count = rng.poisson(perHour * (end - start));
  for (let n = 0; n < count; n++) events.push({ atH: rng.float(start, end), type, value: rng.pick(values) });
  return events;
}

/**
 * @param levelAtMidnight yesterday's level if the device spent the night on the charger,
 *   undefined on its first day (it arrives part-charged and off).
 * @param sessionsMean calibrated mean number of wake/sleep cycles of a worn day.
 */
export function planDay(
  seed: number,
  device: Device,
  day: DayContext,
  levelAtMidnight: number | undefined,
  sessionsMean: number,
): DayPlan {
  const rng = rngFor(seed, "day", device.prostheticId, day.index);
  const onCharger = levelAtMidnight !== undefined;
  const track = new BatteryTrack(levelAtMidnight ?? rng.float(50, 80), device.capacityMah);
  const events: PlannedEvent[] = [];
  const emit = (atH: number, type: EventType, value: string) => events.push({ atH, type, value });
  const levelValue = () => `battery_${Math.round(track.level)}%`;
  const chargeValue = `${Math.round(device.chargeCurrentMa)}mA`;

  if (onCharger && rng.chance(DAY_MODEL.unusedShare)) {
    track.charge(0, 24, device.chargeCurrentMa);
    return { worn: false, battery: track, events, sessions: [], levelAtMidnight: track.level };
  }

  const weekend = day.weekday === 0 || day.weekday === 6;
  const wake = clamp(device.wakeH + (weekend ? 0.8 : 0) + rng.normal(0, 0.4), 4.5, 11);
  const bed = clamp(device.bedH + (weekend ? 0.4 : 0) + rng.normal(0, 0.4), wake + 10, 23.6);
  if (onCharger) {
    const unplug = wake - rng.float(0.05, 0.5);
    track.charge(0, unplug, device.chargeCurrentMa);
    emit(unplug, "charging_stopped", levelValue());
    track.drain(unplug, wake, device.idleCurrentMa);
  } else {
    track.drain(0, wake, device.idleCurrentMa);
  }

  const count = 1 + rng.poisson(Math.max(0, sessionsMean * device.intensity - 1));
  const gaps = Array.from({ length: count - 1 }, () => rng.float(0.08, 0.6));
  const gapSum = gaps.reduce((a, b) => a + b, 0);
  // Breaks take at most 30% of the waking day.
  const gapScale = Math.min(1, (0.3 * (bed - wake)) / Math.max(gapSum, 1e-9));
  const weights = Array.from({ length: count }, () => rng.float(0.4, 1.6));
  const faultSession = rng.chance(DAY_MODEL.criticalFaultsPerDay * device.reliability)
    ? rng.int(0, count - 1)
    : -1;

  const sessions: (readonly [number, number])[] = [];
  let reservedGaps = gapSum * gapScale;
  let weightLeft = weights.reduce((a, b) => a + b, 0);
  let t = wake;
  for (let i = 0; i < count; i++) {
    const budget = bed - t - reservedGaps;
    if (budget < 0.05) break;
    const weight = weights[i] ?? 1;
    const start = t;
    let end = i === count - 1 ? bed : start + (budget * weight) / weightLeft;
    weightLeft -= weight;
    const drawMa = device.activeCurrentMa * rng.float(0.85, 1.15);
    let endValue: string | undefined;

    emit(start, "power_on", levelValue());
    if (rng.chance(DAY_MODEL.calibrationPerSession)) {
      emit(start + rng.float(10, 90) * SECOND_H, "calibration", rng.pick(CALIBRATION_VALUES));
    }
    const lowAt = start + track.hoursUntil(DAY_MODEL.lowBatteryLevel, drawMa);
    const depletedAt = start + track.hoursUntil(DAY_MODEL.depletedLevel, drawMa);
    if (depletedAt < end) {
      end = depletedAt;
      endValue = "battery_depleted";
    }
    if (i === faultSession) {
      const faultAt = start + (end - start) * rng.float(0.1, 0.9);
      emit(faultAt, "critical_fault", rng.pick(CRITICAL_FAULT_VALUES));
      end = faultAt + 3 * SECOND_H;
      endValue = "fault_shutdown";
    }
    if (lowAt < end) emit(lowAt, "warning", `battery_low_${DAY_MODEL.lowBatteryLevel}%`);
    const reliability = device.reliability;
    events.push(
      ...scatter(rng, DAY_MODEL.warningsPerActiveHour * reliability, start, end, "warning", WARNING_VALUES),
    );
    events.push(
      ...scatter(rng, DAY_MODEL.errorsPerActiveHour * reliability, start, end, "error", ERROR_VALUES),
    );
    track.drain(start, end, drawMa);
    emit(end, "power_off", endValue ?? levelValue());
    sessions.push([start, end]);
    t = end;
    if (i === count - 1) break;

    const plannedGap = (gaps[i] ?? 0) * gapScale;
    reservedGaps -= plannedGap;
    let gap = plannedGap;
    if (endValue === "fault_shutdown") gap = Math.max(gap, rng.float(0.5, 3));
    const lowBattery = track.level < DAY_MODEL.topUpBelow;
    if (lowBattery) gap = Math.max(gap, rng.float(1, 2));
    // A longer break squeezes the remaining wake/sleep cycles but leaves each a few minutes.
    const remaining = count - 1 - i;
    gap = Math.min(gap, Math.max(plannedGap, bed - t - reservedGaps - remaining * MIN_SESSION_H));
    // A break too short to plug in is just a break.
    if (lowBattery && gap > 0.25) {
      const plugAt = t + Math.min(rng.float(0.02, 0.1), gap / 4);
      const unplugAt = t + gap - Math.min(rng.float(0.02, 0.1), gap / 4);
      track.drain(t, plugAt, device.idleCurrentMa);
      emit(plugAt, "charging_started", chargeValue);
      track.charge(plugAt, unplugAt, device.chargeCurrentMa);
      emit(unplugAt, "charging_stopped", levelValue());
      track.drain(unplugAt, t + gap, device.idleCurrentMa);
    } else {
      track.drain(t, t + gap, device.idleCurrentMa);
    }
    t += gap;
  }

  const chargeAt = Math.min(Math.max(t, bed) + rng.float(0.05, 0.6), 23.95);
  track.drain(t, chargeAt, device.idleCurrentMa);
  emit(chargeAt, "charging_started", chargeValue);
  track.charge(chargeAt, 24, device.chargeCurrentMa);
  if (rng.chance(DAY_MODEL.firmwareUpdatesPerDay)) {
    emit(
      chargeAt + (24 - chargeAt) * rng.float(0.2, 0.9),
      "firmware_update",
      firmwareVersion(rng, day.startMs),
    );
  }
  events.sort((a, b) => a.atH - b.atH);
  return { worn: true, battery: track, events, sessions, levelAtMidnight: track.level };
}
