import { DEFAULT_DAYS } from "./calendar.js";

/**
 * Volumes of the seed data set (seed 03: 12 users, ~15 prostheses, 2.5 years, 234 payments,
 * 47 tickets, ~456k telemetry events, ~45k battery metrics). Raw movement samples are not in
 * the seed; we generate as many as telemetry events (density 1x: about one sampled movement
 * per 20 minutes of wear).
 */
export const SEED_VOLUMES = {
  users: 12,
  payments: 234,
  tickets: 47,
  telemetryEvents: 456_000,
  batteryMetrics: 45_000,
  rawTelemetry: 456_000,
} as const;

/** One user in four owns a second prosthesis: 12 users -> 15 prostheses. */
const TWO_DEVICE_SHARE = 0.25;

export interface Volumes {
  users: number;
  twoDeviceUsers: number;
  /** Exact counts of CRM rows the generator produces (payments may be capped by --days, see billing). */
  payments: number;
  tickets: number;
  /** Full-density targets; the telemetry rates per device-day are calibrated from these. */
  telemetryEvents: number;
  batteryMetrics: number;
  rawTelemetry: number;
}

/**
 * Everything scales with --scale; what accrues over time (payments, tickets, telemetry) also
 * scales with --days, so a device's daily density and a user's monthly billing stay the same.
 */
export function targetVolumes(scale: number, days: number): Volumes {
  const users = Math.max(1, Math.round(SEED_VOLUMES.users * scale));
  const perTime = scale * (days / DEFAULT_DAYS);
  return {
    users,
    twoDeviceUsers: Math.round(users * TWO_DEVICE_SHARE),
    payments: Math.round(SEED_VOLUMES.payments * perTime),
    tickets: Math.round(SEED_VOLUMES.tickets * perTime),
    telemetryEvents: SEED_VOLUMES.telemetryEvents * perTime,
    batteryMetrics: SEED_VOLUMES.batteryMetrics * perTime,
    rawTelemetry: SEED_VOLUMES.rawTelemetry * perTime,
  };
}
