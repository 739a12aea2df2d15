import type { Billing } from "./billing.js";
import type { HistoryWindow } from "./calendar.js";
import type { RowChunk } from "./copy-text.js";
import {
  PAYMENT_COLUMNS,
  paymentRow,
  PROSTHETIC_COLUMNS,
  prostheticRow,
  SUBSCRIPTION_COLUMNS,
  subscriptionRow,
  TICKET_COLUMNS,
  ticketRow,
  USER_COLUMNS,
  userRow,
} from "./crm-rows.js";
import type { Density } from "./density.js";
import { deviceDays, type DeviceDay } from "./device-days.js";
import type { Population } from "./population.js";
import type { CrmTable, TelemetryTable } from "./source-tables.js";
import {
  BATTERY_METRIC_COLUMNS,
  batteryMetricRows,
  RAW_TELEMETRY_COLUMNS,
  rawTelemetryRows,
  TELEMETRY_EVENT_COLUMNS,
  telemetryEventRows,
  type IdCounter,
} from "./telemetry-rows.js";
import type { Ticket } from "./tickets.js";
import type { Volumes } from "./volumes.js";

/** What to COPY into one table: its columns, a row estimate for the progress bar, the rows. */
export interface TableLoad<T extends string> {
  table: T;
  columns: readonly string[];
  expectedRows: number;
  chunks: () => Iterable<RowChunk>;
}

function* oneRowEach<T>(items: readonly T[], row: (item: T) => string): Generator<RowChunk> {
  for (const item of items) yield { text: row(item), rows: 1 };
}

/** CRM tables in foreign-key order. The CRM model is small (O(users)) and built in memory. */
export function crmLoads(population: Population, billing: Billing, tickets: Ticket[]): TableLoad<CrmTable>[] {
  const load = <T>(
    table: CrmTable,
    columns: readonly string[],
    items: readonly T[],
    row: (item: T) => string,
  ) => ({
    table,
    columns,
    expectedRows: items.length,
    chunks: () => oneRowEach(items, row),
  });
  return [
    load("crm_users", USER_COLUMNS, population.users, userRow),
    load("crm_prosthetics", PROSTHETIC_COLUMNS, population.devices, prostheticRow),
    load("crm_subscriptions", SUBSCRIPTION_COLUMNS, billing.subscriptions, subscriptionRow),
    load("crm_payments", PAYMENT_COLUMNS, billing.payments, paymentRow),
    load("crm_support_tickets", TICKET_COLUMNS, tickets, ticketRow),
  ];
}

export interface TelemetryInputs {
  seed: number;
  window: HistoryWindow;
  population: Population;
  density: Density;
  telemetryDensity: number;
  volumes: Volumes;
}

/** Telemetry tables, each streamed by replaying the device-days: nothing is held beyond a write buffer. */
export function telemetryLoads(inputs: TelemetryInputs): TableLoad<TelemetryTable>[] {
  const { seed, window, population, density, telemetryDensity, volumes } = inputs;
  const replay = (rows: (day: DeviceDay, ids: IdCounter) => RowChunk) =>
    function* (): Generator<RowChunk> {
      const ids: IdCounter = { next: 1 };
      for (const day of deviceDays(seed, window, population.devices, density, telemetryDensity))
        yield rows(day, ids);
    };
  return [
    {
      table: "telemetry_events",
      columns: TELEMETRY_EVENT_COLUMNS,
      expectedRows: volumes.telemetryEvents * telemetryDensity,
      chunks: replay((day, ids) => telemetryEventRows(seed, day, ids)),
    },
    {
      table: "battery_metrics",
      columns: BATTERY_METRIC_COLUMNS,
      expectedRows: volumes.batteryMetrics * telemetryDensity,
      chunks: replay((day, ids) => batteryMetricRows(seed, day, ids, density)),
    },
    {
      table: "raw_telemetry",
      columns: RAW_TELEMETRY_COLUMNS,
      expectedRows: volumes.rawTelemetry * telemetryDensity,
      chunks: replay((day, ids) => rawTelemetryRows(seed, day, ids, density)),
    },
  ];
}
