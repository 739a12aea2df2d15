import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksum, generate } from "../scripts/generate/index.js";
import { SOURCE_TABLES, type SourceTable } from "../scripts/generate/source-tables.js";
import { simulate } from "../scripts/simulate/index.js";
import { createSourceDatabases, dropSourceDatabases, type SourceDatabases } from "./harness/pg.js";

/**
 * generate + simulate against a real PostgreSQL: the seed volumes and invariants at scale 1,
 * same seed -> same bytes, and a simulate summary that matches what changed in the tables.
 */

const runId = `gen_${Date.now().toString(36)}`;
let dbs: SourceDatabases;
let crm: pg.Client;
let telemetry: pg.Client;

async function one(client: pg.Client, sql: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(sql);
  return Number(rows[0]?.n);
}

async function rowCounts(): Promise<Record<SourceTable, number>> {
  const counts = {} as Record<SourceTable, number>;
  for (const table of SOURCE_TABLES) {
    counts[table] = await one(
      table.startsWith("crm_") ? crm : telemetry,
      `SELECT count(*) AS n FROM ${table}`,
    );
  }
  return counts;
}

beforeAll(async () => {
  dbs = await createSourceDatabases(runId);
  crm = new pg.Client({ ...dbs.pg, password: dbs.pg.password, database: dbs.crmDb });
  telemetry = new pg.Client({ ...dbs.pg, password: dbs.pg.password, database: dbs.telemetryDb });
  await crm.connect();
  await telemetry.connect();
});

afterAll(async () => {
  await crm?.end();
  await telemetry?.end();
  if (dbs !== undefined) await dropSourceDatabases(dbs);
});

describe("generate", () => {
  let firstSums: Record<string, string>;

  it("loads exactly the seed volumes at scale 1", async () => {
    const summary = await generate({ ...dbs, scale: 1, seed: 42 });
    const counts = await rowCounts();
    expect(counts).toEqual(summary.rows);
    expect(counts.crm_users).toBe(12);
    expect(counts.crm_prosthetics).toBe(15);
    expect(counts.crm_payments).toBe(234);
    expect(counts.crm_support_tickets).toBe(47);
    // Stated volumes: ~456k events, ~45k battery samples, raw movement samples 1x the events (each +-5%).
    for (const [table, target] of [
      ["telemetry_events", 456_000],
      ["battery_metrics", 45_000],
      ["raw_telemetry", 456_000],
    ] as const) {
      expect(counts[table], table).toBeGreaterThan(target * 0.95);
      expect(counts[table], table).toBeLessThan(target * 1.05);
    }
    firstSums = await checksum(dbs);
  });

  it("keeps the CRM invariants", async () => {
    const statuses = await crm.query<{ status: string; n: string }>(
      "SELECT status, count(*) AS n FROM crm_payments GROUP BY status",
    );
    const byStatus = Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)]));
    expect((byStatus.success ?? 0) + (byStatus.failed ?? 0) + (byStatus.pending ?? 0)).toBe(234);
    expect(byStatus.failed).toBeGreaterThan(0);
    expect(byStatus.success).toBeGreaterThan(200);

    const violations = {
      paymentBeforeSubscription: `SELECT count(*) AS n FROM crm_payments p JOIN crm_subscriptions s USING (subscription_id)
                                   WHERE p.payment_date < s.start_date`,
      paymentNotAtMonthlyCost: `SELECT count(*) AS n FROM crm_payments p JOIN crm_subscriptions s USING (subscription_id)
                                 WHERE p.amount <> s.monthly_cost OR p.user_id <> s.user_id`,
      wrongTariff: `SELECT count(*) AS n FROM crm_subscriptions WHERE monthly_cost <> CASE subscription_type
                      WHEN 'basic' THEN 2999.00 WHEN 'premium' THEN 5999.00 ELSE 9999.00 END`,
      endDateWithoutEnd:
        "SELECT count(*) AS n FROM crm_subscriptions WHERE is_active = (end_date IS NOT NULL)",
      resolvedAtMismatch: `SELECT count(*) AS n FROM crm_support_tickets
                            WHERE (status IN ('resolved', 'closed')) <> (resolved_at IS NOT NULL)`,
      ticketOnOthersProsthesis: `SELECT count(*) AS n FROM crm_support_tickets t JOIN crm_prosthetics p USING (prosthetic_id)
                                  WHERE p.user_id <> t.user_id`,
      afterHistoryEnd: `SELECT count(*) AS n FROM crm_payments WHERE payment_date > '2026-10-31T23:59:59Z'`,
    };
    for (const [name, sql] of Object.entries(violations)) expect(await one(crm, sql), name).toBe(0);
    expect(await one(crm, "SELECT count(DISTINCT status) AS n FROM crm_support_tickets")).toBe(4);
    expect(await one(crm, "SELECT count(*) AS n FROM crm_subscriptions WHERE NOT is_active")).toBeGreaterThan(
      0,
    );
  });

  it("keeps the telemetry invariants", async () => {
    const violations = {
      severityNotOfType: `SELECT count(*) AS n FROM telemetry_events WHERE severity <> CASE event_type
                            WHEN 'warning' THEN 'warning' WHEN 'error' THEN 'error'
                            WHEN 'critical_fault' THEN 'critical' ELSE 'info' END`,
      currentAgainstCharging:
        "SELECT count(*) AS n FROM battery_metrics WHERE is_charging <> (current_ma > 0)",
      outsideHistory: `SELECT count(*) AS n FROM telemetry_events
                        WHERE event_timestamp < '2024-05-02T00:00:00Z' OR event_timestamp > '2026-10-31T23:59:59Z'`,
      powerUnbalanced: `SELECT count(*) AS n FROM (SELECT prosthetic_id FROM telemetry_events GROUP BY prosthetic_id
                          HAVING count(*) FILTER (WHERE event_type = 'power_on')
                              <> count(*) FILTER (WHERE event_type = 'power_off')) d`,
    };
    for (const [name, sql] of Object.entries(violations)) expect(await one(telemetry, sql), name).toBe(0);
    const types = await one(telemetry, "SELECT count(DISTINCT event_type) AS n FROM telemetry_events");
    expect(types).toBe(9);

    const crmDevices = await crm.query<{ prosthetic_id: number; chip_id: string; purchase_date: string }>(
      "SELECT prosthetic_id, chip_id, purchase_date::text FROM crm_prosthetics",
    );
    const firstEvents = await telemetry.query<{ prosthetic_id: number; first: Date }>(
      "SELECT prosthetic_id, min(event_timestamp) AS first FROM telemetry_events GROUP BY prosthetic_id",
    );
    const purchase = new Map(crmDevices.rows.map((r) => [r.prosthetic_id, r.purchase_date]));
    for (const { prosthetic_id, first } of firstEvents.rows) {
      expect(
        first.toISOString().slice(0, 10) >= (purchase.get(prosthetic_id) ?? "~"),
        `device ${prosthetic_id}`,
      ).toBe(true);
    }
    const chips = await telemetry.query<{ chip_id: string }>("SELECT DISTINCT chip_id FROM raw_telemetry");
    const known = new Set(crmDevices.rows.map((r) => r.chip_id));
    expect(chips.rows.every((r) => known.has(r.chip_id))).toBe(true);
  });

  it("reproduces the same bytes for the same seed, and other bytes for another seed", async () => {
    await generate({ ...dbs, scale: 1, seed: 42 });
    expect(await checksum(dbs)).toEqual(firstSums);
    await generate({ ...dbs, scale: 1, seed: 7 });
    const otherSums = await checksum(dbs);
    for (const table of SOURCE_TABLES) expect(otherSums[table], table).not.toBe(firstSums[table]);
  });
});

describe("simulate", () => {
  // The generate tests above load the data; run alone, this file's simulate tests load it themselves.
  beforeAll(async () => {
    if ((await one(crm, "SELECT count(*) AS n FROM crm_users")) === 0)
      await generate({ ...dbs, scale: 1, seed: 42 });
  }, 600_000);

  it("changes the tables by exactly what its summary reports", async () => {
    const pendingSql = "SELECT count(*) AS n FROM crm_payments WHERE status = 'pending'";
    const before = await rowCounts();
    const pendingBefore = await one(crm, pendingSql);

    const summary = await simulate({ ...dbs, rate: 200, durationS: 3, seed: 1 });

    const after = await rowCounts();
    for (const table of SOURCE_TABLES) {
      const { insert, delete: deleted } = summary.changes[table];
      expect(after[table] - before[table], table).toBe(insert - deleted);
    }
    // Payments are inserted pending; only pending ones are settled or cancelled.
    const payments = summary.changes.crm_payments;
    expect(await one(crm, pendingSql)).toBe(
      pendingBefore + payments.insert - payments.update - payments.delete,
    );
    expect(summary.total).toBeGreaterThan(300);
    // Paced, not flooded: close to the asked rate, never well above it.
    expect(summary.achievedRate).toBeGreaterThan(100);
    expect(summary.achievedRate).toBeLessThan(220);
    expect(summary.changes.telemetry_events.insert).toBeGreaterThan(summary.changes.crm_payments.insert);

    const stillConsistent = {
      resolvedAtMismatch: `SELECT count(*) AS n FROM crm_support_tickets
                            WHERE (status IN ('resolved', 'closed')) <> (resolved_at IS NOT NULL)`,
      endDateWithoutEnd:
        "SELECT count(*) AS n FROM crm_subscriptions WHERE is_active = (end_date IS NOT NULL)",
      paymentBeforeSubscription: `SELECT count(*) AS n FROM crm_payments p JOIN crm_subscriptions s USING (subscription_id)
                                   WHERE p.payment_date < s.start_date OR p.amount <> s.monthly_cost`,
    };
    for (const [name, sql] of Object.entries(stillConsistent)) expect(await one(crm, sql), name).toBe(0);
  });

  it("leaves every row of the spared users and of their devices as it was, deletions included", async () => {
    // Half the users spared: a retraction that ignored them would hit their devices' rows about
    // every other time.
    const users = (await crm.query<{ user_id: number }>("SELECT user_id FROM crm_users ORDER BY user_id"))
      .rows;
    const spared = users.slice(0, Math.ceil(users.length / 2)).map((r) => r.user_id);
    const devices = (
      await crm.query<{ prosthetic_id: number; chip_id: string }>(
        "SELECT prosthetic_id, chip_id FROM crm_prosthetics WHERE user_id = ANY($1::bigint[])",
        [spared],
      )
    ).rows;
    const prosthetics = devices.map((d) => d.prosthetic_id);
    const chips = devices.map((d) => d.chip_id);
    const owned: Record<SourceTable, { filter: string; values: unknown[] }> = {
      crm_users: { filter: "user_id = ANY($1::bigint[])", values: [spared] },
      crm_prosthetics: { filter: "user_id = ANY($1::bigint[])", values: [spared] },
      crm_subscriptions: { filter: "user_id = ANY($1::bigint[])", values: [spared] },
      crm_payments: { filter: "user_id = ANY($1::bigint[])", values: [spared] },
      crm_support_tickets: { filter: "user_id = ANY($1::bigint[])", values: [spared] },
      telemetry_events: { filter: "prosthetic_id = ANY($1::bigint[])", values: [prosthetics] },
      battery_metrics: { filter: "prosthetic_id = ANY($1::bigint[])", values: [prosthetics] },
      raw_telemetry: { filter: "chip_id = ANY($1::text[])", values: [chips] },
    };
    const snapshot = async () => {
      const sums = {} as Record<SourceTable, { rows: number; md5: string }>;
      for (const table of SOURCE_TABLES) {
        const { filter, values } = owned[table];
        const { rows } = await (table.startsWith("crm_") ? crm : telemetry).query<{
          rows: string;
          md5: string;
        }>(
          `SELECT count(*) AS rows, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS md5
           FROM ${table} AS t WHERE ${filter}`,
          values,
        );
        sums[table] = { rows: Number(rows[0]?.rows), md5: rows[0]?.md5 ?? "" };
      }
      return sums;
    };
    const before = await snapshot();
    expect(before.telemetry_events.rows).toBeGreaterThan(0);
    expect(before.raw_telemetry.rows).toBeGreaterThan(0);

    const summary = await simulate({ ...dbs, rate: 400, durationS: 3, seed: 2, spareUsers: spared });

    expect(summary.changes.telemetry_events.delete + summary.changes.raw_telemetry.delete).toBeGreaterThan(5);
    expect(await snapshot()).toEqual(before);
  });
});
