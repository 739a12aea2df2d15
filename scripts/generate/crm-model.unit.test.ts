import { describe, expect, it } from "vitest";
import { buildBilling, MONTHLY_COST } from "./billing.js";
import { DAY_MS, DEFAULT_DAYS, historyWindow, utcMidnight } from "./calendar.js";
import { buildPopulation } from "./population.js";
import { buildTickets } from "./tickets.js";
import { targetVolumes } from "./volumes.js";

function crmModel(seed: number, scale = 1, days = DEFAULT_DAYS) {
  const window = historyWindow(days);
  const volumes = targetVolumes(scale, days);
  const population = buildPopulation(seed, window, volumes);
  const billing = buildBilling(seed, window, population, volumes.payments);
  const tickets = buildTickets(seed, window, population, volumes.tickets);
  return { window, volumes, population, billing, tickets };
}

const ids = (rows: { id: number }[]) => rows.map((r) => r.id);
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe.each([1, 2, 42, 1234])("CRM model, seed %i at scale 1", (seed) => {
  const { window, population, billing, tickets } = crmModel(seed);

  it("has the seed volumes exactly", () => {
    expect(population.users).toHaveLength(12);
    expect(population.devices).toHaveLength(15);
    expect(billing.payments).toHaveLength(234);
    expect(tickets).toHaveLength(47);
  });

  it("assigns ids 1..n in time order", () => {
    expect(ids(population.users.map((u) => ({ id: u.userId })))).toEqual(oneTo(12));
    expect(population.devices.map((d) => d.prostheticId)).toEqual(oneTo(15));
    expect(billing.payments.map((p) => p.paymentId)).toEqual(oneTo(234));
    expect(billing.subscriptions.map((s) => s.subscriptionId)).toEqual(oneTo(billing.subscriptions.length));
    const times = billing.payments.map((p) => p.paymentMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("bills every payment at its subscription's cost, never before it starts", () => {
    for (const p of billing.payments) {
      expect(p.paymentMs).toBeGreaterThanOrEqual(p.subscription.startMs);
      expect(p.userId).toBe(p.subscription.userId);
      expect(MONTHLY_COST[p.subscription.type]).toMatch(/^(2999|5999|9999)\.00$/);
    }
  });

  it("has mostly successful payments, some failed, pending only recently", () => {
    const by = (status: string) => billing.payments.filter((p) => p.status === status);
    expect(by("failed").length).toBeGreaterThan(0);
    expect(by("success").length).toBeGreaterThan(200);
    for (const p of by("pending")) expect(p.paymentMs).toBeGreaterThan(window.endMs - 14 * DAY_MS);
  });

  it("ends subscriptions consistently: end_date set exactly when inactive, inside the window", () => {
    const ended = billing.subscriptions.filter((s) => s.endMs !== null);
    expect(ended.length).toBeGreaterThan(0);
    expect(billing.subscriptions.length - ended.length).toBeGreaterThan(0);
    for (const s of ended) {
      expect(s.endMs as number).toBeGreaterThanOrEqual(s.startMs);
      expect(s.endMs as number).toBeLessThanOrEqual(utcMidnight(window.endMs));
    }
    // At most one running subscription per user.
    const running = billing.subscriptions.filter((s) => s.endMs === null).map((s) => s.userId);
    expect(new Set(running).size).toBe(running.length);
  });

  it("has tickets in every status, resolved_at exactly on resolved and closed ones", () => {
    expect(new Set(tickets.map((t) => t.status))).toEqual(
      new Set(["open", "in_progress", "resolved", "closed"]),
    );
    for (const t of tickets) {
      expect(t.resolvedMs !== null).toBe(t.status === "resolved" || t.status === "closed");
      if (t.resolvedMs !== null) expect(t.resolvedMs).toBeGreaterThanOrEqual(t.createdMs);
      expect(t.updatedMs).toBeGreaterThanOrEqual(t.createdMs);
      expect(t.updatedMs).toBeLessThanOrEqual(window.endMs);
      if (t.prostheticId !== null) {
        const device = population.devices[t.prostheticId - 1];
        expect(device?.userId).toBe(t.userId);
      }
    }
  });

  it("keeps every CRM instant inside the history window", () => {
    const instants = [
      ...population.users.flatMap((u) => [u.createdMs, u.updatedMs]),
      ...population.devices.map((d) => d.purchaseMs),
      ...billing.payments.map((p) => p.paymentMs),
      ...billing.subscriptions.map((s) => s.updatedMs),
      ...tickets.map((t) => t.createdMs),
    ];
    expect(Math.min(...instants)).toBeGreaterThanOrEqual(window.startMs);
    expect(Math.max(...instants)).toBeLessThanOrEqual(window.endMs);
  });

  it("gives unique logins, e-mails, chip ids and serial numbers", () => {
    const unique = (xs: string[]) => new Set(xs).size === xs.length;
    expect(unique(population.users.map((u) => u.person.login))).toBe(true);
    expect(unique(population.users.map((u) => u.person.email))).toBe(true);
    expect(unique(population.devices.map((d) => d.chipId))).toBe(true);
    expect(unique(population.devices.map((d) => d.serialNumber))).toBe(true);
  });
});

describe("CRM model at other sizes", () => {
  // Builds the whole 10k-user CRM model: seconds of CPU, more on a loaded host.
  it("scales to 10k users (scale 833)", { timeout: 120_000 }, () => {
    const { population, billing, tickets } = crmModel(42, 833);
    expect(population.users).toHaveLength(9996);
    expect(population.devices).toHaveLength(9996 + 2499);
    expect(billing.payments).toHaveLength(Math.round(234 * 833));
    expect(tickets).toHaveLength(Math.round(47 * 833));
    expect(new Set(population.users.map((u) => u.person.login)).size).toBe(9996);
  });

  it("scales payments and tickets with --days", () => {
    const { billing, tickets } = crmModel(42, 1, 1095);
    expect(billing.payments).toHaveLength(Math.round((234 * 1095) / 913));
    expect(tickets).toHaveLength(Math.round((47 * 1095) / 913));
  });

  it("is identical for the same seed and differs for another", () => {
    const a = JSON.stringify(crmModel(42));
    expect(JSON.stringify(crmModel(42))).toBe(a);
    expect(JSON.stringify(crmModel(43))).not.toBe(a);
  });
});
