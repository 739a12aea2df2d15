import {
  CALIBRATION_VALUES,
  CRITICAL_FAULT_VALUES,
  ERROR_VALUES,
  severityOf,
  WARNING_VALUES,
  type EventType,
} from "../generate/event-types.js";
import type { Rng } from "../generate/prng.js";
import {
  BATTERY_METRIC_COLUMNS,
  RAW_TELEMETRY_COLUMNS,
  TELEMETRY_EVENT_COLUMNS,
} from "../generate/telemetry-rows.js";
import type { Statement } from "./statement.js";
import type { BatteryState, Prosthesis, World } from "./world.js";

/** Live telemetry: rows stamped "now" from devices that are in service. */

function deviceInService(world: World, rng: Rng): Prosthesis | undefined {
  if (world.prostheses.length === 0) return undefined;
  // A few tries find an active device unless nearly all are out of service.
  for (let attempt = 0; attempt < 8; attempt++) {
    const device = rng.pick(world.prostheses);
    if (device.isActive) return device;
  }
  return rng.pick(world.prostheses);
}

/** Steps the device's battery: drains while worn, plugs in when low, unplugs when full. */
function batteryStep(world: World, rng: Rng, deviceId: number): BatteryState {
  const state = world.battery.get(deviceId) ?? { level: rng.float(30, 100), charging: false };
  if (state.charging) {
    state.level = Math.min(100, state.level + rng.float(0.5, 3));
    if (state.level >= 100) state.charging = false;
  } else {
    state.level = Math.max(1, state.level - rng.float(0.1, 1.5));
    if (state.level < 20 && rng.chance(0.3)) state.charging = true;
  }
  world.battery.set(deviceId, state);
  return state;
}

function eventValue(rng: Rng, type: EventType, battery: BatteryState): string {
  switch (type) {
    case "warning":
      return rng.pick(WARNING_VALUES);
    case "error":
      return rng.pick(ERROR_VALUES);
    case "critical_fault":
      return rng.pick(CRITICAL_FAULT_VALUES);
    case "calibration":
      return rng.pick(CALIBRATION_VALUES);
    case "charging_started":
      return `${rng.int(350, 500)}mA`;
    case "firmware_update":
      return `v4.${rng.int(10, 12)}.${rng.int(0, 3)}`;
    default:
      return `battery_${Math.round(battery.level)}%`;
  }
}

export function insertTelemetryEvent(world: World, rng: Rng, nowMs: number): Statement[] {
  const device = deviceInService(world, rng);
  if (device === undefined) return [];
  const battery = batteryStep(world, rng, device.id);
  const type = rng.weighted<EventType>([
    ["power_on", 30],
    ["power_off", 30],
    ["calibration", 10],
    ["warning", 10],
    ["charging_started", 7],
    ["charging_stopped", 7],
    ["error", 4],
    ["firmware_update", 1],
    ["critical_fault", 1],
  ]);
  const at = new Date(nowMs).toISOString();
  return [
    {
      db: "telemetry",
      table: "telemetry_events",
      op: "insert",
      columns: TELEMETRY_EVENT_COLUMNS,
      values: [
        world.nextId.telemetry_events++,
        device.id,
        type,
        at,
        eventValue(rng, type, battery),
        severityOf(type),
        at,
      ],
    },
  ];
}

export function insertBatteryMetric(world: World, rng: Rng, nowMs: number): Statement[] {
  const device = deviceInService(world, rng);
  if (device === undefined) return [];
  const battery = batteryStep(world, rng, device.id);
  const currentMa = battery.charging ? rng.float(300, 500) : -rng.float(15, 160);
  const at = new Date(nowMs).toISOString();
  return [
    {
      db: "telemetry",
      table: "battery_metrics",
      op: "insert",
      columns: BATTERY_METRIC_COLUMNS,
      values: [
        world.nextId.battery_metrics++,
        device.id,
        at,
        battery.level.toFixed(1),
        currentMa.toFixed(1),
        battery.charging,
        at,
      ],
    },
  ];
}

export function insertRawSample(world: World, rng: Rng, nowMs: number): Statement[] {
  const device = deviceInService(world, rng);
  if (device === undefined) return [];
  const battery = batteryStep(world, rng, device.id);
  return [
    {
      db: "telemetry",
      table: "raw_telemetry",
      op: "insert",
      columns: RAW_TELEMETRY_COLUMNS,
      values: [
        world.nextId.raw_telemetry++,
        device.chipId,
        new Date(nowMs).toISOString(),
        Math.round(45 * Math.exp(rng.normal(0, 0.25))),
        Math.round(battery.level),
        rng.chance(0.012) ? rng.pick([11, 12, 21, 22, 31, 40]) : 0,
      ],
    },
  ];
}

/**
 * Retracts one existing row (a duplicate upload): the row at or below a random id, found through
 * the primary key so it stays cheap on big tables, and not of a spared user's device. Affects 0 rows
 * only if none exists there.
 */
function deleteNear(
  table: "telemetry_events" | "raw_telemetry",
  key: string,
  device: { column: string; type: string; spared: (world: World) => (number | string)[] },
) {
  return (world: World, rng: Rng): Statement[] => {
    const below = world.nextId[table] - 1;
    if (below < 1) return [];
    return [
      {
        db: "telemetry",
        table,
        op: "delete",
        sql:
          `DELETE FROM ${table} WHERE ${key} = (SELECT ${key} FROM ${table} WHERE ${key} <= $1 ` +
          `AND NOT ${device.column} = ANY($2::${device.type}[]) ORDER BY ${key} DESC LIMIT 1)`,
        params: [rng.int(1, below), device.spared(world)],
      },
    ];
  };
}

export const deleteTelemetryEvent = deleteNear("telemetry_events", "event_id", {
  column: "prosthetic_id",
  type: "bigint",
  spared: (world) => world.spared.prosthetics,
});
export const deleteRawSample = deleteNear("raw_telemetry", "sample_id", {
  column: "chip_id",
  type: "text",
  spared: (world) => world.spared.chips,
});
