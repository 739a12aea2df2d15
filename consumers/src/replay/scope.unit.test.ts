import { describe, expect, it } from "vitest";
import { tableMappings } from "../mapping/map-change.js";
import { resetTargets } from "../sink/resets.js";
import { martReads } from "./catalogue.js";
import { ReplayError } from "./errors.js";
import { parseTables, replayScope, sourceTableNames, type Catalogue } from "./scope.js";

/** The views of migrations 003-006 as system.tables shows them (readCatalogue reads them there). */
const views = [
  ["user_payment_daily_mv", "payment_changes", "user_payment_daily"],
  ["user_payment_monthly_mv", "user_payment_daily", "user_payment_monthly"],
  ["user_subscription_monthly_deltas_mv", "subscription_changes", "user_subscription_monthly_deltas"],
  ["prosthetic_event_daily_mv", "telemetry_event_changes", "prosthetic_event_daily"],
  ["prosthetic_event_monthly_mv", "prosthetic_event_daily", "prosthetic_event_monthly"],
  ["prosthetic_battery_daily_mv", "battery_metric_changes", "prosthetic_battery_daily"],
  ["prosthetic_battery_monthly_mv", "prosthetic_battery_daily", "prosthetic_battery_monthly"],
  ["chip_hourly_stats_mv", "raw_telemetry_changes", "chip_hourly_stats"],
  ["chip_daily_stats_mv", "chip_hourly_stats", "chip_daily_stats"],
  ["chip_monthly_stats_mv", "chip_daily_stats", "chip_monthly_stats"],
].map(([name, read, target]) => ({
  name: name as string,
  reads: [read as string],
  target: target as string,
}));

async function catalogue(more: Partial<Catalogue> = {}): Promise<Catalogue> {
  return {
    sources: new Map(sourceTableNames().map((t) => [t, resetTargets(t).map((r) => r.table)])),
    views,
    marts: await martReads(),
    ...more,
  };
}

describe("parseTables", () => {
  it("takes known source tables in the catalogue's order, once each", () => {
    expect(parseTables("crm_payments, crm_users,crm_payments")).toEqual(["crm_users", "crm_payments"]);
    expect(sourceTableNames()).toEqual(tableMappings.map((m) => m.table));
  });

  it("refuses an unknown or empty list as a usage error naming the known tables", () => {
    for (const [value, detail] of [
      ["crm_payment", "unknown source table(s) crm_payment"],
      ["crm_users,payments", "unknown source table(s) payments"],
      [" , ", "no table named"],
    ] as const) {
      let error: unknown;
      try {
        parseTables(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ReplayError);
      expect(error).toMatchObject({ code: "REPLAY_UNKNOWN_TABLE", usage: true });
      expect((error as Error).message).toBe(
        `--tables "${value}": ${detail}; expected a comma-separated list of crm_users, crm_prosthetics, ` +
          "crm_subscriptions, crm_payments, crm_support_tickets, telemetry_events, battery_metrics, raw_telemetry",
      );
    }
  });
});

describe("martReads", () => {
  it("finds the tables each reconciled mart's query reads in its SQL", async () => {
    expect(Object.fromEntries(await martReads())).toEqual({
      report_user_monthly_metrics: ["dim_users", "user_payment_monthly", "user_subscription_monthly_deltas"],
      report_prosthetic_monthly_metrics: [
        "battery_metric_changes",
        "dim_prosthetics",
        "dim_users",
        "prosthetic_battery_monthly",
        "prosthetic_event_monthly",
        "telemetry_event_changes",
      ],
      user_prosthesis_stats_hourly: ["chip_hourly_stats", "dim_prosthetics", "dim_users"],
      user_prosthesis_stats_daily: ["chip_daily_stats", "dim_prosthetics", "dim_users"],
      user_prosthesis_stats_monthly: ["chip_monthly_stats", "dim_prosthetics", "dim_users"],
      user_daily_reports: [
        "chip_hourly_stats",
        "dim_prosthetics",
        "dim_users",
        "prosthetic_event_daily",
        "telemetry_event_changes",
      ],
    });
  });
});

describe("replayScope", () => {
  it("payments: the payment chain, the user month mart, its other tables as inputs", async () => {
    expect(replayScope(await catalogue(), ["crm_payments"])).toEqual({
      requested: ["crm_payments"],
      sources: ["crm_payments"],
      tables: ["payment_changes", "user_payment_daily", "user_payment_monthly"],
      marts: ["report_user_monthly_metrics"],
      inputs: ["dim_users", "user_subscription_monthly_deltas"],
    });
  });

  it("telemetry events: its chain, both marts reading it, the rest of theirs as inputs", async () => {
    expect(replayScope(await catalogue(), ["telemetry_events"])).toEqual({
      requested: ["telemetry_events"],
      sources: ["telemetry_events"],
      tables: ["prosthetic_event_daily", "prosthetic_event_monthly", "telemetry_event_changes"],
      marts: ["report_prosthetic_monthly_metrics", "user_daily_reports"],
      inputs: [
        "battery_metric_changes",
        "chip_hourly_stats",
        "dim_prosthetics",
        "dim_users",
        "prosthetic_battery_monthly",
      ],
    });
  });

  it("a dimension every mart joins: only the dimension is rebuilt, every mart reconciled", async () => {
    const scope = replayScope(await catalogue(), ["crm_users", "crm_subscriptions"]);
    expect(scope).toEqual({
      requested: ["crm_users", "crm_subscriptions"],
      sources: ["crm_users", "crm_subscriptions"],
      tables: ["dim_subscriptions", "dim_users", "subscription_changes", "user_subscription_monthly_deltas"],
      marts: [
        "report_user_monthly_metrics",
        "report_prosthetic_monthly_metrics",
        "user_prosthesis_stats_hourly",
        "user_prosthesis_stats_daily",
        "user_prosthesis_stats_monthly",
        "user_daily_reports",
      ],
      inputs: [
        "battery_metric_changes",
        "chip_daily_stats",
        "chip_hourly_stats",
        "chip_monthly_stats",
        "dim_prosthetics",
        "prosthetic_battery_monthly",
        "prosthetic_event_daily",
        "prosthetic_event_monthly",
        "telemetry_event_changes",
        "user_payment_monthly",
      ],
    });
  });

  it("a table no mart reads: rebuilt and swapped, nothing reconciled", async () => {
    expect(replayScope(await catalogue(), ["crm_support_tickets"])).toEqual({
      requested: ["crm_support_tickets"],
      sources: ["crm_support_tickets"],
      tables: ["dim_support_tickets"],
      marts: [],
      inputs: [],
    });
  });

  it("closes over a mart fed by two chains and a view joining a dimension", async () => {
    const more = [
      // Subscriptions also write the payments' daily mart: replaying payments must replay them too.
      { name: "subscription_fees_mv", reads: ["subscription_changes"], target: "user_payment_daily" },
      // A view joining the users' dimension at insert time, and a lookup table nothing feeds.
      {
        name: "payments_by_country_mv",
        reads: ["payment_changes", "dim_users", "fx_rates"],
        target: "payments_by_country",
      },
    ];
    const scope = replayScope(await catalogue({ views: [...views, ...more] }), ["crm_payments"]);
    expect(scope).toEqual({
      requested: ["crm_payments"],
      sources: ["crm_users", "crm_subscriptions", "crm_payments"],
      tables: [
        "dim_subscriptions",
        "dim_users",
        "payment_changes",
        "payments_by_country",
        "subscription_changes",
        "user_payment_daily",
        "user_payment_monthly",
        "user_subscription_monthly_deltas",
      ],
      marts: [
        "report_user_monthly_metrics",
        "report_prosthetic_monthly_metrics",
        "user_prosthesis_stats_hourly",
        "user_prosthesis_stats_daily",
        "user_prosthesis_stats_monthly",
        "user_daily_reports",
      ],
      inputs: [
        "battery_metric_changes",
        "chip_daily_stats",
        "chip_hourly_stats",
        "chip_monthly_stats",
        "dim_prosthetics",
        "fx_rates",
        "prosthetic_battery_monthly",
        "prosthetic_event_daily",
        "prosthetic_event_monthly",
        "telemetry_event_changes",
      ],
    });
  });

  it("refuses a source table the catalogue does not know", async () => {
    expect(() => replayScope({ sources: new Map(), views: [], marts: new Map() }, ["crm_users"])).toThrow(
      expect.objectContaining({ code: "REPLAY_UNKNOWN_TABLE" }),
    );
  });
});
