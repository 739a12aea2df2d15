import { addMonths, DAY_MS, HOUR_MS, type HistoryWindow } from "./calendar.js";
import { drawPerson, type Person } from "./people.js";
import { rngFor, type Rng } from "./prng.js";
import type { Volumes } from "./volumes.js";

export type DeviceType = "left_arm" | "right_arm" | "left_leg" | "right_leg";
export type PaymentMethod = "card" | "bank_transfer" | "paypal";

export interface User {
  userId: number;
  uuid: string;
  person: Person;
  createdMs: number;
  updatedMs: number;
  /** Customers live in Russian time zones: daily cycles follow local time, storage is UTC. */
  utcOffsetH: number;
  paymentMethod: PaymentMethod;
}

/** A prosthesis plus the habits and hardware constants its telemetry is simulated from. */
export interface Device {
  prostheticId: number;
  userId: number;
  uuid: string;
  chipId: string;
  deviceType: DeviceType;
  serialNumber: string;
  model: string;
  purchaseMs: number;
  warrantyEndMs: number;
  isActive: boolean;
  /** A replaced prosthesis stops producing telemetry on this day. */
  retiredMs: number | null;
  /** Local days (index into the window) the device is in service: [firstDay, endDay). */
  firstDay: number;
  endDay: number;
  utcOffsetH: number;
  wakeH: number;
  bedH: number;
  /** Multiplier of the daily wake/sleep cycles and movements; averages 1 over all device-days. */
  intensity: number;
  /** Multiplier of warnings, errors and faults. */
  reliability: number;
  capacityMah: number;
  activeCurrentMa: number;
  idleCurrentMa: number;
  chargeCurrentMa: number;
}

export interface Population {
  users: User[];
  devices: Device[];
}

/** Users sign up during the first half of the history; user ids follow sign-up order. */
const SIGNUP_SPAN = 0.5;

interface ModelSpec {
  name: string;
  /** On sale from this instant (older models stay on sale until `until`). */
  from: number;
  until: number;
  capacityMah: number;
  warrantyYears: number;
}

const MODELS: readonly ModelSpec[] = [
  { name: "BionicPRO X1", from: -Infinity, until: Date.UTC(2025, 6, 1), capacityMah: 1500, warrantyYears: 1 },
  { name: "BionicPRO X2", from: Date.UTC(2024, 8, 1), until: Infinity, capacityMah: 1800, warrantyYears: 2 },
  {
    name: "BionicPRO X3 Pro",
    from: Date.UTC(2025, 8, 1),
    until: Infinity,
    capacityMah: 2200,
    warrantyYears: 3,
  },
];

const OPPOSITE_SIDE: Record<DeviceType, DeviceType> = {
  left_arm: "right_arm",
  right_arm: "left_arm",
  left_leg: "right_leg",
  right_leg: "left_leg",
};

const DEVICE_TYPES: readonly DeviceType[] = ["left_arm", "right_arm", "left_leg", "right_leg"];

function drawDeviceType(rng: Rng): DeviceType {
  return rng.weighted<DeviceType>([
    ["left_arm", 0.3],
    ["right_arm", 0.35],
    ["left_leg", 0.17],
    ["right_leg", 0.18],
  ]);
}

function modelOnSale(rng: Rng, purchaseMs: number): ModelSpec {
  const onSale = MODELS.filter((m) => m.from <= purchaseMs && purchaseMs < m.until);
  return rng.pick(onSale.length > 0 ? onSale : MODELS);
}

interface Purchase {
  userId: number;
  deviceType: DeviceType;
  purchaseMs: number;
  retiredMs: number | null;
}

/** First prosthesis a few days after sign-up; some users get a second one (both sides, a replacement, or another limb). */
function purchasesOf(rng: Rng, user: User, twoDevices: boolean, window: HistoryWindow): Purchase[] {
  const latest = window.endMs - DAY_MS;
  const first: Purchase = {
    userId: user.userId,
    deviceType: drawDeviceType(rng),
    purchaseMs: Math.min(user.createdMs + rng.float(0.5, 20) * DAY_MS, latest),
    retiredMs: null,
  };
  if (!twoDevices) return [first];
  const daysLeft = (latest - first.purchaseMs) / DAY_MS;
  if (daysLeft < 120 || rng.chance(0.4)) {
    const bothSides = { ...first, deviceType: OPPOSITE_SIDE[first.deviceType] };
    return [first, bothSides];
  }
  const secondMs = first.purchaseMs + rng.float(60, daysLeft - 30) * DAY_MS;
  if (rng.chance(0.5)) {
    first.retiredMs = secondMs;
    return [first, { ...first, purchaseMs: secondMs, retiredMs: null }];
  }
  const otherLimb = DEVICE_TYPES.filter((t) => t !== first.deviceType);
  return [first, { ...first, deviceType: rng.pick(otherLimb), purchaseMs: secondMs }];
}

function localDayIndex(ms: number, utcOffsetH: number, window: HistoryWindow): number {
  return Math.floor((ms + utcOffsetH * HOUR_MS - window.startMs) / DAY_MS);
}

function buildUsers(seed: number, window: HistoryWindow, count: number): User[] {
  const takenLogins = new Set<string>();
  const users: User[] = [];
  const spanMs = window.days * DAY_MS * SIGNUP_SPAN;
  for (let userId = 1; userId <= count; userId++) {
    const rng = rngFor(seed, "user", userId);
    // Stratified sign-up instants: ids follow time and the spread does not depend on luck.
    const createdMs = Math.round(window.startMs + HOUR_MS + ((userId - 1 + rng.next()) / count) * spanMs);
    const updatedMs = rng.chance(0.5) ? createdMs : Math.round(rng.float(createdMs, window.endMs));
    users.push({
      userId,
      uuid: rng.uuid(),
      person: drawPerson(rng, userId, takenLogins),
      createdMs,
      updatedMs,
      utcOffsetH: rng.weighted([
        [3, 0.7],
        [5, 0.12],
        [7, 0.1],
        [2, 0.08],
      ]),
      paymentMethod: rng.weighted<PaymentMethod>([
        ["card", 0.7],
        ["bank_transfer", 0.2],
        ["paypal", 0.1],
      ]),
    });
  }
  return users;
}

function buildDevice(
  seed: number,
  prostheticId: number,
  purchase: Purchase,
  user: User,
  window: HistoryWindow,
): Device {
  const rng = rngFor(seed, "device", prostheticId);
  const model = modelOnSale(rng, purchase.purchaseMs);
  const isLeg = purchase.deviceType.endsWith("_leg");
  const purchaseDay = new Date(purchase.purchaseMs);
  return {
    prostheticId,
    userId: purchase.userId,
    uuid: rng.uuid(),
    chipId: `CHIP-${prostheticId.toString(16).toUpperCase().padStart(6, "0")}-${rng.hex(8).toUpperCase()}`,
    deviceType: purchase.deviceType,
    serialNumber: `SN-${purchaseDay.getUTCFullYear()}-${String(prostheticId).padStart(6, "0")}`,
    model: model.name,
    purchaseMs: purchase.purchaseMs,
    warrantyEndMs: addMonths(purchase.purchaseMs, 12 * model.warrantyYears),
    isActive: purchase.retiredMs === null,
    retiredMs: purchase.retiredMs,
    // Telemetry starts the first full local day after delivery, so nothing precedes the purchase.
    firstDay: Math.max(0, localDayIndex(purchase.purchaseMs, user.utcOffsetH, window) + 1),
    endDay:
      purchase.retiredMs === null
        ? window.days
        : Math.min(window.days, localDayIndex(purchase.retiredMs, user.utcOffsetH, window)),
    utcOffsetH: user.utcOffsetH,
    wakeH: rng.float(6, 8.5),
    bedH: rng.float(21.5, 23.2),
    intensity: rng.float(0.75, 1.25),
    reliability: rng.float(0.5, 1.6) * (model.name === "BionicPRO X1" ? 1.3 : 1),
    capacityMah: model.capacityMah,
    // Leg actuators carry body weight and drain faster.
    activeCurrentMa: isLeg ? rng.float(100, 150) : rng.float(70, 110),
    idleCurrentMa: rng.float(12, 25),
    chargeCurrentMa: rng.float(350, 500),
  };
}

/** Rescale intensities so they average exactly 1 per device-day: volumes then hit their targets. */
function normalizeIntensity(devices: Device[]): void {
  let days = 0;
  let weighted = 0;
  for (const d of devices) {
    const inService = Math.max(0, d.endDay - d.firstDay);
    days += inService;
    weighted += inService * d.intensity;
  }
  if (weighted === 0) return;
  for (const d of devices) d.intensity *= days / weighted;
}

export function buildPopulation(seed: number, window: HistoryWindow, volumes: Volumes): Population {
  const users = buildUsers(seed, window, volumes.users);
  const pickRng = rngFor(seed, "two-device-users");
  const twoDeviceIds = new Set(pickRng.shuffle(users.map((u) => u.userId)).slice(0, volumes.twoDeviceUsers));
  const purchases = users.flatMap((u) =>
    purchasesOf(rngFor(seed, "purchases", u.userId), u, twoDeviceIds.has(u.userId), window),
  );
  // Prosthesis ids follow purchase time, like the CRM would assign them.
  purchases.sort((a, b) => a.purchaseMs - b.purchaseMs || a.userId - b.userId);
  const devices = purchases.map((p, i) => {
    const user = users[p.userId - 1];
    if (user === undefined) throw new Error(`purchase of unknown user ${p.userId}`);
    return buildDevice(seed, i + 1, p, user, window);
  });
  normalizeIntensity(devices);
  return { users, devices };
}
