import { HOUR_MS, isoTimestamp } from "./calendar.js";
import { copyValue, type RowChunk } from "./copy-text.js";
import type { Density } from "./density.js";
import type { DeviceDay } from "./device-days.js";
import { severityOf } from "./event-types.js";
import { rngFor } from "./prng.js";

/**
 * COPY text of the three telemetry tables for one device-day. Each table draws from its own
 * random stream, so the rows of one do not depend on whether the others were generated.
 * created_at is the server's receive time: the event plus an upload latency.
 */

export const TELEMETRY_EVENT_COLUMNS = [
  "event_id",
  "prosthetic_id",
  "event_type",
  "event_timestamp",
  "event_value",
  "severity",
  "created_at",
] as const;

export const BATTERY_METRIC_COLUMNS = [
  "metric_id",
  "prosthetic_id",
  "metric_timestamp",
  "charge_level",
  "current_ma",
  "is_charging",
  "created_at",
] as const;

export const RAW_TELEMETRY_COLUMNS = [
  "sample_id",
  "chip_id",
  "event_time",
  "response_time_ms",
  "battery_level",
  "error_code",
] as const;

/** Movement failure codes reported by the controller (0 = the movement succeeded). */
const MOVEMENT_ERRORS = [11, 12, 21, 22, 31, 40];
const MOVEMENT_ERROR_RATE = 0.012;

/** Next id of each table, shared across device-days so ids run sequentially. */
export interface IdCounter {
  next: number;
}

function atMs(deviceDay: DeviceDay, hour: number): number {
  return deviceDay.day.startMs + Math.round(hour * HOUR_MS);
}

export function telemetryEventRows(seed: number, deviceDay: DeviceDay, ids: IdCounter): RowChunk {
  const { device, day, plan } = deviceDay;
  const rng = rngFor(seed, "events", device.prostheticId, day.index);
  let text = "";
  for (const event of plan.events) {
    const ms = atMs(deviceDay, event.atH);
    const receivedMs = ms + rng.int(500, 120_000);
    text += `${ids.next++}\t${device.prostheticId}\t${event.type}\t${isoTimestamp(ms)}\t${copyValue(event.value)}\t${severityOf(event.type)}\t${isoTimestamp(receivedMs)}\n`;
  }
  return { text, rows: plan.events.length };
}

/** Stratified sampling times: about metricsPerDay samples spread evenly over the day. */
export function batteryMetricRows(
  seed: number,
  deviceDay: DeviceDay,
  ids: IdCounter,
  density: Density,
): RowChunk {
  const { device, day, plan } = deviceDay;
  const rng = rngFor(seed, "battery", device.prostheticId, day.index);
  const whole = Math.floor(density.metricsPerDay);
  const count = whole + (rng.chance(density.metricsPerDay - whole) ? 1 : 0);
  let text = "";
  for (let i = 0; i < count; i++) {
    const hour = ((i + rng.float(0.05, 0.95)) * 24) / count;
    const state = plan.battery.at(hour);
    const ms = atMs(deviceDay, hour);
    const currentMa = state.currentMa * rng.float(0.97, 1.03);
    text += `${ids.next++}\t${device.prostheticId}\t${isoTimestamp(ms)}\t${state.level.toFixed(1)}\t${currentMa.toFixed(1)}\t${state.charging ? "t" : "f"}\t${isoTimestamp(ms + rng.int(500, 60_000))}\n`;
  }
  return { text, rows: count };
}

/** Sampled movements while the prosthesis is powered on; response time grows on a weak battery. */
export function rawTelemetryRows(
  seed: number,
  deviceDay: DeviceDay,
  ids: IdCounter,
  density: Density,
): RowChunk {
  const { device, day, plan } = deviceDay;
  if (!plan.worn) return { text: "", rows: 0 };
  const rng = rngFor(seed, "raw", device.prostheticId, day.index);
  const count = rng.poisson(density.rawPerWornDay * device.intensity);
  const activeHours = plan.sessions.reduce((sum, [start, end]) => sum + (end - start), 0);
  const offsets = Array.from({ length: count }, () => rng.next() * activeHours).sort((a, b) => a - b);
  const baseResponseMs = device.deviceType.endsWith("_leg") ? 55 : 40;
  let text = "";
  let session = 0;
  let passed = 0;
  for (const offset of offsets) {
    while (session < plan.sessions.length - 1 && offset >= passed + sessionLength(plan.sessions[session])) {
      passed += sessionLength(plan.sessions[session]);
      session++;
    }
    const hour = (plan.sessions[session]?.[0] ?? 0) + (offset - passed);
    const level = plan.battery.at(hour).level;
    const responseMs = Math.round(baseResponseMs * Math.exp(rng.normal(0, 0.25)) * (level < 20 ? 1.35 : 1));
    const errorCode = rng.chance(MOVEMENT_ERROR_RATE * device.reliability) ? rng.pick(MOVEMENT_ERRORS) : 0;
    text += `${ids.next++}\t${copyValue(device.chipId)}\t${isoTimestamp(atMs(deviceDay, hour))}\t${responseMs}\t${Math.round(level)}\t${errorCode}\n`;
  }
  return { text, rows: count };
}

function sessionLength(session: readonly [number, number] | undefined): number {
  return session === undefined ? 0 : session[1] - session[0];
}
