import { describe, expect, it } from "vitest";
import { Rng } from "../generate/prng.js";
import { SOURCE_TABLES } from "../generate/source-tables.js";
import { planChange } from "./change-mix.js";
import { RandomPool } from "./random-pool.js";
import type { Statement } from "./statement.js";
import type { World } from "./world.js";

function smallWorld(): World {
  const prostheses = [
    { id: 1, userId: 1, chipId: "CHIP-1", isActive: true },
    { id: 2, userId: 2, chipId: "CHIP-2", isActive: true },
  ];
  return {
    nextId: Object.fromEntries(SOURCE_TABLES.map((t) => [t, 100])) as World["nextId"],
    users: [1, 2, 3],
    prostheses,
    prosthesesOf: new Map([
      [1, [prostheses[0]!]],
      [2, [prostheses[1]!]],
    ]),
    activeSubscriptions: new RandomPool([{ id: 5, userId: 1, type: "premium" as const }]),
    usersWithoutSubscription: new RandomPool([2, 3]),
    pendingPayments: new RandomPool([7]),
    openTickets: new RandomPool([{ id: 9, status: "open" as const }]),
    battery: new Map(),
    spared: { prosthetics: [], chips: [] },
  };
}

function plan(count: number): Statement[] {
  const world = smallWorld();
  const rng = new Rng(3);
  const statements: Statement[] = [];
  for (let i = 0; i < count; i++) statements.push(...planChange(world, rng, Date.UTC(2026, 10, 23, 12)));
  return statements;
}

describe("planChange", () => {
  const statements = plan(5000);
  const share = (table: string, op?: string) =>
    statements.filter((s) => s.table === table && (op === undefined || s.op === op)).length /
    statements.length;

  it("is mostly telemetry inserts, with every kind of change represented", () => {
    expect(
      share("telemetry_events", "insert") + share("raw_telemetry", "insert") + share("battery_metrics"),
    ).toBeGreaterThan(0.8);
    for (const [table, op] of [
      ["telemetry_events", "delete"],
      ["raw_telemetry", "delete"],
      ["crm_payments", "insert"],
      ["crm_payments", "update"],
      ["crm_payments", "delete"],
      ["crm_support_tickets", "insert"],
      ["crm_support_tickets", "update"],
      ["crm_subscriptions", "insert"],
      ["crm_subscriptions", "update"],
      ["crm_prosthetics", "update"],
    ] as const) {
      expect(share(table, op), `${table} ${op}`).toBeGreaterThan(0);
    }
  });

  it("continues ids after the current maximum, without reuse", () => {
    const inserted = statements.flatMap((s) =>
      s.op === "insert" ? [`${s.table}:${String(s.values[0])}`] : [],
    );
    expect(new Set(inserted).size).toBe(inserted.length);
    for (const s of statements)
      if (s.op === "insert") expect(Number(s.values[0])).toBeGreaterThanOrEqual(100);
  });

  it("inserts payments as pending, settles each pending payment at most once", () => {
    const payments = statements.filter((s) => s.table === "crm_payments");
    for (const s of payments) if (s.op === "insert") expect(s.values).toContain("pending");
    const settled = payments.flatMap((s) => (s.op === "update" ? [s.params[0]] : []));
    expect(new Set(settled).size).toBe(settled.length);
  });

  it("stamps new telemetry with the current time", () => {
    const event = statements.find((s) => s.op === "insert" && s.table === "telemetry_events");
    expect(event?.op === "insert" && event.values[3]).toBe("2026-11-23T12:00:00.000Z");
  });

  it("refuses to run on empty source databases", () => {
    const world = smallWorld();
    world.users = [];
    world.prostheses = [];
    world.activeSubscriptions = new RandomPool();
    world.usersWithoutSubscription = new RandomPool();
    world.pendingPayments = new RandomPool();
    world.openTickets = new RandomPool();
    world.nextId.telemetry_events = 1;
    world.nextId.raw_telemetry = 1;
    expect(() => {
      for (let i = 0; i < 100; i++) planChange(world, new Rng(i), 0);
    }).toThrow(/run generate first/);
  });
});
