import { describe, expect, it } from "vitest";
import { DEFAULT_DAYS, historyWindow } from "./calendar.js";
import { calibrateDensity } from "./density.js";
import { DAY_MODEL, OTHER_EVENTS_PER_WORN_DAY } from "./day-plan.js";
import { deviceDays, type DeviceDay } from "./device-days.js";
import { buildPopulation } from "./population.js";
import { targetVolumes } from "./volumes.js";

const window = historyWindow(DEFAULT_DAYS);
const volumes = targetVolumes(1, DEFAULT_DAYS);
const population = buildPopulation(42, window, volumes);
const density = calibrateDensity(volumes, population.devices);
/** A sample of real device-days: the first 120 days of service of every device. */
const sample: DeviceDay[] = [...deviceDays(42, window, population.devices, density, 1)].filter(
  (d) => d.day.index < d.device.firstDay + 120,
);
const worn = sample.filter((d) => d.plan.worn);

/** Device-days (by "prostheticId/day") for which `broken` returns true; expect an empty list. */
function violations(days: DeviceDay[], broken: (d: DeviceDay) => boolean): string[] {
  return days.filter(broken).map((d) => `${d.device.prostheticId}/${d.day.index}`);
}

const isSorted = (xs: number[]) => xs.every((x, i) => i === 0 || (xs[i - 1] as number) <= x);

describe("day plan", () => {
  it("lists events in time order, inside the local day", () => {
    expect(
      violations(sample, ({ plan }) => {
        const times = plan.events.map((e) => e.atH);
        return !isSorted(times) || times.some((t) => t < 0 || t >= 24);
      }),
    ).toEqual([]);
  });

  it("alternates power_on and power_off, one pair per powered-on session", () => {
    expect(
      violations(worn, ({ plan }) => {
        const power = plan.events.filter((e) => e.type === "power_on" || e.type === "power_off");
        return (
          power.length !== 2 * plan.sessions.length ||
          power.some((e, i) => e.type !== (i % 2 === 0 ? "power_on" : "power_off"))
        );
      }),
    ).toEqual([]);
  });

  it("pairs charging: stopped in the morning (after a night on the charger), started every night", () => {
    expect(
      violations(worn, ({ plan, day, device }) => {
        const charging = plan.events.filter((e) => e.type.startsWith("charging_")).map((e) => e.type);
        const firstDay = day.index === device.firstDay;
        const pairs = firstDay ? charging : charging.slice(1);
        return (
          charging.at(-1) !== "charging_started" ||
          (!firstDay && charging[0] !== "charging_stopped") ||
          pairs.some((type, i) => type !== (i % 2 === 0 ? "charging_started" : "charging_stopped"))
        );
      }),
    ).toEqual([]);
  });

  it("moves the battery consistently with its current, over the whole day", () => {
    expect(
      violations(sample, ({ plan }) => {
        const segments = plan.battery.segments;
        return (
          segments[0]?.fromH !== 0 ||
          segments.at(-1)?.toH !== 24 ||
          segments.some(
            (s, i) =>
              (i > 0 && Math.abs(s.fromH - (segments[i - 1]?.toH ?? NaN)) > 1e-9) ||
              s.startLevel < 0 ||
              s.startLevel > 100 ||
              (s.charging ? s.currentMa <= 0 : s.currentMa >= 0) ||
              Math.sign(s.ratePerH) === -Math.sign(s.currentMa),
          )
        );
      }),
    ).toEqual([]);
  });

  it("reports at power_off the battery level the track has at that time", () => {
    expect(
      violations(worn, ({ plan }) =>
        plan.events.some(
          (e) =>
            e.type === "power_off" &&
            e.value.startsWith("battery_") &&
            e.value !== `battery_${Math.round(plan.battery.at(e.atH).level)}%`,
        ),
      ),
    ).toEqual([]);
  });

  it("keeps OTHER_EVENTS_PER_WORN_DAY close to what the model produces", () => {
    const other = worn.reduce(
      (sum, d) =>
        sum + d.plan.events.filter((e) => !["power_on", "power_off", "calibration"].includes(e.type)).length,
      0,
    );
    expect(other / worn.length).toBeGreaterThan(OTHER_EVENTS_PER_WORN_DAY * 0.85);
    expect(other / worn.length).toBeLessThan(OTHER_EVENTS_PER_WORN_DAY * 1.15);
  });

  it("leaves about the configured share of days unworn", () => {
    const unworn = sample.length - worn.length;
    expect(unworn / sample.length).toBeGreaterThan(DAY_MODEL.unusedShare / 2);
    expect(unworn / sample.length).toBeLessThan(DAY_MODEL.unusedShare * 2);
  });
});
